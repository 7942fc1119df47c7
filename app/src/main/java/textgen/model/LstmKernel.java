package textgen.model;

import java.nio.FloatBuffer;

import static textgen.model.CpuKernels.at;
import static textgen.model.CpuKernels.ensure;

/**
 * The LSTM of DL4J's {@code LSTM} layer (no peepholes; gate columns in DL4J's order: block input a (tanh), forget f,
 * output o, input modulation g (sigmoid); c = f*c' + g*a, h = o*tanh(c)) over a whole sequence, in plain Java with
 * {@link Blas} on direct buffers: one GEMM projects the input of every time step (onto rows that already hold the bias),
 * one GEMM per step applies the recurrent weights (packed once per pass), the gate arithmetic is Java, and backward computes all weight
 * gradients with one GEMM each and the bias gradient with one GEMV. The forward pass keeps what backward needs, so
 * nothing is computed twice.
 *
 * <p>The gate arithmetic runs on one array per gate, in short loops that index every array at the loop index and
 * store to one: only such loops does HotSpot's C2 (JDK 17) turn into AVX code. One loop doing everything per element
 * on the [B, 4H] rows took 86-110 ns per element forward on H200 B32; see {@code gatesForward} for the split one.
 *
 * <p>Layouts are row-major and time-major: row {@code t*B + b} holds time step t of sequence b.
 * {@code W} is stored as DL4J stores it ('f' order [nIn, 4H], i.e. row-major [4H, nIn]); so is {@code RW}.
 *
 * <p>Over 300 lines because forward, backward and the gate loops share the parameter, gradient and activation buffers
 * above, in these layouts; split apart, each part would have to expose them to the others.
 */
final class LstmKernel {
    private final int nIn;
    private final int h;
    private final int g4;

    // Parameters, as DL4J stores them: W^T [4H, nIn] and RW^T [4H, H] row-major; bias [4H].
    final FloatBuffer wT;
    final FloatBuffer rwT;
    final float[] bias;
    // Their gradients, written by backward (same layouts).
    final FloatBuffer dWT;
    final FloatBuffer dRWT;
    final float[] db;

    // Caches for the last forward pass (capacity grows as needed). Direct buffers are BLAS operands; the gate
    // arithmetic runs on heap arrays (bulk-copied per step), where the JIT compiles tight vector loops.
    private int t, b;
    private FloatBuffer x;   // [T*B, nIn] input
    private FloatBuffer z;   // [T*B, 4H] gate activations; overwritten by gate gradients in backward
    private FloatBuffer hs;  // [(T+1)*B, H] h0, h_1 .. h_T
    private float[][] cs;    // c_0 .. c_T, [B*H] each
    private float[][] tc;    // tanh(c_1) .. tanh(c_T), [B*H] each
    // One time step, [B*H] each: the four gates (activations, then their gradients), h, and backward temporaries.
    private float[] ga, gf, go, gg, hStep, dh, dc, dcNext, dhRec;
    private float[][] gateArrays; // {ga, gf, go, gg}, in Z's column order
    private FloatBuffer dhNext, dx, ones, dbBuf;
    /** RW as the per-step products of the current pass use it, per part of the batch: forward (h RW), backward (dZ RW^T). */
    private Blas.Packed[] rwForward, rwBackward;
    /** {@link #infer}'s native recurrence at batch 1: the cell state it carries, and the counters its threads share. */
    private FloatBuffer cNative;
    private java.nio.ByteBuffer counters;
    /** Parts of the batch a pass runs on cores of their own; 0: {@link CpuKernels#rowParts}'s choice (tests set it). */
    int parts;
    /** One-hot input, which takes lookups instead of the input products. */
    final OneHotInput oneHot;

    LstmKernel(int nIn, int hidden) {
        this.nIn = nIn;
        this.h = hidden;
        this.g4 = 4 * hidden;
        this.wT = CpuKernels.alloc((long) g4 * nIn);
        this.rwT = CpuKernels.alloc((long) g4 * hidden);
        this.bias = new float[g4];
        this.dWT = CpuKernels.alloc((long) g4 * nIn);
        this.dRWT = CpuKernels.alloc((long) g4 * hidden);
        this.db = new float[g4];
        this.dbBuf = CpuKernels.alloc(g4);
        this.oneHot = new OneHotInput(nIn, g4);
    }

    int hiddenSize() {
        return h;
    }

    int steps() {
        return t;
    }

    int batch() {
        return b;
    }

    /**
     * Sizes the caches for a forward pass of T steps and batch B and returns the input buffer [T*B, nIn], to be
     * filled time-major by the caller, together with the initial state via {@link #setInitialState}.
     */
    FloatBuffer prepare(int steps, int batch) {
        this.t = steps;
        this.b = batch;
        int rows = steps * batch;
        x = ensure(x, (long) rows * nIn);
        z = ensure(z, (long) rows * g4);
        hs = ensure(hs, (long) (rows + batch) * h);
        cs = ensure(cs, steps + 1, (long) batch * h);
        tc = ensure(tc, steps, (long) batch * h);
        ga = ensure(ga, (long) batch * h);
        gf = ensure(gf, (long) batch * h);
        go = ensure(go, (long) batch * h);
        gg = ensure(gg, (long) batch * h);
        gateArrays = new float[][]{ga, gf, go, gg};
        hStep = ensure(hStep, (long) batch * h);
        return x;
    }

    /** Initial state h0, c0 ([B, H] row-major each); null means zeros. */
    void setInitialState(float[] h0, float[] c0) {
        int n = b * h;
        if (h0 == null) java.util.Arrays.fill(hStep, 0, n, 0f);
        else System.arraycopy(h0, 0, hStep, 0, n);
        hs.put(0, hStep, 0, n);
        if (c0 == null) java.util.Arrays.fill(cs[0], 0, n, 0f);
        else System.arraycopy(c0, 0, cs[0], 0, n);
    }

    /** Output h_1..h_T, [T*B, H] time-major, copied into {@code dst}. */
    void outputs(float[] dst) {
        hs.get(b * h, dst, 0, t * b * h);
    }

    /** Output h_1..h_T, [T*B, H] time-major: a view of the cache, valid until the next forward pass. */
    FloatBuffer outputs() {
        return at(hs, b * h);
    }

    /** Final state h_T and c_T, [B, H] each. */
    float[] lastH() {
        float[] v = new float[b * h];
        hs.get(t * b * h, v, 0, v.length);
        return v;
    }

    float[] lastC() {
        return java.util.Arrays.copyOf(cs[t], b * h);
    }

    void forward() {
        projectInput(0, t);
        int parts = CpuKernels.rowParts(b, this.parts);
        Blas.Packed[] packs = b == 1 ? null : (rwForward = CpuKernels.packParts(rwForward, b, parts, true, g4, h, rwT, h));
        CpuKernels.inParts(b, parts, (p, r0, r1) -> recurRows(packs == null ? null : packs[p], r0, r1, parts == 1));
    }

    /**
     * The forward pass for inference (sampling, scoring): at batch 1 with textgen's native kernels, the whole
     * recurrence in one native call ({@link NativeLstm}), the same bits as {@link #forward}, but keeping only what
     * {@link #outputs}, {@link #lastH} and {@link #lastC} read (no backward pass may follow); else {@link #forward}.
     */
    void infer() {
        if (b != 1 || !NativeLstm.AVAILABLE) {
            forward();
            return;
        }
        projectInput(0, t);
        cNative = ensure(cNative, h);
        if (counters == null) counters = NativeLstm.counters();
        cNative.put(0, cs[0], 0, h);
        NativeLstm.forward(t, h, rwT, z, hs, cNative, counters);
        cNative.get(0, cs[t], 0, h);
    }

    /**
     * The recurrence of batch rows [r0, r1) over all steps, after {@link #projectInput}: {@code rw} is RW packed for
     * these rows, or null at batch 1 (a GEMV); {@code halves} splits each step's gate arithmetic over two cores.
     */
    private void recurRows(Blas.Packed rw, int r0, int r1, boolean halves) {
        final int hid = h, gates = g4;
        for (int s = 0; s < t; s++) {
            final int zOff = s * b * gates, hOff = (s + 1) * b * hid;
            final float[] cPrev = cs[s], cNext = cs[s + 1], tcs = tc[s];
            // Z_s += h_{s-1} RW
            long t0 = StepProfile.start();
            if (rw == null) Blas.stepGemv(gates, hid, rwT, at(hs, s * hid), at(z, zOff));
            else Blas.CPU.compute(rw, at(hs, (s * b + r0) * hid), hid, 1f, at(z, zOff + r0 * gates), gates);
            StepProfile.stop(StepProfile.Phase.GEMM, t0);
            t0 = StepProfile.start();
            if (halves) CpuKernels.inHalves(r1 - r0, hid, (a0, a1) -> gatesForward(zOff, hOff, cPrev, cNext, tcs, r0 + a0, r0 + a1));
            else gatesForward(zOff, hOff, cPrev, cNext, tcs, r0, r1);
            StepProfile.stop(StepProfile.Phase.GATES, t0);
        }
    }

    /** Z = bias + X W for steps [s0, s1) at once (from step 0, first finding out whether the input is one-hot). */
    void projectInput(int s0, int s1) {
        int r0 = s0 * b, r1 = s1 * b;
        if (s0 == 0) oneHot.find(x, t * b);
        if (oneHot.active()) {
            long t0 = StepProfile.start();
            oneHot.project(z, r0, r1, bias, wT);
            StepProfile.stop(StepProfile.Phase.GEMM, t0);
            return;
        }
        for (int r = r0; r < r1; r++) z.put(r * g4, bias);
        gemm(r1 - r0, nIn, at(x, r0 * nIn), wT, at(z, r0 * g4));
    }

    /** To be called after writing {@link #wT} or {@link #bias}. */
    void parametersChanged() {
        oneHot.parametersChanged();
    }

    /** Whether the last forward pass had one-hot input (its input gradient is then of no use to anyone). */
    boolean oneHotInput() {
        return oneHot.active();
    }

    /** Copies the gate columns of Z rows [r0, r1) at {@code zOff} into the four gate arrays, or back ({@code toZ}). */
    private void gates(int zOff, int r0, int r1, boolean toZ) {
        final float[][] gs = gateArrays;
        for (int r = r0; r < r1; r++) {
            for (int q = 0; q < 4; q++) {
                int at = zOff + r * g4 + q * h;
                if (toZ) z.put(at, gs[q], r * h, h);
                else z.get(at, gs[q], r * h, h);
            }
        }
    }

    /**
     * out [rows, 4H] += in [rows, k] M, M given as its transpose [4H, k]. One row (batch-1 inference: sampling and
     * scoring) is a GEMV: OpenBLAS's GEMM packs all of M on every call, which made a 1 x 512 x 2048 product 1.8 ms
     * instead of about 0.1.
     */
    private void gemm(int rows, int k, FloatBuffer in, FloatBuffer mT, FloatBuffer out) {
        long t0 = StepProfile.start();
        if (rows == 1) Blas.stepGemv(g4, k, mT, in, out);
        else Blas.CPU.sgemm(false, true, rows, g4, k, 1f, in, k, mT, k, 1f, out, g4);
        StepProfile.stop(StepProfile.Phase.GEMM, t0);
    }

    /**
     * Gate arithmetic of one time step for batch rows [r0, r1): the activations replace the pre-activations in Z,
     * and c, tanh(c) and h (into {@code hs} at {@code hOff}) are written.
     */
    private void gatesForward(int zOff, int hOff, float[] cPrev, float[] cNext, float[] tcs, int r0, int r1) {
        gates(zOff, r0, r1, false);
        final float[] a = ga, f = gf, o = go, g = gg, hh = hStep;
        final int k0 = r0 * h, k1 = r1 * h;
        for (int k = k0; k < k1; k++) a[k] = CpuKernels.tanh(a[k]);
        for (int k = k0; k < k1; k++) f[k] = CpuKernels.sigmoid(f[k]);
        for (int k = k0; k < k1; k++) o[k] = CpuKernels.sigmoid(o[k]);
        for (int k = k0; k < k1; k++) g[k] = CpuKernels.sigmoid(g[k]);
        for (int k = k0; k < k1; k++) cNext[k] = f[k] * cPrev[k] + g[k] * a[k];
        for (int k = k0; k < k1; k++) tcs[k] = CpuKernels.tanh(cNext[k]);
        for (int k = k0; k < k1; k++) hh[k] = o[k] * tcs[k];
        gates(zOff, r0, r1, true);
        hs.put(hOff + k0, hh, k0, k1 - k0);
    }

    /**
     * Backpropagation through the whole cached sequence. {@code dH} is dL/dh_t for t = 1..T ([T*B, H], time-major);
     * the gradient at the initial state is not propagated further (truncated BPTT). Writes dW^T [4H, nIn], dRW^T
     * [4H, H] and db [4H] into {@link #dWT}, {@link #dRWT}, {@link #db} and returns dL/dx [T*B, nIn].
     */
    FloatBuffer backward(float[] dH) {
        return backward(dH, true);
    }

    /** As {@link #backward(float[])}; without {@code inputGradient}, skips dL/dx and returns null. */
    FloatBuffer backward(float[] dH, boolean inputGradient) {
        backwardBegin();
        int parts = CpuKernels.rowParts(b, this.parts);
        Blas.Packed[] packs = b == 1 ? null : (rwBackward = CpuKernels.packParts(rwBackward, b, parts, false, h, g4, rwT, h));
        CpuKernels.inParts(b, parts, (p, r0, r1) -> backwardRows(dH, packs == null ? null : packs[p], r0, r1, parts == 1));
        weightGradients();
        if (!inputGradient) return null;
        inputGradient(0, t);
        return dx;
    }

    private void backwardBegin() {
        int rows = t * b, hid = h;
        dhNext = ensure(dhNext, (long) b * hid);
        dx = ensure(dx, (long) rows * nIn);
        dh = ensure(dh, (long) b * hid);
        dc = ensure(dc, (long) b * hid);
        dcNext = ensure(dcNext, (long) b * hid);
        dhRec = ensure(dhRec, (long) b * hid);
        java.util.Arrays.fill(dhRec, 0, b * hid, 0f);
        java.util.Arrays.fill(dcNext, 0, b * hid, 0f);
    }

    /**
     * Gate gradients (into Z) of batch rows [r0, r1) over all steps, from the last down; {@code rw} (RW packed for
     * dZ RW^T) and {@code halves} as in {@link #recurRows}.
     */
    private void backwardRows(float[] dH, Blas.Packed rw, int r0, int r1, boolean halves) {
        final int hid = h, gates = g4, k0 = r0 * hid, len = (r1 - r0) * hid;
        for (int s = t - 1; s >= 0; s--) {
            final int zOff = s * b * gates, off = s * b * hid;
            final float[] cPrev = cs[s], tcs = tc[s];
            long t0 = StepProfile.start();
            if (halves) CpuKernels.inHalves(r1 - r0, hid, (a0, a1) -> gatesBackward(dH, off, zOff, cPrev, tcs, r0 + a0, r0 + a1));
            else gatesBackward(dH, off, zOff, cPrev, tcs, r0, r1);
            StepProfile.stop(StepProfile.Phase.GATES, t0);
            if (s > 0) {
                // dh_{s-1} = dZ_s RW^T, these rows
                t0 = StepProfile.start();
                if (rw == null) Blas.CPU.sgemv(true, gates, hid, 1f, rwT, hid, at(z, zOff), 0f, dhNext);
                else Blas.CPU.compute(rw, at(z, zOff + r0 * gates), gates, 0f, at(dhNext, k0), hid);
                dhNext.get(k0, dhRec, k0, len);
                StepProfile.stop(StepProfile.Phase.GEMM, t0);
            }
        }
    }

    /** db = dZ^T 1, dRW^T = dZ^T H_prev, dW^T = dZ^T X over all steps, after the gate gradients of all steps. */
    void weightGradients() {
        int rows = t * b;
        final int hid = h, gates = g4;
        long t0 = StepProfile.start();
        if (ones == null || ones.capacity() < rows) {
            ones = CpuKernels.alloc(rows);
            for (int i = 0; i < rows; i++) ones.put(i, 1f);
        }
        Blas.CPU.sgemv(true, rows, gates, 1f, z, gates, ones, 0f, dbBuf);
        dbBuf.get(0, db);
        Blas.CPU.sgemm(true, false, gates, hid, rows, 1f, z, gates, hs, hid, 0f, dRWT, hid);
        if (oneHot.active()) oneHot.weightGradient(z, rows, dWT);
        else Blas.CPU.sgemm(true, false, gates, nIn, rows, 1f, z, gates, x, nIn, 0f, dWT, nIn);
        StepProfile.stop(StepProfile.Phase.GEMM, t0);
    }

    /** dX = dZ W for the rows of steps [s0, s1), after their gate gradients. */
    void inputGradient(int s0, int s1) {
        long t0 = StepProfile.start();
        int r0 = s0 * b, rows = (s1 - s0) * b;
        Blas.CPU.sgemm(false, false, rows, nIn, g4, 1f, at(z, r0 * g4), g4, wT, nIn, 0f, at(dx, r0 * nIn), nIn);
        StepProfile.stop(StepProfile.Phase.GEMM, t0);
    }

    /**
     * Gate gradients of one time step for batch rows [r0, r1): reads the activations from Z_s and replaces them with
     * dL/dZ_s; the cell gradient flowing to the previous step goes to {@code dcNext}.
     */
    private void gatesBackward(float[] dH, int off, int zOff, float[] cPrev, float[] tcs, int r0, int r1) {
        gates(zOff, r0, r1, false);
        final float[] a = ga, f = gf, o = go, g = gg, dhv = dh, dcv = dc, dcn = dcNext, dhr = dhRec;
        final int k0 = r0 * h, k1 = r1 * h;
        System.arraycopy(dH, off + k0, dhv, k0, k1 - k0);
        for (int k = k0; k < k1; k++) dhv[k] += dhr[k];
        for (int k = k0; k < k1; k++) dcv[k] = dhv[k] * o[k] * (1f - tcs[k] * tcs[k]) + dcn[k];
        for (int k = k0; k < k1; k++) dcn[k] = dcv[k] * f[k];
        for (int k = k0; k < k1; k++) o[k] = dhv[k] * tcs[k] * o[k] * (1f - o[k]);
        for (int k = k0; k < k1; k++) f[k] = dcv[k] * cPrev[k] * f[k] * (1f - f[k]);
        // dg needs a and da needs g: dg goes through dh, which is free now
        for (int k = k0; k < k1; k++) dhv[k] = dcv[k] * a[k] * g[k] * (1f - g[k]);
        for (int k = k0; k < k1; k++) a[k] = dcv[k] * g[k] * (1f - a[k] * a[k]);
        System.arraycopy(dhv, k0, g, k0, k1 - k0);
        gates(zOff, r0, r1, true);
    }
}
