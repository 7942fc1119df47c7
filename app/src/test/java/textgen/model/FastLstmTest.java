package textgen.model;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import textgen.TestModels;
import textgen.config.RunConfig;
import textgen.corpus.BatchSource;

import static org.junit.jupiter.api.Assertions.*;

/**
 * FastLstm must be DL4J's LSTM: with the same parameters it gives the same outputs, the same gradients and the same
 * training trajectory (carried state included) as the stock layer, which DL4J's own gradient checks cover.
 */
class FastLstmTest {
    private static final int V = 9, H = 12, B = 3, T = 7;

    private static CarriedStateNetwork pair(boolean fast) {
        CarriedStateNetwork net = new CarriedStateNetwork(NetworkFactory.configuration(TestModels.model(2, H),
                TestModels.training(B, T, RunConfig.Sampling.CONSECUTIVE), V, fast));
        net.init();
        return net;
    }

    private static void assertClose(INDArray expected, INDArray actual, double rel, String what) {
        double scale = Math.max(1e-3, expected.norm2Number().doubleValue());
        double diff = expected.sub(actual).norm2Number().doubleValue();
        assertTrue(diff / scale < rel, what + ": relative difference " + diff / scale);
    }

    @Test
    void sameLayersAndParameterLayoutAsStock() {
        CarriedStateNetwork stock = pair(false), fast = pair(true);
        assertInstanceOf(FastLstmLayer.class, fast.getLayer(0));
        assertFalse(stock.getLayer(0) instanceof FastLstmLayer);
        assertEquals(stock.numParams(), fast.numParams());
        assertEquals(stock.params(), fast.params(), "same seed, same initialisation");
        String portable = FastLstm.portable(fast.getLayerWiseConfigurations().toJson());
        assertFalse(portable.contains("FastLstm"));
        assertEquals(stock.getLayerWiseConfigurations(), org.deeplearning4j.nn.conf.MultiLayerConfiguration.fromJson(portable));
    }

    @Test
    void sameOutputsGradientsAndTrainingAsStock() {
        CarriedStateNetwork stock = pair(false), fast = pair(true);
        fast.setParams(stock.params().add(0.01)); // non-trivial, equal parameters
        stock.setParams(fast.params().dup());
        BatchSource src = new BatchSource(TestModels.randomIds(400, V, 11), V, B, T, RunConfig.Sampling.CONSECUTIVE, 1);
        DataSet ds = src.batch(0, 0);

        assertClose(stock.output(ds.getFeatures()), fast.output(ds.getFeatures()), 1e-5, "output");
        stock.rnnTimeStep(ds.getFeatures());
        fast.rnnTimeStep(ds.getFeatures());
        INDArray step = src.batch(0, 1).getFeatures().get(org.nd4j.linalg.indexing.NDArrayIndex.all(),
                org.nd4j.linalg.indexing.NDArrayIndex.all(), org.nd4j.linalg.indexing.NDArrayIndex.interval(0, 1));
        assertClose(stock.rnnTimeStep(step), fast.rnnTimeStep(step), 1e-5, "rnnTimeStep with stored state");

        stock.setInput(ds.getFeatures());
        stock.setLabels(ds.getLabels());
        fast.setInput(ds.getFeatures());
        fast.setLabels(ds.getLabels());
        stock.computeGradientAndScore();
        fast.computeGradientAndScore();
        assertEquals(stock.score(), fast.score(), 1e-4 * stock.score());
        assertClose(stock.gradient().gradient(), fast.gradient().gradient(), 1e-4, "gradient");

        // One training step from the zero state: the same update as the stock layer.
        stock.resetTrainingState();
        fast.resetTrainingState();
        stock.fitCarryingState(ds);
        fast.fitCarryingState(ds);
        assertEquals(stock.score(), fast.score(), 1e-4 * stock.score());
        assertClose(stock.params(), fast.params(), 1e-3, "parameters after one step");
    }

    /**
     * With a carried state, the gradient must be that of the loss computed from that state. Checked against central
     * finite differences. (DL4J M2.1's stock LSTM does not do this: in TBPTT its backward pass recomputes the LSTM
     * forward pass from a zero state, because computeGradientAndScore calls calcBackpropGradients with tbptt=false,
     * while the loss and the output layer's error come from the carried-state forward pass.)
     */
    @Test
    void carriedStateGradientMatchesFiniteDifferences() {
        CarriedStateNetwork fast = pair(true), stock = pair(false);
        BatchSource src = new BatchSource(TestModels.randomIds(400, V, 12), V, B, T, RunConfig.Sampling.CONSECUTIVE, 1);
        fast.fitCarryingState(src.batch(0, 0));
        stock.setParams(fast.params().dup());
        var carried = fast.trainingState();
        DataSet next = src.batch(0, 1);

        INDArray g = gradientFrom(fast, carried, next).div(B); // DL4J's gradient is summed over the minibatch
        INDArray params = fast.params().dup();
        int checked = 0;
        double eps = 1e-2;
        long[] order = org.nd4j.linalg.factory.Nd4j.sortWithIndices(abs(g), 1, false)[0].toLongVector();
        for (int n = 0; n < 20; n++) {
            long i = order[n];
            INDArray p = params.dup();
            p.putScalar(i, params.getDouble(i) + eps);
            double up = scoreFrom(fast, p, carried, next);
            p.putScalar(i, params.getDouble(i) - eps);
            double down = scoreFrom(fast, p, carried, next);
            double numeric = (up - down) / (2 * eps);
            assertEquals(numeric, g.getDouble(i), 0.02 * Math.abs(numeric) + 1e-3, "parameter " + i);
            checked++;
        }
        assertEquals(20, checked);

        // The stock layer, same parameters and state, gets a different (wrong) gradient.
        INDArray stockCarried = gradientFrom(stock, carried, next).div(B);
        assertTrue(g.sub(stockCarried).norm2Number().doubleValue() > 1e-2 * g.norm2Number().doubleValue(),
                "DL4J M2.1's stock LSTM mixes the carried-state forward pass with a zero-state backward pass");
    }

    private static INDArray abs(INDArray a) {
        return org.nd4j.linalg.ops.transforms.Transforms.abs(a.reshape(1, a.length()), true);
    }

    private static INDArray gradientFrom(CarriedStateNetwork net, java.util.Map<Integer, java.util.Map<String, INDArray>> state, DataSet ds) {
        if (state == null) net.resetTrainingState();
        else net.restoreTrainingState(state);
        net.setInput(ds.getFeatures());
        net.setLabels(ds.getLabels());
        net.computeGradientAndScore();
        return net.gradient().gradient().dup();
    }

    private static double scoreFrom(CarriedStateNetwork net, INDArray params, java.util.Map<Integer, java.util.Map<String, INDArray>> state, DataSet ds) {
        INDArray keep = net.params().dup();
        net.setParams(params);
        gradientFrom(net, state, ds);
        double s = net.score();
        net.setParams(keep);
        return s;
    }
}
