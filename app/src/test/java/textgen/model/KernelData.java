package textgen.model;

import java.nio.FloatBuffer;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** Random kernels and inputs for the CPU kernels' tests, and their comparison to float rounding. */
final class KernelData {
    private KernelData() {
    }

    /** {@code n} Gaussian values with standard deviation 0.5. */
    static float[] noise(Random rnd, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) rnd.nextGaussian() * 0.5f;
        return v;
    }

    /** A kernel buffer ({@link CpuKernels#alloc}) of {@code n} standard Gaussian values. */
    static FloatBuffer noiseBuffer(Random rnd, int n) {
        FloatBuffer b = CpuKernels.alloc(n);
        for (int i = 0; i < n; i++) b.put(i, (float) rnd.nextGaussian());
        return b;
    }

    /** A kernel buffer holding what {@code b} holds over its whole capacity. */
    static FloatBuffer copy(FloatBuffer b) {
        FloatBuffer c = CpuKernels.alloc(b.capacity());
        for (int i = 0; i < b.capacity(); i++) c.put(i, b.get(i));
        return c;
    }

    /** Element-wise within 1e-5 of {@code expected}'s largest magnitude, over the buffers' whole capacity. */
    static void assertBuffersClose(FloatBuffer expected, FloatBuffer actual, String what) {
        double scale = 1e-30, worst = 0;
        int n = expected.capacity();
        for (int i = 0; i < n; i++) scale = Math.max(scale, Math.abs(expected.get(i)));
        for (int i = 0; i < n; i++) worst = Math.max(worst, Math.abs(expected.get(i) - actual.get(i)));
        assertTrue(worst <= 1e-5 * scale, what + ": largest difference " + worst + " of " + scale);
    }

    /** An LSTM kernel with random parameters. */
    static LstmKernel lstm(int nIn, int hidden, Random rnd) {
        LstmKernel k = new LstmKernel(nIn, hidden);
        k.wT.put(0, noise(rnd, 4 * hidden * nIn));
        k.rwT.put(0, noise(rnd, 4 * hidden * hidden));
        System.arraycopy(noise(rnd, 4 * hidden), 0, k.bias, 0, 4 * hidden);
        k.parametersChanged();
        return k;
    }

    /** A GRU kernel with random parameters. */
    static GruKernel gru(int nIn, int hidden, Random rnd) {
        GruKernel k = new GruKernel(nIn, hidden);
        k.wT.put(0, noise(rnd, 3 * hidden * nIn));
        k.rwT.put(0, noise(rnd, 3 * hidden * hidden));
        System.arraycopy(noise(rnd, 3 * hidden), 0, k.bias, 0, 3 * hidden);
        System.arraycopy(noise(rnd, 3 * hidden), 0, k.rbias, 0, 3 * hidden);
        k.parametersChanged();
        return k;
    }
}
