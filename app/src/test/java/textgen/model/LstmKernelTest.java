package textgen.model;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class LstmKernelTest {
    @Test
    void activationsAreFloatAccurateAndBounded() {
        double worstTanh = 0, worstSigmoid = 0;
        for (float v = -40f; v <= 40f; v += 0.000731f) {
            float t = CpuKernels.tanh(v), s = CpuKernels.sigmoid(v);
            worstTanh = Math.max(worstTanh, Math.abs(t - Math.tanh(v)));
            worstSigmoid = Math.max(worstSigmoid, Math.abs(s - 1 / (1 + Math.exp(-v))));
            assertTrue(Math.abs(t) <= 1f && s >= 0f && s <= 1f, "out of range at " + v);
        }
        assertTrue(worstTanh < 5e-7, "tanh: max absolute error " + worstTanh);
        assertTrue(worstSigmoid < 3e-7, "sigmoid: max absolute error " + worstSigmoid);
        assertEquals(1f, CpuKernels.tanh(1e30f));
        assertEquals(-1f, CpuKernels.tanh(Float.NEGATIVE_INFINITY));
        assertEquals(0f, CpuKernels.tanh(0f));
        assertEquals(0.5f, CpuKernels.sigmoid(0f));
        assertTrue(Float.isNaN(CpuKernels.tanh(Float.NaN)), "NaN must reach the loss (divergence detection)");
        assertTrue(Float.isNaN(CpuKernels.sigmoid(Float.NaN)));
    }

    /**
     * One-hot input takes lookups instead of the input products: against the products on the same random one-hot
     * input, parameters and carried state, the outputs and final state are bit for bit equal (bias + 1 * w is one
     * rounding either way) and the gradients equal to float rounding (dW sums the same rows in another order); odd
     * sizes, batch 1; and a row that is not one-hot sends the whole segment down the product path.
     */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.CsvSource({"7, 13, 5, 6", "11, 16, 1, 9", "3, 5, 2, 1"})
    void oneHotInputMatchesTheProducts(int nIn, int hidden, int batch, int steps) {
        java.util.Random rnd = new java.util.Random(nIn * 31L + hidden);
        LstmKernel lookup = KernelData.lstm(nIn, hidden, rnd), dense = KernelData.lstm(nIn, hidden, new java.util.Random(nIn * 31L + hidden));
        dense.oneHot.denseOnly = true;
        float[] h0 = KernelData.noise(rnd, batch * hidden), c0 = KernelData.noise(rnd, batch * hidden);
        float[] x = new float[steps * batch * nIn];
        for (int r = 0; r < steps * batch; r++) x[r * nIn + rnd.nextInt(nIn)] = 1f;
        float[] dH = KernelData.noise(rnd, steps * batch * hidden);
        for (int segment = 0; segment < 2; segment++) { // the second from the state the first ended in
            for (LstmKernel k : new LstmKernel[]{lookup, dense}) {
                k.prepare(steps, batch).put(0, x);
                k.setInitialState(h0, c0);
                k.forward();
            }
            assertTrue(lookup.oneHotInput());
            assertFalse(dense.oneHotInput());
            float[] a = new float[steps * batch * hidden], e = new float[a.length];
            lookup.outputs(a);
            dense.outputs(e);
            assertArrayEquals(e, a, "outputs");
            assertArrayEquals(dense.lastC(), lookup.lastC(), "final cell state");
            java.nio.FloatBuffer dxL = lookup.backward(dH), dxD = dense.backward(dH);
            KernelData.assertBuffersClose(dense.dWT, lookup.dWT, "dW");
            KernelData.assertBuffersClose(dense.dRWT, lookup.dRWT, "dRW");
            assertArrayEquals(dense.db, lookup.db, 1e-6f, "db");
            KernelData.assertBuffersClose(dxD, dxL, "dx");
            h0 = lookup.lastH();
            c0 = lookup.lastC();
        }
        x[x.length - 1] = 0.5f; // not one-hot any more
        lookup.prepare(steps, batch).put(0, x);
        lookup.setInitialState(h0, c0);
        lookup.forward();
        assertFalse(lookup.oneHotInput());
    }
}
