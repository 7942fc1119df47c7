package textgen.model;

import org.bytedeco.openblas.global.openblas_nolapack;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;

import static org.bytedeco.openblas.global.openblas_nolapack.CblasNoTrans;
import static org.bytedeco.openblas.global.openblas_nolapack.CblasRowMajor;
import static org.bytedeco.openblas.global.openblas_nolapack.CblasTrans;

/**
 * The LSTM of DL4J's {@code LSTM} layer (no peepholes; gate columns in DL4J's order: block input a (tanh), forget f,
 * output o, input modulation g (sigmoid); c = f*c' + g*a, h = o*tanh(c)) over a whole sequence, in plain Java with
 * OpenBLAS {@code sgemm} on direct buffers: one GEMM projects the input of every time step, one GEMM per step applies
 * the recurrent weights, the gate arithmetic is a Java loop, and backward computes all weight gradients with one GEMM
 * each. The forward pass keeps what backward needs, so nothing is computed twice.
 *
 * <p>Layouts are row-major and time-major: row {@code t*B + b} holds time step t of sequence b.
 * {@code W} is stored as DL4J stores it ('f' order [nIn, 4H], i.e. row-major [4H, nIn]); so is {@code RW}.
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

    // Caches for the last forward pass (capacity grows as needed). Direct buffers are GEMM operands; the gate
    // arithmetic runs on heap arrays (bulk-copied per step), where the JIT compiles tight loops.
    private int t, b;
    private FloatBuffer x;   // [T*B, nIn] input
    private FloatBuffer z;   // [T*B, 4H] gate activations; overwritten by gate gradients in backward
    private FloatBuffer hs;  // [(T+1)*B, H] h0, h_1 .. h_T
    private float[] cs;      // [(T+1)*B, H] c0, c_1 .. c_T
    private float[] tc;      // [T*B, H] tanh(c_t)
    private float[] zStep, hStep, dcNext, dbHalf;
    private FloatBuffer dhNext, dx;

    LstmKernel(int nIn, int hidden) {
        this.nIn = nIn;
        this.h = hidden;
        this.g4 = 4 * hidden;
        this.wT = alloc((long) g4 * nIn);
        this.rwT = alloc((long) g4 * hidden);
        this.bias = new float[g4];
        this.dWT = alloc((long) g4 * nIn);
        this.dRWT = alloc((long) g4 * hidden);
        this.db = new float[g4];
    }

    static FloatBuffer alloc(long n) {
        if (n > Integer.MAX_VALUE / 4) throw new IllegalArgumentException("LSTM buffer too large: " + n + " floats");
        return ByteBuffer.allocateDirect((int) n * 4).order(ByteOrder.nativeOrder()).asFloatBuffer();
    }

    private static FloatBuffer ensure(FloatBuffer buf, long n) {
        return buf != null && buf.capacity() >= n ? buf : alloc(n);
    }

    private static float[] ensure(float[] buf, long n) {
        if (n > Integer.MAX_VALUE - 8) throw new IllegalArgumentException("LSTM buffer too large: " + n + " floats");
        return buf != null && buf.length >= n ? buf : new float[(int) n];
    }

    private static FloatBuffer at(FloatBuffer buf, int offset) {
        return buf.duplicate().position(offset).slice();
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
        cs = ensure(cs, (long) (rows + batch) * h);
        tc = ensure(tc, (long) rows * h);
        zStep = ensure(zStep, (long) batch * g4);
        hStep = ensure(hStep, (long) batch * h);
        return x;
    }

    /** Initial state h0, c0 ([B, H] row-major each); null means zeros. */
    void setInitialState(float[] h0, float[] c0) {
        int n = b * h;
        if (h0 == null) java.util.Arrays.fill(hStep, 0, n, 0f);
        else System.arraycopy(h0, 0, hStep, 0, n);
        hs.put(0, hStep, 0, n);
        if (c0 == null) java.util.Arrays.fill(cs, 0, n, 0f);
        else System.arraycopy(c0, 0, cs, 0, n);
    }

    /** Output h_1..h_T, [T*B, H] time-major, copied into {@code dst}. */
    void outputs(float[] dst) {
        hs.get(b * h, dst, 0, t * b * h);
    }

    /** Final state h_T and c_T, [B, H] each. */
    float[] lastH() {
        float[] v = new float[b * h];
        hs.get(t * b * h, v, 0, v.length);
        return v;
    }

    float[] lastC() {
        return java.util.Arrays.copyOfRange(cs, t * b * h, (t + 1) * b * h);
    }

    void forward() {
        int rows = t * b;
        // Z = X W for all steps at once; the bias is added in the step loop
        openblas_nolapack.cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, g4, nIn, 1f, x, nIn, wT, nIn, 0f, z, g4);
        final float[] zs = zStep, hh = hStep;
        final int hid = h, gates = g4;
        for (int s = 0; s < t; s++) {
            int zOff = s * b * gates;
            // Z_s += h_{s-1} RW
            openblas_nolapack.cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, b, gates, hid, 1f, at(hs, s * b * hid), hid, rwT, hid, 1f, at(z, zOff), gates);
            z.get(zOff, zs, 0, b * gates);
            int cNext = (s + 1) * b * hid;
            final int cPrev = s * b * hid;
            inHalves(b, (r0, r1) -> gatesForward(cPrev, b * hid, r0 * hid, r1 * hid));
            z.put(zOff, zs, 0, b * gates);
            hs.put(cNext, hh, 0, b * hid);
        }
    }

    /**
     * Gate arithmetic of one time step on the heap copy of Z_s: activations replace pre-activations, and c, tanh(c)
     * and h are written. A method of its own so that the JIT compiles it as a whole (it runs T times a pass).
     */
    private void gatesForward(int cPrev, int n, int from, int to) {
        final float[] zs = zStep, hh = hStep, c = cs, tcs = tc, bi = bias;
        final int hid = h, gates = g4;
        for (int i = from; i < to; i++) {
            int r = i / hid, j = i - r * hid, zr = r * gates;
            float a = tanh(zs[zr + j] + bi[j]);
            float f = sigmoid(zs[zr + hid + j] + bi[hid + j]);
            float o = sigmoid(zs[zr + 2 * hid + j] + bi[2 * hid + j]);
            float g = sigmoid(zs[zr + 3 * hid + j] + bi[3 * hid + j]);
            zs[zr + j] = a;
            zs[zr + hid + j] = f;
            zs[zr + 2 * hid + j] = o;
            zs[zr + 3 * hid + j] = g;
            float cv = f * c[cPrev + i] + g * a;
            float tch = tanh(cv);
            c[cPrev + n + i] = cv;
            tcs[cPrev + i] = tch;
            hh[i] = o * tch;
        }
    }

    /**
     * Backpropagation through the whole cached sequence. {@code dH} is dL/dh_t for t = 1..T ([T*B, H], time-major);
     * the gradient at the initial state is not propagated further (truncated BPTT). Writes dW^T [4H, nIn], dRW^T
     * [4H, H] and db [4H] into {@link #dWT}, {@link #dRWT}, {@link #db} and returns dL/dx [T*B, nIn].
     */
    FloatBuffer backward(float[] dH) {
        int rows = t * b;
        final int hid = h, gates = g4;
        dhNext = ensure(dhNext, (long) b * hid);
        dx = ensure(dx, (long) rows * nIn);
        dcNext = ensure(dcNext, (long) b * hid);
        final float[] zs = zStep, dhn = hStep, dcn = dcNext;
        java.util.Arrays.fill(dhn, 0, b * hid, 0f);
        java.util.Arrays.fill(dcn, 0, b * hid, 0f);
        java.util.Arrays.fill(db, 0f);
        dbHalf = ensure(dbHalf, gates);
        java.util.Arrays.fill(dbHalf, 0, gates, 0f);
        for (int s = t - 1; s >= 0; s--) {
            final int zOff = s * b * gates, off = s * b * hid;
            z.get(zOff, zs, 0, b * gates);
            inHalves(b, (r0, r1) -> gatesBackward(dH, off, r0, r1, r0 == 0 ? db : dbHalf));
            z.put(zOff, zs, 0, b * gates);
            if (s > 0) {
                // dh_{s-1} = dZ_s RW^T
                openblas_nolapack.cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, b, hid, gates, 1f, at(z, zOff), gates, rwT, hid, 0f, dhNext, hid);
                dhNext.get(0, dhn, 0, b * hid);
            }
        }
        for (int j = 0; j < gates; j++) db[j] += dbHalf[j];
        // dRW^T = dZ^T H_prev, dW^T = dZ^T X, dX = dZ W
        openblas_nolapack.cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, gates, hid, rows, 1f, z, gates, hs, hid, 0f, dRWT, hid);
        openblas_nolapack.cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, gates, nIn, rows, 1f, z, gates, x, nIn, 0f, dWT, nIn);
        openblas_nolapack.cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, nIn, gates, 1f, z, gates, wT, nIn, 0f, dx, nIn);
        return dx;
    }

    /** Gate gradients of one time step for batch rows [r0, r1), in place on the heap copy of Z_s; db accumulates. */
    private void gatesBackward(float[] dH, int off, int r0, int r1, float[] db) {
        final float[] zs = zStep, dhn = hStep, dcn = dcNext, c = cs, tcs = tc;
        final int hid = h, gates = g4;
        for (int r = r0; r < r1; r++) {
            int zr = r * gates, hr = r * hid;
            for (int j = 0; j < hid; j++) {
                float a = zs[zr + j], f = zs[zr + hid + j], o = zs[zr + 2 * hid + j], g = zs[zr + 3 * hid + j];
                float tch = tcs[off + hr + j];
                float dh = dH[off + hr + j] + dhn[hr + j];
                float dc = dh * o * (1f - tch * tch) + dcn[hr + j];
                float da = dc * g * (1f - a * a);
                float df = dc * c[off + hr + j] * f * (1f - f);
                float dO = dh * tch * o * (1f - o);
                float dg = dc * a * g * (1f - g);
                dcn[hr + j] = dc * f;
                zs[zr + j] = da;
                zs[zr + hid + j] = df;
                zs[zr + 2 * hid + j] = dO;
                zs[zr + 3 * hid + j] = dg;
                db[j] += da;
                db[hid + j] += df;
                db[2 * hid + j] += dO;
                db[3 * hid + j] += dg;
            }
        }
    }

    private interface RowRange {
        void run(int r0, int r1);
    }

    /**
     * Runs rows [0, rows) as two halves, one on a pool thread and one here, when there is a second core and enough
     * work; the halves touch disjoint rows (the caller gives each its own accumulators).
     */
    private static void inHalves(int rows, RowRange body) {
        if (rows < 2 || PARALLEL == null) {
            body.run(0, rows);
            return;
        }
        int mid = rows / 2;
        java.util.concurrent.ForkJoinTask<?> other = PARALLEL.submit(() -> body.run(mid, rows));
        body.run(0, mid);
        other.join();
    }

    /** A second core for the gate arithmetic (the GEMMs and ND4J stay on the calling thread), if there is one. */
    private static final java.util.concurrent.ForkJoinPool PARALLEL =
            Runtime.getRuntime().availableProcessors() > 1 && !"1".equals(System.getProperty("textgen.threads"))
                    ? java.util.concurrent.ForkJoinPool.commonPool() : null;

    static float sigmoid(float v) {
        return 1f / (1f + exp(-v));
    }

    static float tanh(float v) {
        return 1f - 2f / (exp(2f * v) + 1f);
    }

    /**
     * e^v to float precision (relative error below 3e-7), several times faster than Math.exp: e^v = 2^n e^f with
     * n = round(v log2 e), 2^n set in the exponent bits and e^f, |f| <= 0.35, by its Taylor polynomial.
     */
    static float exp(float v) {
        if (v > 88f) return Float.POSITIVE_INFINITY;
        if (v < -87f) return 0f;
        float shifted = v * 1.442695041f + 12582912f; // + 1.5 * 2^23 rounds v log2(e) to the integer n, in the low mantissa bits
        float nf = shifted - 12582912f;
        int n = Float.floatToRawIntBits(shifted) - 0x4B400000;
        float f = v - nf * 0.693145751953125f - nf * 1.428606765330187e-6f; // v - n ln2 in two parts (Cody-Waite), |f| <= 0.347
        float p = 1f + f * (1f + f * (0.5f + f * (0.166666667f + f * (0.0416666667f + f * (0.00833333333f + f * 0.00138888889f)))));
        return p * Float.intBitsToFloat((n + 127) << 23);
    }
}
