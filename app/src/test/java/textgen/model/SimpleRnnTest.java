package textgen.model;

import org.deeplearning4j.nn.conf.BackpropType;
import org.deeplearning4j.nn.conf.GradientNormalization;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.recurrent.SimpleRnn;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.activations.impl.ActivationReLU;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.NoOp;
import textgen.TestModels;
import textgen.config.RunConfig;
import textgen.corpus.BatchSource;
import textgen.tensor.TokenTensors;

import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/** model.cell: simple builds DL4J's SimpleRnn (identity recurrent weights for relu), and it trains beside the fast output layer. */
class SimpleRnnTest {
    private static RunConfig.ModelConfig simple(String activation) {
        return RunConfig.defaults().with("model.cell", "simple").with("model.activation", activation).with("model.layers", 2)
                .with("model.hiddenSize", 16).model();
    }

    @Test
    void tanhStartsRandomReluStartsAtTheIdentity() {
        CarriedStateNetwork tanh = NetworkFactory.create(simple("tanh"), TestModels.training(4, 10, RunConfig.Sampling.CONSECUTIVE), 9);
        assertNotEquals(Nd4j.eye(16).castTo(tanh.params().dataType()), tanh.getLayer(1).getParam("RW"));
        assertTrue(tanh.getLayer(1).getParam("RW").norm2Number().doubleValue() > 0);
    }

    @Test
    void identityRecurrentWeightsAndTheChosenActivation() {
        CarriedStateNetwork net = NetworkFactory.create(simple("relu"), TestModels.training(4, 10, RunConfig.Sampling.CONSECUTIVE), 9);
        for (int i = 0; i < 2; i++) {
            SimpleRnn conf = (SimpleRnn) net.getLayer(i).conf().getLayer();
            assertInstanceOf(ActivationReLU.class, conf.getActivationFn());
            assertEquals(Nd4j.eye(16).castTo(net.params().dataType()), net.getLayer(i).getParam("RW"), "recurrent weights start as the identity");
            assertInstanceOf(CarriedSimpleRnnLayer.class, net.getLayer(i), "textgen's implementation of DL4J's SimpleRnn");
        }
        assertInstanceOf(FastRnnOutputLayer.class, net.getLayer(2));
    }

    @Test
    void passesDl4jGradientCheckWithTheFastOutputLayer() {
        MultiLayerNetwork net = GradientChecks.plainDouble(NetworkFactory.configuration(simple("tanh"), TestModels.training(3, 7, RunConfig.Sampling.CONSECUTIVE), 9, true), 3);
        assertInstanceOf(FastRnnOutputLayer.class, net.getLayer(2));
        DataSet ds = new BatchSource(TestModels.randomIds(300, 9, 5), 9, 3, 7, RunConfig.Sampling.CONSECUTIVE, 1).batch(0, 0);
        assertTrue(GradientChecks.pass(net, ds), "GradientCheckUtil failed (see the log for the parameters)");
    }

    @Test
    void predictorFallsBackToDl4jAndMatchesOutput() {
        CarriedStateNetwork net = NetworkFactory.create(simple("tanh"), TestModels.training(2, 5, RunConfig.Sampling.CONSECUTIVE), 9);
        int[][] ids = {{1, 2, 3, 4, 5}, {5, 4, 3, 2, 1}};
        INDArray expected = net.output(TokenTensors.oneHot(ids, 0, 5, 9)); // [2, 9, 5]
        Predictor p = Predictor.of(net);
        p.reset();
        float[] got = p.feed(ids, 0, 5);
        p.reset();
        for (int s = 0; s < 2; s++) {
            for (int t = 0; t < 5; t++) {
                for (int v = 0; v < 9; v++) assertEquals(expected.getFloat(s, v, t), got[(s * 5 + t) * 9 + v], 2e-6);
            }
        }
    }

    private static final int V = 5, H = 4, B = 3, T = 6;

    /**
     * Under a carried state (consecutive sampling) the gradient must be that of the loss the forward pass computed,
     * which starts from that state: every parameter against central differences, in double precision, for tanh and
     * for relu (IRNN: identity recurrent weights), one-hot and embedding input. DL4J M2.1's own SimpleRnn fails this
     * (its backprop re-runs the forward pass from a zero state; max relative error 1.0).
     */
    @ParameterizedTest(name = "{0}, embedding {1}")
    @CsvSource({"tanh, false", "relu, false", "tanh, true", "relu, true"})
    void carriedStateGradientMatchesFiniteDifferences(String activation, boolean embedding) {
        CarriedStateNetwork net = doubleNet(activation, embedding);
        DataSet ds = data(embedding, 11);
        Map<Integer, Map<String, INDArray>> state = new HashMap<>();
        int first = embedding ? 1 : 0;
        for (int l = first; l < first + 2; l++) {
            INDArray h = Nd4j.rand(DataType.DOUBLE, B, H); // relu states are >= 0
            state.put(l, Map.of("prevAct", "relu".equals(activation) ? h : h.subi(0.5).muli(1.6)));
        }
        INDArray g = CarriedGradients.gradientFrom(net, state, ds).div(B); // DL4J sums the gradient over the minibatch, the score is the mean
        INDArray zero = CarriedGradients.gradientFrom(net, null, ds).div(B);
        assertTrue(g.sub(zero).norm2Number().doubleValue() > 1e-2 * g.norm2Number().doubleValue(), "the carried state matters");
        INDArray params = net.params().dup();
        double eps = 1e-6, worst = 0;
        long worstAt = -1;
        for (long i = 0; i < params.length(); i++) {
            INDArray p = params.dup();
            p.putScalar(i, params.getDouble(i) + eps);
            double up = CarriedGradients.scoreFrom(net, p, state, ds);
            p.putScalar(i, params.getDouble(i) - eps);
            double down = CarriedGradients.scoreFrom(net, p, state, ds);
            double numeric = (up - down) / (2 * eps), analytic = g.getDouble(i);
            double rel = Math.abs(numeric - analytic) < 1e-8 ? 0 : Math.abs(numeric - analytic) / Math.max(Math.abs(numeric), Math.abs(analytic));
            if (rel > worst) {
                worst = rel;
                worstAt = i;
            }
        }
        net.setParams(params);
        assertTrue(worst < 1e-5, "max relative error " + worst + " at parameter " + worstAt + " of " + params.length());
    }

    /**
     * From a zero state textgen's backward pass is DL4J's: the same gradient whether the start state is absent (the stock
     * code runs) or an explicit zero array (textgen's code runs), and the stock configuration becomes textgen's layer.
     */
    @ParameterizedTest
    @CsvSource({"tanh", "relu"})
    void fromAZeroStateTheGradientIsDl4jsOwn(String activation) {
        CarriedStateNetwork net = doubleNet(activation, false);
        DataSet ds = data(false, 12);
        Map<Integer, Map<String, INDArray>> zeros = Map.of(0, Map.of("prevAct", Nd4j.zeros(DataType.DOUBLE, B, H)),
                1, Map.of("prevAct", Nd4j.zeros(DataType.DOUBLE, B, H)));
        INDArray stock = CarriedGradients.gradientFrom(net, null, ds);
        double stockScore = net.score();
        INDArray textgens = CarriedGradients.gradientFrom(net, zeros, ds);
        assertEquals(stockScore, net.score(), 1e-12);
        assertTrue(stock.norm2Number().doubleValue() > 0);
        assertTrue(stock.equalsWithEps(textgens, 1e-12), "max difference " + stock.sub(textgens).amaxNumber());

        MultiLayerConfiguration stockConf = MultiLayerConfiguration.fromJson(FastLstm.portable(net.getLayerWiseConfigurations().toJson()));
        assertEquals(SimpleRnn.class, stockConf.getConf(0).getLayer().getClass(), "the portable configuration names DL4J's class");
        for (boolean fast : new boolean[]{true, false}) {
            assertInstanceOf(CarriedSimpleRnn.class, NetworkFactory.withTextgenLayers(stockConf, fast).getConf(0).getLayer(), "fast " + fast);
        }
    }

    /** Two simple layers as NetworkFactory builds them (the layers of every backend), in DOUBLE, without updater or clipping. */
    private static CarriedStateNetwork doubleNet(String activation, boolean embedding) {
        RunConfig.ModelConfig model = RunConfig.defaults().with("model.cell", "simple").with("model.activation", activation)
                .with("model.layers", 2).with("model.hiddenSize", H)
                .with("model.input", embedding ? "embedding" : "onehot").with("model.embeddingSize", 3).model();
        MultiLayerConfiguration conf = NetworkFactory.configuration(model, TestModels.training(B, T, RunConfig.Sampling.CONSECUTIVE), V, false);
        var list = new NeuralNetConfiguration.Builder().seed(7).dataType(DataType.DOUBLE).updater(new NoOp()).list();
        for (int i = 0; i < conf.getConfs().size(); i++) {
            BaseLayer layer = (BaseLayer) conf.getConf(i).getLayer().clone();
            layer.setIUpdater(new NoOp());
            layer.setGradientNormalization(GradientNormalization.None);
            list.layer(layer);
        }
        CarriedStateNetwork net = new CarriedStateNetwork(list.backpropType(BackpropType.TruncatedBPTT).tBPTTForwardLength(T).tBPTTBackwardLength(T).build());
        net.init();
        net.setParams(net.params().add(0.05));
        return net;
    }

    /** Inputs (one-hot [B, V, T] or ids [B, 1, T]) and one-hot next-token labels, DOUBLE. */
    private static DataSet data(boolean embedding, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        INDArray in = embedding ? Nd4j.zeros(DataType.DOUBLE, B, 1, T) : Nd4j.zeros(DataType.DOUBLE, B, V, T);
        INDArray out = Nd4j.zeros(DataType.DOUBLE, B, V, T);
        for (int b = 0; b < B; b++) {
            int prev = r.nextInt(V);
            for (int t = 0; t < T; t++) {
                int next = r.nextInt(V);
                if (embedding) in.putScalar(new long[]{b, 0, t}, prev);
                else in.putScalar(new long[]{b, prev, t}, 1.0);
                out.putScalar(new long[]{b, next, t}, 1.0);
                prev = next;
            }
        }
        return new DataSet(in, out);
    }
}
