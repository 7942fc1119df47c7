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

    // Caches for the last forward pass (capacity grows as needed).
    private int t, b;
    private FloatBuffer x;   // [T*B, nIn] input
    private FloatBuffer z;   // [T*B, 4H] gate activations; overwritten by gate gradients in backward
    private FloatBuffer hs;  // [(T+1)*B, H] h0, h_1 .. h_T
    private FloatBuffer cs;  // [(T+1)*B, H] c0, c_1 .. c_T
    private FloatBuffer tc;  // [T*B, H] tanh(c_t)
    private FloatBuffer dhNext, dcNext, dx;

    LstmKernel(int nIn, int hidden) {
        this.nIn = nIn;
        this.h = hidden;
        this.g4 = 4 * hidden;
        this.wT = alloc(g4 * nIn);
        this.rwT = alloc(g4 * hidden);
        this.bias = new float[g4];
    }

    static FloatBuffer alloc(long n) {
        if (n > Integer.MAX_VALUE / 4) throw new IllegalArgumentException("LSTM buffer too large: " + n + " floats");
        return ByteBuffer.allocateDirect((int) n * 4).order(ByteOrder.nativeOrder()).asFloatBuffer();
    }

    private static FloatBuffer ensure(FloatBuffer buf, long n) {
        return buf != null && buf.capacity() >= n ? buf : alloc(n);
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

    /** Input buffer for the next forward pass of T steps and batch B, to be filled time-major by the caller. */
    FloatBuffer prepare(int steps, int batch) {
        this.t = steps;
        this.b = batch;
        int rows = steps * batch;
        x = ensure(x, (long) rows * nIn);
        z = ensure(z, (long) rows * g4);
        hs = ensure(hs, (long) (rows + batch) * h);
        cs = ensure(cs, (long) (rows + batch) * h);
        tc = ensure(tc, (long) rows * h);
        return x;
    }

    /** Initial state rows (h0, c0), [B, H] each; zero unless the caller writes them after {@link #prepare}. */
    FloatBuffer h0() {
        return hs;
    }

    FloatBuffer c0() {
        return cs;
    }

    /** Output h_1..h_T, [T*B, H] time-major. */
    FloatBuffer outputs() {
        return at(hs, b * h);
    }

    /** Final state h_T, c_T: [B, H] each. */
    FloatBuffer lastH() {
        return at(hs, t * b * h);
    }

    FloatBuffer lastC() {
        return at(cs, t * b * h);
    }

    void forward() {
        int rows = t * b;
        // Z = X W + bias, for all steps at once
        openblas_nolapack.cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, g4, nIn, 1f, x, nIn, wT, nIn, 0f, z, g4);
        for (int r = 0; r < rows; r++) {
            int base = r * g4;
            for (int j = 0; j < g4; j++) z.put(base + j, z.get(base + j) + bias[j]);
        }
        for (int s = 0; s < t; s++) {
            FloatBuffer zs = at(z, s * b * g4);
            // Z_s += h_{s-1} RW
            openblas_nolapack.cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, b, g4, h, 1f, at(hs, s * b * h), h, rwT, h, 1f, zs, g4);
            int cPrev = s * b * h, cNext = (s + 1) * b * h, tcOff = s * b * h;
            for (int r = 0; r < b; r++) {
                int zr = r * g4, hr = r * h;
                for (int j = 0; j < h; j++) {
                    float a = tanh(zs.get(zr + j));
                    float f = sigmoid(zs.get(zr + h + j));
                    float o = sigmoid(zs.get(zr + 2 * h + j));
                    float g = sigmoid(zs.get(zr + 3 * h + j));
                    zs.put(zr + j, a);
                    zs.put(zr + h + j, f);
                    zs.put(zr + 2 * h + j, o);
                    zs.put(zr + 3 * h + j, g);
                    float c = f * cs.get(cPrev + hr + j) + g * a;
                    float tch = tanh(c);
                    cs.put(cNext + hr + j, c);
                    tc.put(tcOff + hr + j, tch);
                    hs.put(cNext + hr + j, o * tch);
                }
            }
        }
    }

    /**
     * Backpropagation through the whole cached sequence. {@code dH} is dL/dh_t for t = 1..T ([T*B, H], time-major);
     * the gradient at the initial state is not propagated further (truncated BPTT). Writes dW^T [4H, nIn], dRW^T
     * [4H, H] and db [4H] into the given buffers and returns dL/dx [T*B, nIn].
     */
    FloatBuffer backward(FloatBuffer dH, FloatBuffer dWT, FloatBuffer dRWT, float[] db) {
        int rows = t * b;
        dhNext = ensure(dhNext, (long) b * h);
        dcNext = ensure(dcNext, (long) b * h);
        dx = ensure(dx, (long) rows * nIn);
        for (int i = 0; i < b * h; i++) {
            dhNext.put(i, 0f);
            dcNext.put(i, 0f);
        }
        for (int s = t - 1; s >= 0; s--) {
            FloatBuffer zs = at(z, s * b * g4);
            int cPrev = s * b * h, off = s * b * h;
            for (int r = 0; r < b; r++) {
                int zr = r * g4, hr = r * h;
                for (int j = 0; j < h; j++) {
                    float a = zs.get(zr + j), f = zs.get(zr + h + j), o = zs.get(zr + 2 * h + j), g = zs.get(zr + 3 * h + j);
                    float tch = tc.get(off + hr + j);
                    float dh = dH.get(off + hr + j) + dhNext.get(hr + j);
                    float dc = dh * o * (1f - tch * tch) + dcNext.get(hr + j);
                    float dO = dh * tch;
                    dcNext.put(hr + j, dc * f);
                    zs.put(zr + j, dc * g * (1f - a * a));
                    zs.put(zr + h + j, dc * cs.get(cPrev + hr + j) * f * (1f - f));
                    zs.put(zr + 2 * h + j, dO * o * (1f - o));
                    zs.put(zr + 3 * h + j, dc * a * g * (1f - g));
                }
            }
            // dh_{s-1} = dZ_s RW^T
            openblas_nolapack.cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, b, h, g4, 1f, zs, g4, rwT, h, 0f, dhNext, h);
        }
        // dRW^T = dZ^T H_prev, dW^T = dZ^T X, db = column sums of dZ, dX = dZ W
        openblas_nolapack.cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, g4, h, rows, 1f, z, g4, hs, h, 0f, dRWT, h);
        openblas_nolapack.cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, g4, nIn, rows, 1f, z, g4, x, nIn, 0f, dWT, nIn);
        java.util.Arrays.fill(db, 0f);
        for (int r = 0; r < rows; r++) {
            int base = r * g4;
            for (int j = 0; j < g4; j++) db[j] += z.get(base + j);
        }
        openblas_nolapack.cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, nIn, g4, 1f, z, g4, wT, nIn, 0f, dx, nIn);
        return dx;
    }

    static float sigmoid(float v) {
        return (float) (1.0 / (1.0 + Math.exp(-v)));
    }

    static float tanh(float v) {
        // Math.exp is an intrinsic; Math.tanh is not
        if (v > 15f) return 1f;
        if (v < -15f) return -1f;
        double e = Math.exp(2.0 * v);
        return (float) ((e - 1.0) / (e + 1.0));
    }
}
