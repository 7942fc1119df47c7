package textgen.model;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class LstmKernelTest {
    @Test
    void fastExpIsFloatAccurate() {
        double worst = 0;
        for (float v = -87f; v <= 88f; v += 0.00731f) {
            double rel = Math.abs(LstmKernel.exp(v) - Math.exp(v)) / Math.exp(v);
            worst = Math.max(worst, rel);
        }
        assertTrue(worst < 5e-7, "max relative error " + worst);
        assertEquals(Float.POSITIVE_INFINITY, LstmKernel.exp(100f));
        assertEquals(0f, LstmKernel.exp(-100f));
        assertTrue(Float.isNaN(LstmKernel.exp(Float.NaN)));
        assertEquals(1f, LstmKernel.tanh(50f));
        assertEquals(-1f, LstmKernel.tanh(-50f));
        assertEquals(0.5f, LstmKernel.sigmoid(0f), 1e-7);
        assertEquals(Math.tanh(0.3), LstmKernel.tanh(0.3f), 1e-6);
    }
}
