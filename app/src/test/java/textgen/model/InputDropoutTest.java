package textgen.model;

import org.deeplearning4j.nn.conf.dropout.AlphaDropout;
import org.deeplearning4j.nn.conf.dropout.Dropout;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.factory.Nd4j;

import java.nio.FloatBuffer;

import static org.junit.jupiter.api.Assertions.*;

/** The fast layers' inverted dropout: the kept share, the scale, one mask for both passes, masks fixed by the seed. */
class InputDropoutTest {
    private static FloatBuffer ones(int n) {
        FloatBuffer b = FloatBuffer.allocate(n);
        for (int i = 0; i < n; i++) b.put(i, 1f);
        return b;
    }

    private static float[] masked(InputDropout d, long seed, int n) {
        Nd4j.getRandom().setSeed(seed);
        FloatBuffer x = ones(n);
        d.apply(x, n);
        return x.array();
    }

    @Test
    void keepsTheShareDl4jsDropoutKeepsScaledByItsInverse() {
        int n = 200_001; // odd: the last element takes half a random long
        for (double keep : new double[]{0.9, 0.5, 0.2}) {
            float[] x = masked(InputDropout.of(new Dropout(keep)), 1, n);
            int kept = 0;
            for (float v : x) {
                if (v != 0f) {
                    assertEquals(1 / keep, v, 1e-6);
                    kept++;
                }
            }
            assertEquals(keep, kept / (double) n, 0.005, "kept share at p = " + keep);
            assertNotEquals(0f, x[n - 1] + x[n - 2] + x[n - 3] + x[n - 4] + x[n - 5] + x[n - 6], "the tail is masked too");
        }
    }

    @Test
    void backwardAppliesTheForwardMaskAndSeedsFixTheMasks() {
        InputDropout d = InputDropout.of(new Dropout(0.7));
        int n = 1001;
        float[] forward = masked(d, 3, n);
        FloatBuffer grad = ones(n);
        d.backprop(grad, n);
        assertArrayEquals(forward, grad.array());
        assertArrayEquals(forward, masked(d, 3, n), "same seed, same mask");
        assertFalse(java.util.Arrays.equals(forward, masked(d, 4, n)), "another seed, another mask");
        assertThrows(IllegalStateException.class, () -> d.backprop(ones(n + 1), n + 1), "a backward pass of another size");
    }

    @Test
    void leavesOtherDropoutKindsToDl4j() {
        assertNull(InputDropout.of(null));
        assertNull(InputDropout.of(new AlphaDropout(0.5)));
        assertNull(InputDropout.of(new Dropout(new org.nd4j.linalg.schedule.StepSchedule(org.nd4j.linalg.schedule.ScheduleType.ITERATION, 0.5, 0.9, 10))));
        assertNotNull(InputDropout.of(new Dropout(0.9)));
    }
}
