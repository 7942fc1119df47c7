package textgen.model;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;
import textgen.TestModels;
import textgen.config.RunConfig;
import textgen.corpus.BatchSource;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Consecutive sampling must really carry the LSTM state across minibatches (stock DL4J TBPTT resets it per DataSet).
 * The test recomputes, outside training, what the second minibatch's loss must be if it starts from the state the
 * first minibatch ended in, and checks the trainer's loss equals it and differs from the zero-state loss.
 */
class CarriedStateNetworkTest {
    private static final int V = 6, H = 8, B = 3, T = 5;

    @Test
    void secondMinibatchStartsFromFirstMinibatchFinalState() {
        int[] ids = TestModels.randomIds(200, V, 3);
        BatchSource src = new BatchSource(ids, V, B, T, RunConfig.Sampling.CONSECUTIVE, 1);
        DataSet b0 = src.batch(0, 0), b1 = src.batch(0, 1);

        CarriedStateNetwork net = TestModels.net(V, 2, H, T);
        CarriedStateNetwork before = CarriedStateNetwork.from(net); // parameters P0

        net.fitCarryingState(b0);
        // State after minibatch 0 = final state of a forward pass over b0 with P0.
        before.rnnTimeStep(b0.getFeatures());
        Map<Integer, Map<String, INDArray>> carried = net.trainingState();
        for (int layer = 0; layer < 2; layer++) {
            Map<String, INDArray> expected = before.rnnGetPreviousState(layer);
            assertFalse(expected.isEmpty());
            for (var e : expected.entrySet()) {
                INDArray got = carried.get(layer).get(e.getKey());
                assertTrue(got.equalsWithEps(e.getValue(), 1e-5), "layer " + layer + " " + e.getKey());
            }
        }

        CarriedStateNetwork p1 = CarriedStateNetwork.from(net); // parameters P1, for the reference loss of minibatch 1
        double withState = referenceLoss(p1, b1, carried);
        double fromZero = referenceLoss(p1, b1, null);
        assertTrue(Math.abs(withState - fromZero) > 1e-4, "the test must be able to tell the two apart");

        net.fitCarryingState(b1);
        double trained = net.score(); // computed in the forward pass, before the update
        assertEquals(withState, trained, 1e-4 * Math.abs(withState), "minibatch 1 started from minibatch 0's final state");
    }

    @Test
    void plainFitStartsFromZeroState() {
        int[] ids = TestModels.randomIds(200, V, 4);
        BatchSource src = new BatchSource(ids, V, B, T, RunConfig.Sampling.CONSECUTIVE, 1);
        CarriedStateNetwork net = TestModels.net(V, 1, H, T);
        net.fit(src.batch(0, 0));
        CarriedStateNetwork p1 = CarriedStateNetwork.from(net);
        net.fit(src.batch(0, 1));
        assertEquals(referenceLoss(p1, src.batch(0, 1), null), net.score(), 1e-4 * net.score());
    }

    /** Summed-over-time, batch-averaged cross-entropy of {@code ds}, starting from {@code state} (null = zeros). */
    private static double referenceLoss(CarriedStateNetwork net, DataSet ds, Map<Integer, Map<String, INDArray>> state) {
        net.rnnClearPreviousState();
        if (state != null) state.forEach(net::rnnSetPreviousState);
        INDArray out = net.rnnTimeStep(ds.getFeatures());
        double nll = -Transforms.log(out, true).mul(ds.getLabels()).sumNumber().doubleValue();
        net.rnnClearPreviousState();
        return nll / ds.getFeatures().size(0);
    }

    @Test
    void fromCopiesUpdaterState() {
        CarriedStateNetwork net = TestModels.net(V, 1, H, T);
        net.fit(new BatchSource(TestModels.randomIds(100, V, 5), V, B, T, RunConfig.Sampling.RANDOM, 1).batch(0, 0));
        CarriedStateNetwork copy = CarriedStateNetwork.from(net);
        assertEquals(net.params(), copy.params());
        assertEquals(net.getUpdater().getStateViewArray(), copy.getUpdater().getStateViewArray());
        assertTrue(Nd4j.getExecutioner() != null);
    }

    @Test
    void resetRowsZeroesOnlyThoseStreamsInBothStateMaps() {
        int[] ids = TestModels.randomIds(200, V, 3);
        BatchSource src = new BatchSource(ids, V, B, T, RunConfig.Sampling.CONSECUTIVE, 1);
        CarriedStateNetwork net = TestModels.net(V, 2, H, T);
        net.fitCarryingState(src.batch(0, 0));
        Map<Integer, Map<String, INDArray>> before = net.trainingState();
        net.resetRows(new int[]{1});
        Map<Integer, Map<String, INDArray>> after = net.trainingState();
        for (int layer : before.keySet()) {
            for (String k : before.get(layer).keySet()) {
                INDArray b = before.get(layer).get(k), a = after.get(layer).get(k);
                assertEquals(0.0, a.getRow(1).norm1Number().doubleValue(), 0.0, "stream 1 restarts from zero");
                assertTrue(b.getRow(1).norm1Number().doubleValue() > 0);
                assertEquals(b.getRow(0), a.getRow(0), "other streams keep their state");
                assertEquals(b.getRow(2), a.getRow(2));
                assertEquals(a.getRow(1), net.rnnGetPreviousState(layer).get(k).getRow(1), "the map backprop re-runs from agrees");
            }
        }
    }
}
