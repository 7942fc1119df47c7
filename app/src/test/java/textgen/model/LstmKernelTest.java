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
}
