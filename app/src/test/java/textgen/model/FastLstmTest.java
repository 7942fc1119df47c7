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
        assertInstanceOf(FastRnnOutputLayer.class, fast.getLayer(2));
        assertFalse(stock.getLayer(2) instanceof FastRnnOutputLayer);
        assertEquals(stock.numParams(), fast.numParams());
        assertEquals(stock.params(), fast.params(), "same seed, same initialisation");
        String portable = FastLstm.portable(fast.getLayerWiseConfigurations().toJson());
        assertFalse(portable.contains("FastLstm") || portable.contains("FastRnnOutput"), portable);
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

    /**
     * The fast output layer against the stock one on the same input, labels and parameters: same score, same
     * gradients, same epsilon; and it really took its own path (the epsilon comes back time-major, which the stock
     * layer's never is), reading input and labels in either layout.
     */
    @Test
    void outputLayerMatchesStockAndReturnsTimeMajorEpsilon() {
        CarriedStateNetwork stock = pair(false), fast = pair(true);
        fast.setParams(stock.params().add(0.02));
        stock.setParams(fast.params().dup());
        stock.initGradientsView();
        fast.initGradientsView();
        var mgr = org.deeplearning4j.nn.workspace.LayerWorkspaceMgr.noWorkspaces();
        DataSet ds = new BatchSource(TestModels.randomIds(400, V, 17), V, B, T, RunConfig.Sampling.CONSECUTIVE, 1).batch(0, 0);
        INDArray in = org.nd4j.linalg.factory.Nd4j.rand(org.nd4j.linalg.api.buffer.DataType.FLOAT, B, H, T).subi(0.5);
        for (INDArray input : new INDArray[]{in, in.permute(2, 0, 1).dup('c').permute(1, 2, 0)}) {
            for (INDArray labels : new INDArray[]{ds.getLabels(), ds.getLabels().dup('c')}) {
                var s = (org.deeplearning4j.nn.layers.recurrent.RnnOutputLayer) stock.getLayer(2);
                var f = (FastRnnOutputLayer) fast.getLayer(2);
                s.setInput(input, mgr);
                s.setLabels(labels);
                f.setInput(input, mgr);
                f.setLabels(labels);
                var gs = s.backpropGradient(null, mgr);
                var gf = f.backpropGradient(null, mgr);
                assertEquals(s.computeScore(0, true, mgr), f.computeScore(0, true, mgr), 1e-5);
                assertClose(gs.getFirst().getGradientFor("W"), gf.getFirst().getGradientFor("W"), 1e-5, "dW");
                assertClose(gs.getFirst().getGradientFor("b"), gf.getFirst().getGradientFor("b"), 1e-5, "db");
                assertClose(gs.getSecond(), gf.getSecond(), 1e-5, "epsilon");
                assertTrue(NdCopy.rowMajorDense(gf.getSecond().permute(2, 0, 1)), "fast path: time-major epsilon");
                assertFalse(NdCopy.rowMajorDense(gs.getSecond().permute(2, 0, 1)));
            }
        }
    }

    /** Time-major reads and writes: views with offsets, other layouts and DOUBLE arrays read the same elements. */
    @Test
    void timeMajorCopiesKeepEveryElement() {
        INDArray tbf = org.nd4j.linalg.factory.Nd4j.rand(org.nd4j.linalg.api.buffer.DataType.FLOAT, 6, B, 4);
        INDArray ncw = tbf.permute(1, 2, 0); // [B, 4, 6], time-major memory
        INDArray window = ncw.get(org.nd4j.linalg.indexing.NDArrayIndex.all(), org.nd4j.linalg.indexing.NDArrayIndex.all(),
                org.nd4j.linalg.indexing.NDArrayIndex.interval(2, 5)); // a view with an offset
        for (INDArray a : new INDArray[]{ncw, window, ncw.dup('c'), ncw.dup('f'), window.dup('c'), ncw.castTo(org.nd4j.linalg.api.buffer.DataType.DOUBLE)}) {
            int b = (int) a.size(0), f = (int) a.size(1), t = (int) a.size(2);
            java.nio.FloatBuffer rows = NdCopy.timeMajor(a);
            for (int s = 0; s < t; s++) {
                for (int r = 0; r < b; r++) {
                    for (int k = 0; k < f; k++) assertEquals(a.getFloat(r, k, s), rows.get((s * b + r) * f + k), 0f);
                }
            }
            var mgr = org.deeplearning4j.nn.workspace.LayerWorkspaceMgr.noWorkspaces();
            for (var type : new org.nd4j.linalg.api.buffer.DataType[]{org.nd4j.linalg.api.buffer.DataType.FLOAT, org.nd4j.linalg.api.buffer.DataType.DOUBLE}) {
                INDArray back = NdCopy.timeMajorArray(rows, b, f, t, type, org.deeplearning4j.nn.workspace.ArrayType.ACTIVATIONS, mgr);
                assertEquals(a.castTo(type), back);
            }
        }
    }

    /**
     * DL4J's own gradient check (GradientCheckUtil) on a network of fast layers: every parameter's gradient against
     * central differences of the loss. GradientCheckUtil needs a DOUBLE network; the layer then still computes in
     * float (its kernel is single precision), so the step is 1e-2 rather than 1e-6 and the tolerance 1% with errors
     * below 1e-4 ignored (float rounding in the loss, about 1e-6, over the step). The gradient under a carried state
     * is checked by {@link #carriedStateGradientMatchesFiniteDifferences}.
     */
    @Test
    void passesDl4jGradientCheck() {
        var list = new org.deeplearning4j.nn.conf.NeuralNetConfiguration.Builder()
                .seed(5).dataType(org.nd4j.linalg.api.buffer.DataType.DOUBLE)
                .updater(new org.nd4j.linalg.learning.config.NoOp())
                .weightInit(org.deeplearning4j.nn.weights.WeightInit.XAVIER).list();
        int in = V;
        for (int i = 0; i < 2; i++) {
            list.layer(FastLstm.of(new org.deeplearning4j.nn.conf.layers.LSTM.Builder().nIn(in).nOut(H)
                    .activation(org.nd4j.linalg.activations.Activation.TANH)
                    .gateActivationFunction(org.nd4j.linalg.activations.Activation.SIGMOID).forgetGateBiasInit(1.0)
                    .dataFormat(org.deeplearning4j.nn.conf.RNNFormat.NCW).build()));
            in = H;
        }
        list.layer(FastRnnOutput.of(new org.deeplearning4j.nn.conf.layers.RnnOutputLayer.Builder(org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction.MCXENT)
                .nIn(H).nOut(V).activation(org.nd4j.linalg.activations.Activation.SOFTMAX)
                .dataFormat(org.deeplearning4j.nn.conf.RNNFormat.NCW).build()));
        org.deeplearning4j.nn.multilayer.MultiLayerNetwork net = new org.deeplearning4j.nn.multilayer.MultiLayerNetwork(list.build());
        net.init();
        net.setParams(net.params().add(0.05)); // non-zero biases everywhere
        assertInstanceOf(FastLstmLayer.class, net.getLayer(0), "DOUBLE networks run the fast layer too");
        assertInstanceOf(FastLstmLayer.class, net.getLayer(1));
        assertInstanceOf(FastRnnOutputLayer.class, net.getLayer(2));
        DataSet ds = new BatchSource(TestModels.randomIds(400, V, 13), V, B, T, RunConfig.Sampling.CONSECUTIVE, 1).batch(0, 0);
        assertTrue(GradientChecks.pass(net, ds), "GradientCheckUtil failed (see the log for the parameters)");
    }

    /**
     * Same seed, same data: the fast layer's training loss follows the stock layer's step for step. Every minibatch
     * starts from a zero state (random windows), where DL4J's stock gradient is right (see
     * {@link #carriedStateGradientMatchesFiniteDifferences}). The text is number words, which a 2 x 32 model learns
     * quickly, so the curve really falls. Measured: 3.10 -> 0.82 nats/char in 80 steps on both, largest per-step
     * difference 0.0002% of the loss.
     */
    @Test
    void lossCurveMatchesStockLstm() {
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < 3000; i++) text.append(textgen.corpus.NumberWordsTask.words(i * 7919 % 10000)).append('\n');
        int[] ids = text.chars().toArray();
        int[] vocabIds = java.util.stream.IntStream.of(ids).distinct().sorted().toArray();
        int[] index = new int[128];
        for (int i = 0; i < vocabIds.length; i++) index[vocabIds[i]] = i;
        for (int i = 0; i < ids.length; i++) ids[i] = index[ids[i]];
        int v = vocabIds.length, steps = 80;
        double[][] curves = new double[2][steps];
        for (int impl = 0; impl < 2; impl++) {
            CarriedStateNetwork net = new CarriedStateNetwork(NetworkFactory.configuration(TestModels.model(2, 32),
                    TestModels.training(16, 25, RunConfig.Sampling.RANDOM), v, impl == 1));
            net.init();
            BatchSource src = new BatchSource(ids, v, 16, 25, RunConfig.Sampling.RANDOM, 3);
            for (int k = 0; k < steps; k++) {
                net.resetTrainingState();
                net.fitCarryingState(src.batch(0, k));
                curves[impl][k] = net.score();
            }
        }
        double worst = 0;
        for (int k = 0; k < steps; k++) worst = Math.max(worst, Math.abs(curves[1][k] - curves[0][k]) / curves[0][k]);
        assertTrue(worst < 0.01, "largest relative difference between the loss curves " + worst
                + "\nstock " + java.util.Arrays.toString(curves[0]) + "\nfast  " + java.util.Arrays.toString(curves[1]));
        assertTrue(curves[0][steps - 1] < 0.75 * curves[0][0], "the model must learn: " + curves[0][0] + " -> " + curves[0][steps - 1]);
        System.out.printf("loss curves: stock %.4f -> %.4f, fast %.4f -> %.4f, largest step difference %.4f%%%n",
                curves[0][0], curves[0][steps - 1], curves[1][0], curves[1][steps - 1], 100 * worst);
    }
}
