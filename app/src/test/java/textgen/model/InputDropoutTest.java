package textgen.model;

import org.deeplearning4j.nn.conf.dropout.AlphaDropout;
import org.deeplearning4j.nn.conf.dropout.Dropout;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;
import textgen.TestModels;
import textgen.config.RunConfig;
import textgen.corpus.BatchSource;

import java.nio.FloatBuffer;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The fast layers' inverted dropout: the kept share, the scale, one mask for both passes, masks fixed by the seed;
 * and in LSTM and GRU networks, gradients that are those of the masked loss.
 */
class InputDropoutTest {
    private static final int V = 9, H = 12, B = 3, T = 7;

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

    /**
     * Dropout in networks of the fast layers ({@link InputDropout} on the second LSTM or GRU layer's input and the
     * output layer's): the network's gradient is that of its score with the same masks (the random stream restarts at each
     * evaluation; central finite differences), so forward and backward apply one mask; the masks change the score
     * and follow the seed. Batch 1 and one step included.
     */
    @Test
    void dropoutGradientMatchesFiniteDifferences() {
        for (String cell : new String[]{"lstm", "gru"}) {
            for (int[] bt : new int[][]{{B, T}, {1, T}, {B, 1}}) {
                int b = bt[0], t = bt[1];
                String at = " (" + cell + ", batch " + b + ", steps " + t + ")";
                CarriedStateNetwork net = dropoutNet(cell, b, t, 0.3), plain = dropoutNet(cell, b, t, 0);
                assertTrue(net.getLayer(1).conf().getLayer().getIDropout() != null && net.getLayer(2) instanceof FastRnnOutputLayer, at);
                DataSet ds = new BatchSource(TestModels.randomIds(400, V, 19), V, b, t, RunConfig.Sampling.CONSECUTIVE, 1).batch(0, 0);
                java.util.function.BiFunction<CarriedStateNetwork, INDArray, Double> score = (n, params) -> {
                    n.setParams(params);
                    n.resetTrainingState();
                    n.setInput(ds.getFeatures());
                    n.setLabels(ds.getLabels());
                    Nd4j.getRandom().setSeed(9);
                    n.computeGradientAndScore();
                    return n.score();
                };
                INDArray params = net.params().dup();
                double s0 = score.apply(net, params);
                INDArray g = net.gradient().gradient().dup().div(b); // DL4J's gradient is summed over the minibatch
                assertNotEquals(score.apply(plain, params), s0, 1e-4 * s0, "dropout changes the score" + at);
                Nd4j.getRandom().setSeed(10);
                net.computeGradientAndScore();
                assertNotEquals(s0, net.score(), 1e-4 * s0, "another seed, other masks" + at);
                assertEquals(s0, score.apply(net, params), 0, "the same seed, the same masks" + at);

                long[] order = Nd4j.sortWithIndices(Transforms.abs(g.reshape(1, g.length()), true), 1, false)[0].toLongVector();
                long firstOutput = params.length() - (long) H * V - V; // the output layer's parameters come last
                int checked = 0, belowOutput = 0;
                double eps = 1e-2;
                for (int n = 0; n < order.length && checked < 16; n++) {
                    long i = order[n];
                    if (i >= firstOutput && checked - belowOutput >= 6) continue; // most checks on the recurrent layers
                    INDArray q = params.dup();
                    q.putScalar(i, params.getDouble(i) + eps);
                    double up = score.apply(net, q);
                    q.putScalar(i, params.getDouble(i) - eps);
                    double numeric = (up - score.apply(net, q)) / (2 * eps);
                    assertEquals(numeric, g.getDouble(i), 0.02 * Math.abs(numeric) + 1e-3, "parameter " + i + at);
                    checked++;
                    if (i < firstOutput) belowOutput++;
                }
                assertTrue(belowOutput >= 10, "recurrent-layer parameters checked" + at + ": " + belowOutput);
            }
        }
    }

    private static CarriedStateNetwork dropoutNet(String cell, int b, int t, double dropout) {
        RunConfig.ModelConfig model = RunConfig.defaults().with("model.layers", 2).with("model.hiddenSize", H).with("model.cell", cell)
                .with("model.dropout", dropout).model();
        CarriedStateNetwork net = new CarriedStateNetwork(NetworkFactory.configuration(model, TestModels.training(b, t, RunConfig.Sampling.CONSECUTIVE), V, true));
        net.init();
        net.setParams(net.params().add(0.02)); // the same (seeded) initialisation in every network, made non-trivial
        net.initGradientsView();
        return net;
    }
}
