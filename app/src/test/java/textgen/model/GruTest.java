package textgen.model;

import org.deeplearning4j.gradientcheck.GradientCheckUtil;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.BackpropType;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.layers.RnnOutputLayer;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.junit.jupiter.api.Test;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.buffer.util.DataTypeUtil;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.learning.config.NoOp;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.nd4j.linalg.ops.transforms.Transforms;
import textgen.TestModels;
import textgen.config.RunConfig;

import java.util.Collection;
import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/**
 * model.cell: gru. The layer is PyTorch's GRU (checked against the equations written out in plain Java), its
 * gradients pass DL4J's GradientCheckUtil in double precision (and a deliberately wrong gradient fails it), the
 * gradient under a carried state matches central differences, and its state behaves as a recurrent layer's must:
 * one step at a time equals the whole sequence, two calls equal one long one, training carries it across minibatches.
 */
class GruTest {
    private static final int V = 5, H = 4, B = 3, T = 6;

    private static RunConfig.ModelConfig gru(int layers, int hidden) {
        return RunConfig.defaults().with("model.cell", "gru").with("model.layers", layers).with("model.hiddenSize", hidden).model();
    }

    /** One-hot [B, V, T] of the given ids [B][T]. */
    private static INDArray oneHot(int[][] ids, int vocab, DataType type) {
        INDArray a = Nd4j.zeros(type, ids.length, vocab, ids[0].length);
        for (int b = 0; b < ids.length; b++) for (int t = 0; t < ids[b].length; t++) a.putScalar(new long[]{b, ids[b][t], t}, 1.0);
        return a;
    }

    private static int[][] ids(int rows, int steps, int vocab, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int[][] ids = new int[rows][steps];
        for (int[] row : ids) for (int t = 0; t < steps; t++) row[t] = r.nextInt(vocab);
        return ids;
    }

    /** Inputs and next-token labels from one id sequence per row, one-hot. */
    private static DataSet data(int rows, int steps, int vocab, long seed, DataType type) {
        int[][] all = ids(rows, steps + 1, vocab, seed), in = new int[rows][steps], out = new int[rows][steps];
        for (int b = 0; b < rows; b++) {
            System.arraycopy(all[b], 0, in[b], 0, steps);
            System.arraycopy(all[b], 1, out[b], 0, steps);
        }
        return new DataSet(oneHot(in, vocab, type), oneHot(out, vocab, type));
    }

    /** layers x GRU(hidden) + softmax output, DOUBLE, no updater: what a gradient check needs. */
    private static MultiLayerConfiguration doubleConf(int layers, int hidden, boolean tbptt, GRU.Builder... custom) {
        var list = new NeuralNetConfiguration.Builder().seed(7).dataType(DataType.DOUBLE).updater(new NoOp()).list();
        int in = V;
        for (int i = 0; i < layers; i++) {
            GRU.Builder b = i < custom.length ? custom[i] : new GRU.Builder();
            list.layer(b.nIn(in).nOut(hidden).activation(Activation.TANH).dataFormat(RNNFormat.NCW).build());
            in = hidden;
        }
        list.layer(new RnnOutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(in).nOut(V).activation(Activation.SOFTMAX)
                .dataFormat(RNNFormat.NCW).build());
        if (tbptt) list.backpropType(BackpropType.TruncatedBPTT).tBPTTForwardLength(T).tBPTTBackwardLength(T);
        return list.build();
    }

    /** DL4J's own settings for its recurrent layers' checks: central differences with step 1e-6, 0.1% relative error. */
    private static boolean gradientCheck(MultiLayerNetwork net, DataSet ds) {
        DataType before = Nd4j.dataType();
        DataTypeUtil.setDTypeForContext(DataType.DOUBLE);
        try {
            return GradientCheckUtil.checkGradients(new GradientCheckUtil.MLNConfig().net(net).input(ds.getFeatures()).labels(ds.getLabels())
                    .epsilon(1e-6).maxRelError(1e-3).minAbsoluteError(1e-8).print(GradientCheckUtil.PrintMode.FAILURES_ONLY));
        } finally {
            DataTypeUtil.setDTypeForContext(before);
        }
    }

    @Test
    void parametersAreTorchsLayoutCountAndInitialisation() {
        CarriedStateNetwork net = NetworkFactory.create(gru(2, 16), TestModels.training(B, T, RunConfig.Sampling.CONSECUTIVE), 10);
        assertInstanceOf(GruLayer.class, net.getLayer(0));
        assertInstanceOf(GruLayer.class, net.getLayer(1));
        assertEquals(3 * (10 * 16 + 16 * 16 + 2 * 16), net.getLayer(0).numParams(), "3 (I H + H H + 2 H), as torch.nn.GRU");
        assertEquals(3 * (16 * 16 + 16 * 16 + 2 * 16), net.getLayer(1).numParams());
        Map<String, INDArray> p = net.getLayer(0).paramTable();
        assertArrayEquals(new long[]{10, 48}, p.get("W").shape());
        assertArrayEquals(new long[]{16, 48}, p.get("RW").shape());
        assertArrayEquals(new long[]{1, 48}, p.get("b").shape());
        assertArrayEquals(new long[]{1, 48}, p.get("rb").shape());
        INDArray all = net.getLayer(0).params();
        double k = 1 / Math.sqrt(16);
        assertTrue(all.amaxNumber().doubleValue() <= k && all.amaxNumber().doubleValue() > 0.9 * k, "uniform in +-1/sqrt(H)");
        assertTrue(Math.abs(all.meanNumber().doubleValue()) < 0.1 * k);
        assertTrue(p.get("b").amaxNumber().doubleValue() > 0, "biases drawn too, as torch");
        // the views are the network's parameters
        p.get("rb").putScalar(0, 5, 0.5);
        assertEquals(0.5, net.getLayer(0).params().getDouble(10 * 48 + 16 * 48 + 48 + 5), 0.0);
        assertEquals("2 x GRU(16)", gru(2, 16).describe());
    }

    /** model.dropout drops the input of every layer after the first recurrent one (char-rnn's placement), as for the LSTM. */
    @Test
    void dropoutGoesOnTheInputsOfTheLaterLayers() {
        RunConfig.ModelConfig model = RunConfig.defaults().with("model.cell", "gru").with("model.layers", 3).with("model.hiddenSize", 8)
                .with("model.dropout", 0.25).model();
        MultiLayerConfiguration conf = NetworkFactory.configuration(model, TestModels.training(B, T, RunConfig.Sampling.CONSECUTIVE), V, true);
        assertNull(conf.getConf(0).getLayer().getIDropout());
        for (int i = 1; i < 4; i++) {
            var d = (org.deeplearning4j.nn.conf.dropout.Dropout) conf.getConf(i).getLayer().getIDropout();
            assertEquals(0.75, d.getP(), 0.0, "layer " + i + ": DL4J's p is the probability of keeping a unit");
        }
    }

    /** The output of a one-layer network against torch.nn.GRU's equations in plain Java, from a non-zero state. */
    @Test
    void isPyTorchsFormulation() {
        MultiLayerNetwork net = new MultiLayerNetwork(doubleConf(1, H, false));
        net.init();
        net.setParams(net.params().add(0.1)); // no zero biases
        Map<String, INDArray> p = net.getLayer(0).paramTable();
        double[][] w = p.get("W").toDoubleMatrix(), rw = p.get("RW").toDoubleMatrix();
        double[] bi = p.get("b").toDoubleVector(), bh = p.get("rb").toDoubleVector();
        INDArray x = Nd4j.rand(DataType.DOUBLE, B, V, T).subi(0.5);
        INDArray h0 = Nd4j.rand(DataType.DOUBLE, B, H).subi(0.5);
        net.rnnSetPreviousState(0, Map.of(GruLayer.STATE_KEY_PREV_ACTIVATION, h0.dup()));
        INDArray got = ((GruLayer) net.getLayer(0)).rnnTimeStep(x, LayerWorkspaceMgr.noWorkspaces());
        for (int b = 0; b < B; b++) {
            double[] h = h0.getRow(b).toDoubleVector();
            for (int t = 0; t < T; t++) {
                double[] next = new double[H];
                for (int j = 0; j < H; j++) {
                    double[] gi = new double[3], gh = new double[3]; // r, z, n: W_i x + b_i and W_h h + b_h
                    for (int g = 0; g < 3; g++) {
                        gi[g] = bi[g * H + j];
                        gh[g] = bh[g * H + j];
                        for (int i = 0; i < V; i++) gi[g] += w[i][g * H + j] * x.getDouble(b, i, t);
                        for (int i = 0; i < H; i++) gh[g] += rw[i][g * H + j] * h[i];
                    }
                    double r = 1 / (1 + Math.exp(-(gi[0] + gh[0]))), z = 1 / (1 + Math.exp(-(gi[1] + gh[1])));
                    double n = Math.tanh(gi[2] + r * gh[2]);
                    next[j] = (1 - z) * n + z * h[j];
                }
                h = next;
                for (int j = 0; j < H; j++) assertEquals(h[j], got.getDouble(b, j, t), 1e-12, "b" + b + " t" + t + " j" + j);
            }
        }
    }

    @Test
    void passesDl4jGradientCheck() {
        MultiLayerNetwork net = new MultiLayerNetwork(doubleConf(2, H, false));
        net.init();
        DataSet ds = data(B, T, V, 1, DataType.DOUBLE);
        ds.setFeatures(ds.getFeatures().add(Nd4j.rand(DataType.DOUBLE, B, V, T).muli(0.3))); // not only one-hot: every input weight counts
        assertTrue(gradientCheck(net, ds), "GradientCheckUtil failed (see the log for the parameters)");
    }

    /** What NetworkFactory builds (embedding, the fast output layer, dropout off), as the other cells' tests check it. */
    @Test
    void passesDl4jGradientCheckWithEmbeddingAndTheFastOutputLayer() {
        RunConfig.ModelConfig model = RunConfig.defaults().with("model.cell", "gru").with("model.input", "embedding")
                .with("model.embeddingSize", 5).with("model.layers", 2).with("model.hiddenSize", 6).model();
        MultiLayerNetwork net = GradientChecks.plainDouble(NetworkFactory.configuration(model, TestModels.training(3, 7, RunConfig.Sampling.CONSECUTIVE), 8, true), 4);
        assertInstanceOf(GruLayer.class, net.getLayer(1));
        assertInstanceOf(FastRnnOutputLayer.class, net.getLayer(3));
        int[][] all = ids(3, 8, 8, 9);
        INDArray features = Nd4j.zeros(DataType.DOUBLE, 3, 1, 7);
        int[][] next = new int[3][7];
        for (int b = 0; b < 3; b++) {
            for (int t = 0; t < 7; t++) {
                features.putScalar(new long[]{b, 0, t}, all[b][t]);
                next[b][t] = all[b][t + 1];
            }
        }
        assertTrue(GradientChecks.pass(net, new DataSet(features, oneHot(next, 8, DataType.DOUBLE))), "GradientCheckUtil failed (see the log)");
    }

    /** A GRU whose backprop returns one wrong gradient value: the same check must catch it. */
    static final class Miscalculated extends GRU {
        @Override
        public Layer instantiate(NeuralNetConfiguration conf, Collection<TrainingListener> listeners, int layerIndex,
                                 INDArray layerParamsView, boolean initializeParams, DataType networkDataType) {
            GruLayer layer = new GruLayer(conf, networkDataType) {
                @Override
                public Pair<Gradient, INDArray> backpropGradient(INDArray epsilon, LayerWorkspaceMgr workspaceMgr) {
                    Pair<Gradient, INDArray> p = super.backpropGradient(epsilon, workspaceMgr);
                    INDArray rw = p.getFirst().gradientForVariable().get(GruParamInitializer.RECURRENT_WEIGHT_KEY);
                    long bi = 0, bj = 0;
                    for (long i = 0; i < rw.rows(); i++) for (long j = 0; j < rw.columns(); j++)
                        if (Math.abs(rw.getDouble(i, j)) > Math.abs(rw.getDouble(bi, bj))) { bi = i; bj = j; }
                    rw.putScalar(bi, bj, rw.getDouble(bi, bj) * 1.01); // 1% off, on its largest entry
                    return p;
                }
            };
            return FastLstm.wire(layer, conf, listeners, layerIndex, layerParamsView, initializer().init(conf, layerParamsView, initializeParams));
        }

        static final class Builder extends GRU.Builder {
            @Override
            @SuppressWarnings("unchecked")
            public GRU build() {
                Miscalculated m = new Miscalculated();
                GRU built = super.build();
                return FastLstm.copyFields(GRU.class, built, m);
            }
        }
    }

    @Test
    void aWrongGradientFailsTheCheck() {
        DataSet ds = data(B, T, V, 2, DataType.DOUBLE);
        MultiLayerNetwork right = new MultiLayerNetwork(doubleConf(2, H, false));
        right.init();
        assertTrue(gradientCheck(right, ds));
        MultiLayerNetwork wrong = new MultiLayerNetwork(doubleConf(2, H, false, new GRU.Builder(), new Miscalculated.Builder()));
        wrong.init();
        wrong.setParams(right.params());
        assertInstanceOf(Miscalculated.class, wrong.getLayerWiseConfigurations().getConf(1).getLayer());
        assertFalse(gradientCheck(wrong, ds), "a 1% error in one recurrent-weight gradient of layer 1 must fail the check");
    }

    /**
     * Under a carried state (consecutive sampling) the gradient is that of the loss starting from that state: every
     * fifth parameter against central differences, in double precision. The zero-state gradient differs, so the check can
     * tell.
     */
    @Test
    void carriedStateGradientMatchesFiniteDifferences() {
        CarriedStateNetwork net = new CarriedStateNetwork(doubleConf(2, H, true));
        net.init();
        net.setParams(net.params().add(0.05));
        DataSet ds = data(B, T, V, 3, DataType.DOUBLE);
        Map<Integer, Map<String, INDArray>> state = new HashMap<>();
        for (int l = 0; l < 2; l++) state.put(l, Map.of(GruLayer.STATE_KEY_PREV_ACTIVATION, Nd4j.rand(DataType.DOUBLE, B, H).subi(0.5).muli(1.6)));
        INDArray g = CarriedGradients.gradientFrom(net, state, ds).div(B); // DL4J sums the gradient over the minibatch, the score is the mean
        INDArray zero = CarriedGradients.gradientFrom(net, null, ds);
        assertTrue(g.sub(zero).norm2Number().doubleValue() > 1e-2 * g.norm2Number().doubleValue(), "the carried state matters");
        INDArray params = net.params().dup();
        double eps = 1e-6;
        for (long i = 0; i < params.length(); i += 5) { // a fifth of them, spread over every parameter array (a full pass took 70 s here)
            INDArray p = params.dup();
            p.putScalar(i, params.getDouble(i) + eps);
            double up = CarriedGradients.scoreFrom(net, p, state, ds);
            p.putScalar(i, params.getDouble(i) - eps);
            double down = CarriedGradients.scoreFrom(net, p, state, ds);
            double numeric = (up - down) / (2 * eps);
            assertEquals(numeric, g.getDouble(i), 1e-5 * Math.abs(numeric) + 1e-7, "parameter " + i);
        }
        net.setParams(params);
    }

    @Test
    void oneStepAtATimeAndTwoCallsEqualTheWholeSequence() {
        for (boolean embedding : new boolean[]{false, true}) {
            RunConfig.ModelConfig model = gru(2, 8);
            if (embedding) model = RunConfig.defaults().with("model.cell", "gru").with("model.layers", 2).with("model.hiddenSize", 8)
                    .with("model.input", "embedding").with("model.embeddingSize", 4).model();
            CarriedStateNetwork net = NetworkFactory.create(model, TestModels.training(2, 10, RunConfig.Sampling.CONSECUTIVE), V);
            int[][] ids = ids(2, 10, V, 4);
            INDArray x;
            if (embedding) {
                x = Nd4j.zeros(DataType.FLOAT, 2, 1, 10);
                for (int b = 0; b < 2; b++) for (int t = 0; t < 10; t++) x.putScalar(new long[]{b, 0, t}, ids[b][t]);
            } else {
                x = oneHot(ids, V, DataType.FLOAT);
            }
            INDArray whole = net.output(x);
            net.rnnClearPreviousState();
            for (int t = 0; t < 10; t++) {
                INDArray out = net.rnnTimeStep(x.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.interval(t, t + 1)));
                INDArray expected = whole.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.interval(t, t + 1));
                assertTrue(expected.equalsWithEps(out.reshape(expected.shape()), 1e-6), "step " + t + (embedding ? " (embedding)" : ""));
            }
            net.rnnClearPreviousState();
            INDArray first = net.rnnTimeStep(x.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.interval(0, 4)));
            INDArray second = net.rnnTimeStep(x.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.interval(4, 10)));
            assertTrue(whole.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.interval(0, 4)).equalsWithEps(first, 1e-6));
            assertTrue(whole.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.interval(4, 10)).equalsWithEps(second, 1e-6),
                    "the second call continues from the state the first ended in");
            net.rnnClearPreviousState();
            // Predictor (sampling, perplexity): its own kernels on the CPU, rnnTimeStep elsewhere
            Predictor p = Predictor.of(net);
            p.reset();
            float[] probs = p.feed(ids, 0, 10);
            p.reset();
            for (int b = 0; b < 2; b++) for (int t = 0; t < 10; t++) for (int v = 0; v < V; v++)
                assertEquals(whole.getFloat(b, v, t), probs[(b * 10 + t) * V + v], 2e-6);
        }
    }

    /**
     * Consecutive sampling: the second minibatch's training loss is the loss from the state the first minibatch ended
     * in (the forward pass of the first with the parameters before its step), not from zeros.
     */
    @Test
    void trainingCarriesTheStateAcrossMinibatches() {
        int steps = 5;
        CarriedStateNetwork net = NetworkFactory.create(gru(2, 8), TestModels.training(B, steps, RunConfig.Sampling.CONSECUTIVE), V);
        int[][] ids = ids(B, 2 * steps + 1, V, 5);
        int[][] in0 = new int[B][steps], out0 = new int[B][steps], in1 = new int[B][steps], out1 = new int[B][steps];
        for (int b = 0; b < B; b++) {
            System.arraycopy(ids[b], 0, in0[b], 0, steps);
            System.arraycopy(ids[b], 1, out0[b], 0, steps);
            System.arraycopy(ids[b], steps, in1[b], 0, steps);
            System.arraycopy(ids[b], steps + 1, out1[b], 0, steps);
        }
        DataSet b0 = new DataSet(oneHot(in0, V, DataType.FLOAT), oneHot(out0, V, DataType.FLOAT));
        DataSet b1 = new DataSet(oneHot(in1, V, DataType.FLOAT), oneHot(out1, V, DataType.FLOAT));
        CarriedStateNetwork before = CarriedStateNetwork.from(net);
        net.fitCarryingState(b0);
        before.rnnTimeStep(b0.getFeatures());
        Map<Integer, Map<String, INDArray>> carried = net.trainingState();
        for (int l = 0; l < 2; l++) {
            INDArray expected = before.rnnGetPreviousState(l).get(GruLayer.STATE_KEY_PREV_ACTIVATION);
            assertTrue(expected.equalsWithEps(carried.get(l).get(GruLayer.STATE_KEY_PREV_ACTIVATION), 1e-6), "layer " + l);
        }
        CarriedStateNetwork p1 = CarriedStateNetwork.from(net);
        double withState = loss(p1, b1, carried), fromZero = loss(p1, b1, null);
        assertTrue(Math.abs(withState - fromZero) > 1e-4, "the test must tell the two apart");
        net.fitCarryingState(b1);
        assertEquals(withState, net.score(), 1e-5 * withState);
    }

    private static double loss(CarriedStateNetwork net, DataSet ds, Map<Integer, Map<String, INDArray>> state) {
        net.rnnClearPreviousState();
        if (state != null) state.forEach(net::rnnSetPreviousState);
        INDArray out = net.rnnTimeStep(ds.getFeatures());
        net.rnnClearPreviousState();
        return -Transforms.log(out, true).mul(ds.getLabels()).sumNumber().doubleValue() / ds.getFeatures().size(0);
    }

    /** Backprop from the kept training pass equals backprop that recomputes the pass (no training pass on this input). */
    @Test
    void keptAndRecomputedForwardPassesGiveTheSameGradients() {
        MultiLayerNetwork net = new MultiLayerNetwork(doubleConf(1, H, false));
        net.init();
        net.initGradientsView();
        GruLayer layer = (GruLayer) net.getLayer(0);
        INDArray x = Nd4j.rand(DataType.DOUBLE, B, V, T), eps = Nd4j.rand(DataType.DOUBLE, B, H, T).subi(0.5);
        LayerWorkspaceMgr mgr = LayerWorkspaceMgr.noWorkspaces();
        INDArray out = layer.activate(x, true, mgr).dup();
        Pair<Gradient, INDArray> kept = layer.backpropGradient(eps, mgr);
        INDArray keptGradient = layer.getGradientsViewArray().dup(), keptEps = kept.getSecond().dup();
        layer.setInput(x.dup(), mgr); // another array: nothing kept for it
        Pair<Gradient, INDArray> recomputed = layer.backpropGradient(eps, mgr);
        assertEquals(keptGradient, layer.getGradientsViewArray());
        assertEquals(keptEps, recomputed.getSecond());
        assertTrue(keptGradient.norm2Number().doubleValue() > 0);
        assertEquals(out, layer.activate(x, false, mgr), "training and inference passes agree");
    }

    @Test
    void configurationRoundTripsThroughJson() {
        MultiLayerConfiguration conf = NetworkFactory.configuration(gru(2, 8), TestModels.training(B, T, RunConfig.Sampling.CONSECUTIVE), V, true);
        String json = conf.toJson();
        MultiLayerConfiguration back = MultiLayerConfiguration.fromJson(json);
        assertEquals(conf, back);
        String stored = FastLstm.portable(json); // what a checkpoint holds
        assertTrue(stored.contains("\"textgen.model.GRU\"") && !stored.contains("FastGru"), "stored under textgen's class name, on every backend");
        for (boolean fast : new boolean[]{false, true}) {
            var layer = NetworkFactory.withTextgenLayers(MultiLayerConfiguration.fromJson(stored), fast).getConf(0).getLayer();
            assertEquals(fast ? FastGru.class : GRU.class, layer.getClass(), "the CPU kernel where the fast layers run");
            layer = NetworkFactory.withTextgenLayers(conf, fast).getConf(0).getLayer();
            assertEquals(fast ? FastGru.class : GRU.class, layer.getClass(), "either way round");
        }
    }
}
