package textgen.model;

import java.nio.FloatBuffer;

import static textgen.model.CpuKernels.at;
import static textgen.model.CpuKernels.ensure;

/**
 * The {@link GRU} (PyTorch's formulation: r, z, n gates; n = tanh(W_in x + b_in + r (W_hn h + b_hn)),
 * h' = n + z (h - n)) over a segment, in plain Java with {@link Blas} on direct buffers, in the manner of
 * {@link LstmKernel}: one GEMM projects the input of every step onto rows holding the input bias b; one GEMM (a GEMV
 * at batch 1; RW packed once per pass) per step computes the recurrent side h RW + rb into a buffer of its own, since the n gate needs
 * r * (its n block) apart from the input side; gate arithmetic is Java on one array per gate; backward gets every
 * weight gradient with one GEMM and each bias gradient with one GEMV. The forward pass keeps what backward needs.
 *
 * <p>Layouts are row-major and time-major (row {@code t*B + b} is step t of sequence b); gate columns r, z, n.
 * {@code W} and {@code RW} are held as {@link GruParamInitializer} stores them ('f' order [nIn, 3H] and [H, 3H], i.e.
 * row-major W^T [3H, nIn] and RW^T [3H, H]).
 */
final class GruKernel {
    private final int nIn;
    private final int h;
    private final int g3;

    // Parameters: W^T [3H, nIn], RW^T [3H, H] row-major; input bias b and recurrent bias rb [3H].
    final FloatBuffer wT;
    final FloatBuffer rwT;
    final float[] bias;
    final float[] rbias;
    // Their gradients, written by backward (same layouts).
    final FloatBuffer dWT;
    final FloatBuffer dRWT;
    final float[] db;
    final float[] drb;

    private int t, b;
    private FloatBuffer x;    // [T*B, nIn] input
    private FloatBuffer gx;   // [T*B, 3H] x W + b; backward: input-side gate gradients [dr, dz, dn]
    private FloatBuffer gh;   // [B, 3H] h RW + rb of one step
    private FloatBuffer dgh;  // [T*B, 3H] backward: recurrent-side gate gradients [dr, dz, dn r]
    private FloatBuffer hs;   // [(T+1)*B, H] h0, h_1 .. h_T
    // Per step s, [B*H] each: the gates r, z, n and hn = (h RW + rb)'s n block, for backward.
    private float[][] rs, zs, ns, hns;
    // One step, [B*H] each: h (updated in place), the recurrent r and z blocks, and backward temporaries.
    private float[] hStep, ghr, ghz, dh, dhRec, dr, dz, dn, dnr;
    private FloatBuffer dhNext, dx, ones, dbBuf;
    /** RW as the per-step products of the current pass use it, per part of the batch: forward (h RW), backward (dgh RW^T). */
    private Blas.Packed[] rwForward, rwBackward;
    /** Parts of the batch a pass runs on cores of their own; 0: {@link CpuKernels#rowParts}'s choice (tests set it). */
    int parts;

    GruKernel(int nIn, int hidden) {
        this.nIn = nIn;
        this.h = hidden;
        this.g3 = 3 * hidden;
        this.wT = CpuKernels.alloc((long) g3 * nIn);
        this.rwT = CpuKernels.alloc((long) g3 * hidden);
        this.bias = new float[g3];
        this.rbias = new float[g3];
        this.dWT = CpuKernels.alloc((long) g3 * nIn);
        this.dRWT = CpuKernels.alloc((long) g3 * hidden);
        this.db = new float[g3];
        this.drb = new float[g3];
        this.dbBuf = CpuKernels.alloc(g3);
        this.oneHot = new OneHotInput(nIn, g3);
    }

    /** One-hot input, which takes lookups instead of the input products. */
    final OneHotInput oneHot;

    /** To be called after writing the weights or biases. */
    void parametersChanged() {
        oneHot.parametersChanged();
    }

    /** Whether the last forward pass had one-hot input (its input gradient is then of no use to anyone). */
    boolean oneHotInput() {
        return oneHot.active();
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

    /** Sizes the caches for T steps of batch B; returns the input buffer [T*B, nIn] for the caller to fill time-major. */
    FloatBuffer prepare(int steps, int batch) {
        this.t = steps;
        this.b = batch;
        int rows = steps * batch;
        long n = (long) batch * h;
        x = ensure(x, (long) rows * nIn);
        gx = ensure(gx, (long) rows * g3);
        gh = ensure(gh, (long) batch * g3);
        hs = ensure(hs, (long) (rows + batch) * h);
        rs = ensure(rs, steps, n);
        zs = ensure(zs, steps, n);
        ns = ensure(ns, steps, n);
        hns = ensure(hns, steps, n);
        hStep = ensure(hStep, n);
        ghr = ensure(ghr, n);
        ghz = ensure(ghz, n);
        return x;
    }

    /** Initial state h0 ([B, H] row-major); null means zeros. */
    void setInitialState(float[] h0) {
        int n = b * h;
        if (h0 == null) java.util.Arrays.fill(hStep, 0, n, 0f);
        else System.arraycopy(h0, 0, hStep, 0, n);
        hs.put(0, hStep, 0, n);
    }

    /** Output h_1..h_T, [T*B, H] time-major, copied into {@code dst}. */
    void outputs(float[] dst) {
        hs.get(b * h, dst, 0, t * b * h);
    }

    /** Output h_1..h_T, [T*B, H] time-major: a view of the cache, valid until the next forward pass. */
    FloatBuffer outputs() {
        return at(hs, b * h);
    }

    /** Final state h_T, [B, H]. */
    float[] lastH() {
        return java.util.Arrays.copyOf(hStep, b * h);
    }

    void forward() {
        int rows = t * b;
        if (oneHot.find(x, rows)) {
            long t0 = StepProfile.start();
            oneHot.project(gx, 0, rows, bias, wT);
            StepProfile.stop(StepProfile.Phase.GEMM, t0);
        } else {
            for (int r = 0; r < rows; r++) gx.put(r * g3, bias);
            gemm(rows, nIn, x, wT, gx);
        }
        int parts = CpuKernels.rowParts(b, this.parts);
        Blas.Packed[] packs = b == 1 ? null : (rwForward = CpuKernels.packParts(rwForward, b, parts, true, g3, h, rwT, h));
        CpuKernels.inParts(b, parts, (p, r0, r1) -> recurRows(packs == null ? null : packs[p], r0, r1, parts == 1));
    }

    /**
     * All steps of batch rows [r0, r1), after the input projection: {@code rw} is RW packed for these rows, or null
     * at batch 1 (a GEMV); {@code halves} splits each step's gate arithmetic over two cores.
     */
    private void recurRows(Blas.Packed rw, int r0, int r1, boolean halves) {
        for (int s = 0; s < t; s++) {
            for (int r = r0; r < r1; r++) gh.put(r * g3, rbias);
            long t0 = StepProfile.start();
            if (rw == null) Blas.stepGemv(g3, h, rwT, at(hs, s * h), gh);
            else Blas.CPU.compute(rw, at(hs, (s * b + r0) * h), h, 1f, at(gh, r0 * g3), g3);
            StepProfile.stop(StepProfile.Phase.GEMM, t0);
            final int gxOff = s * b * g3, hOff = (s + 1) * b * h, step = s;
            t0 = StepProfile.start();
            if (halves) CpuKernels.inHalves(r1 - r0, h, (a0, a1) -> gatesForward(step, gxOff, hOff, r0 + a0, r0 + a1));
            else gatesForward(step, gxOff, hOff, r0, r1);
            StepProfile.stop(StepProfile.Phase.GATES, t0);
        }
    }

    /** out [rows, 3H] += in [rows, k] M, M given as its transpose [3H, k]; one row is a GEMV (see {@link LstmKernel}). */
    private void gemm(int rows, int k, FloatBuffer in, FloatBuffer mT, FloatBuffer out) {
        long t0 = StepProfile.start();
        if (rows == 1) Blas.stepGemv(g3, k, mT, in, out);
        else Blas.CPU.sgemm(false, true, rows, g3, k, 1f, in, k, mT, k, 1f, out, g3);
        StepProfile.stop(StepProfile.Phase.GEMM, t0);
    }

    /** Copies gate block {@code q} of rows [r0, r1) of a [., 3H] buffer at {@code off} into {@code dst}, or back ({@code toBuf}). */
    private void block(FloatBuffer buf, int off, int q, float[] arr, int r0, int r1, boolean toBuf) {
        for (int r = r0; r < r1; r++) {
            int at = off + r * g3 + q * h;
            if (toBuf) buf.put(at, arr, r * h, h);
            else buf.get(at, arr, r * h, h);
        }
    }

    /** Gate arithmetic of step s for batch rows [r0, r1): r, z, n, hn are kept, h is updated and written to {@code hs}. */
    private void gatesForward(int s, int gxOff, int hOff, int r0, int r1) {
        final float[] r = rs[s], z = zs[s], n = ns[s], hn = hns[s], gr = ghr, gz = ghz, hh = hStep;
        block(gx, gxOff, 0, r, r0, r1, false);
        block(gx, gxOff, 1, z, r0, r1, false);
        block(gx, gxOff, 2, n, r0, r1, false);
        block(gh, 0, 0, gr, r0, r1, false);
        block(gh, 0, 1, gz, r0, r1, false);
        block(gh, 0, 2, hn, r0, r1, false);
        final int k0 = r0 * h, k1 = r1 * h;
        for (int k = k0; k < k1; k++) r[k] = CpuKernels.sigmoid(r[k] + gr[k]);
        for (int k = k0; k < k1; k++) z[k] = CpuKernels.sigmoid(z[k] + gz[k]);
        for (int k = k0; k < k1; k++) n[k] = CpuKernels.tanh(n[k] + r[k] * hn[k]);
        for (int k = k0; k < k1; k++) hh[k] = n[k] + z[k] * (hh[k] - n[k]);
        hs.put(hOff + k0, hh, k0, k1 - k0);
    }

    /**
     * Backpropagation through the cached segment. {@code dH} is dL/dh_t for t = 1..T ([T*B, H], time-major); nothing
     * flows into the initial state (truncated BPTT). Writes dW^T, dRW^T, db, drb ({@link #dWT}, {@link #dRWT},
     * {@link #db}, {@link #drb}) and returns dL/dx [T*B, nIn]. With h = n + z (hPrev - n), per step:
     * dn' = dh (1 - z)(1 - n^2), dz' = dh (hPrev - n) z (1 - z), dr' = dn' hn r (1 - r); input side [dr', dz', dn'],
     * recurrent side [dr', dz', dn' r]; dhPrev = dh z + (recurrent side) RW^T.
     */
    FloatBuffer backward(float[] dH) {
        return backward(dH, true);
    }

    /** As {@link #backward(float[])}; without {@code inputGradient}, skips dL/dx and returns null. */
    FloatBuffer backward(float[] dH, boolean inputGradient) {
        int rows = t * b, n = b * h;
        dgh = ensure(dgh, (long) rows * g3);
        dhNext = ensure(dhNext, n);
        dx = ensure(dx, (long) rows * nIn);
        dh = ensure(dh, n);
        dhRec = ensure(dhRec, n);
        dr = ensure(dr, n);
        dz = ensure(dz, n);
        dn = ensure(dn, n);
        dnr = ensure(dnr, n);
        // hPrev of each step, read from hs per step: hStep holds h_T, which backward no longer needs
        java.util.Arrays.fill(dhRec, 0, n, 0f);
        int parts = CpuKernels.rowParts(b, this.parts);
        Blas.Packed[] packs = b == 1 ? null : (rwBackward = CpuKernels.packParts(rwBackward, b, parts, false, h, g3, rwT, h));
        CpuKernels.inParts(b, parts, (p, r0, r1) -> backwardRows(dH, packs == null ? null : packs[p], r0, r1, parts == 1));
        // hStep was overwritten: restore h_T for lastH()
        hs.get(rows * h, hStep, 0, n);
        long t0 = StepProfile.start();
        if (ones == null || ones.capacity() < rows) {
            ones = CpuKernels.alloc(rows);
            for (int i = 0; i < rows; i++) ones.put(i, 1f);
        }
        Blas.CPU.sgemv(true, rows, g3, 1f, gx, g3, ones, 0f, dbBuf);
        dbBuf.get(0, db);
        Blas.CPU.sgemv(true, rows, g3, 1f, dgh, g3, ones, 0f, dbBuf);
        dbBuf.get(0, drb);
        Blas.CPU.sgemm(true, false, g3, h, rows, 1f, dgh, g3, hs, h, 0f, dRWT, h);
        if (oneHot.active()) oneHot.weightGradient(gx, rows, dWT);
        else Blas.CPU.sgemm(true, false, g3, nIn, rows, 1f, gx, g3, x, nIn, 0f, dWT, nIn);
        if (inputGradient) Blas.CPU.sgemm(false, false, rows, nIn, g3, 1f, gx, g3, wT, nIn, 0f, dx, nIn);
        StepProfile.stop(StepProfile.Phase.GEMM, t0);
        return inputGradient ? dx : null;
    }

    /**
     * Gate gradients of batch rows [r0, r1) over all steps, from the last down; {@code rw} and {@code halves} as in
     * {@link #recurRows}.
     */
    private void backwardRows(float[] dH, Blas.Packed rw, int r0, int r1, boolean halves) {
        final int n = b * h, k0 = r0 * h, len = (r1 - r0) * h;
        for (int s = t - 1; s >= 0; s--) {
            final int off = s * n, gOff = s * b * g3, step = s;
            hs.get(off + k0, hStep, k0, len);
            long t0 = StepProfile.start();
            if (halves) CpuKernels.inHalves(r1 - r0, h, (a0, a1) -> gatesBackward(dH, step, off, gOff, r0 + a0, r0 + a1));
            else gatesBackward(dH, step, off, gOff, r0, r1);
            StepProfile.stop(StepProfile.Phase.GATES, t0);
            if (s > 0) {
                // dh_{s-1} = dh z + dgh_s RW^T (dhRec holds dh z)
                t0 = StepProfile.start();
                dhNext.put(k0, dhRec, k0, len);
                if (rw == null) Blas.CPU.sgemv(true, g3, h, 1f, rwT, h, at(dgh, gOff), 1f, dhNext);
                else Blas.CPU.compute(rw, at(dgh, gOff + r0 * g3), g3, 1f, at(dhNext, k0), h);
                dhNext.get(k0, dhRec, k0, len);
                StepProfile.stop(StepProfile.Phase.GEMM, t0);
            }
        }
    }

    /**
     * Gate gradients of step s for batch rows [r0, r1) ({@code hStep} holds hPrev): writes the input-side gradients
     * over step s's rows of {@code gx} (no longer needed), the recurrent-side ones into {@code dgh}, and dh z into
     * {@code dhRec}.
     */
    private void gatesBackward(float[] dH, int s, int off, int gOff, int r0, int r1) {
        final float[] r = rs[s], z = zs[s], nn = ns[s], hn = hns[s], hp = hStep;
        final float[] dhv = dh, dhr = dhRec, gr = dr, gz = dz, gn = dn, gnr = dnr;
        final int k0 = r0 * h, k1 = r1 * h;
        for (int k = k0; k < k1; k++) dhv[k] = dH[off + k] + dhr[k];
        for (int k = k0; k < k1; k++) gn[k] = dhv[k] * (1f - z[k]) * (1f - nn[k] * nn[k]);
        for (int k = k0; k < k1; k++) gz[k] = dhv[k] * (hp[k] - nn[k]) * z[k] * (1f - z[k]);
        for (int k = k0; k < k1; k++) gr[k] = gn[k] * hn[k] * r[k] * (1f - r[k]);
        for (int k = k0; k < k1; k++) gnr[k] = gn[k] * r[k];
        for (int k = k0; k < k1; k++) dhr[k] = dhv[k] * z[k];
        block(gx, gOff, 0, gr, r0, r1, true);
        block(gx, gOff, 1, gz, r0, r1, true);
        block(gx, gOff, 2, gn, r0, r1, true);
        block(dgh, gOff, 0, gr, r0, r1, true);
        block(dgh, gOff, 1, gz, r0, r1, true);
        block(dgh, gOff, 2, gnr, r0, r1, true);
    }
}
