package textgen.model;

import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.layers.RnnOutputLayer;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.junit.jupiter.api.Test;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.NoOp;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import textgen.TestModels;
import textgen.config.RunConfig;
import textgen.corpus.BatchSource;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;
import static org.nd4j.linalg.indexing.NDArrayIndex.all;
import static org.nd4j.linalg.indexing.NDArrayIndex.interval;

/**
 * The GRU's CPU kernel ({@link FastGru}, {@link GruKernel}) is the ND4J-operations layer ({@link GRU}, which GruTest
 * checks against PyTorch's equations and finite differences) to float precision: outputs, every parameter gradient,
 * the input gradient and the carried state, over consecutive segments, at sizes no vector width divides.
 */
class GruKernelTest {
    private static final int NIN = 7, H = 13, T = 6;

    /** One GRU layer (ND4J ops or the kernel) on NIN inputs, H units, and a softmax output; FLOAT. */
    private static MultiLayerNetwork net(boolean kernel) {
        GRU gru = new GRU.Builder().nIn(NIN).nOut(H).activation(Activation.TANH).dataFormat(RNNFormat.NCW).build();
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder().seed(3).dataType(DataType.FLOAT).updater(new NoOp()).list()
                .layer(kernel ? FastGru.of(gru) : gru)
                .layer(new RnnOutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(H).nOut(NIN).activation(Activation.SOFTMAX)
                        .dataFormat(RNNFormat.NCW).build())
                .build();
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        net.initGradientsView();
        return net;
    }

    private static void assertClose(INDArray expected, INDArray actual, String what) {
        assertClose(expected, actual, 1e-5, what);
    }

    private static void assertClose(INDArray expected, INDArray actual, double tolerance, String what) {
        assertArrayEquals(expected.shape(), actual.shape(), what + ": shape");
        double scale = Math.max(1e-3, expected.norm2Number().doubleValue());
        double diff = expected.sub(actual).norm2Number().doubleValue();
        double worst = expected.sub(actual).amaxNumber().doubleValue();
        assertTrue(diff / scale < tolerance && worst < tolerance * Math.max(1, expected.amaxNumber().doubleValue()),
                what + ": relative difference " + diff / scale + ", largest " + worst);
    }

    private static void assertSameGradients(Gradient expected, Gradient actual, String what) {
        assertEquals(expected.gradientForVariable().keySet(), actual.gradientForVariable().keySet());
        for (String key : expected.gradientForVariable().keySet()) {
            INDArray e = expected.gradientForVariable().get(key);
            assertTrue(e.norm2Number().doubleValue() > 0, what + " " + key + " is not all zeros");
            assertClose(e, actual.gradientForVariable().get(key), what + " gradient " + key);
        }
    }

    /**
     * Two consecutive TBPTT segments from a random initial state: each segment's output, gradients, input gradient and
     * the state it hands on agree; at batch 1 and 5.
     */
    @Test
    void kernelEqualsNd4jOpsOverTwoSegments() {
        for (int batch : new int[]{1, 5}) {
            MultiLayerNetwork ops = net(false), fast = net(true);
            fast.setParams(ops.params().add(0.05)); // non-zero biases everywhere
            ops.setParams(fast.params().dup());
            GruLayer a = (GruLayer) ops.getLayer(0), b = (GruLayer) fast.getLayer(0);
            assertFalse(a.usesCpuKernel());
            assertTrue(b.usesCpuKernel());
            LayerWorkspaceMgr mgr = LayerWorkspaceMgr.noWorkspaces();
            INDArray h0 = Nd4j.rand(DataType.FLOAT, batch, H).subi(0.5).muli(1.6);
            a.rnnSetTBPTTState(Map.of(GruLayer.STATE_KEY_PREV_ACTIVATION, h0.dup()));
            b.rnnSetTBPTTState(Map.of(GruLayer.STATE_KEY_PREV_ACTIVATION, h0.dup()));
            for (int segment = 0; segment < 2; segment++) {
                String what = "B" + batch + " segment " + segment;
                INDArray x = Nd4j.rand(DataType.FLOAT, batch, NIN, T).subi(0.5).muli(2);
                INDArray eps = Nd4j.rand(DataType.FLOAT, batch, H, T).subi(0.5);
                INDArray outA = a.rnnActivateUsingStoredState(x.dup(), true, true, mgr).dup();
                INDArray outB = b.rnnActivateUsingStoredState(x.dup(), true, true, mgr).dup();
                assertClose(outA, outB, what + " output");
                Pair<Gradient, INDArray> gA = a.tbpttBackpropGradient(eps.dup(), T, mgr), gB = b.tbpttBackpropGradient(eps.dup(), T, mgr);
                assertSameGradients(gA.getFirst(), gB.getFirst(), what);
                assertClose(gA.getSecond(), gB.getSecond(), what + " input gradient");
                assertClose(a.rnnGetTBPTTState().get(GruLayer.STATE_KEY_PREV_ACTIVATION), b.rnnGetTBPTTState().get(GruLayer.STATE_KEY_PREV_ACTIVATION),
                        what + " carried state");
                assertClose(outA.get(all(), all(), interval(T - 1, T)).reshape(batch, H), b.rnnGetTBPTTState().get(GruLayer.STATE_KEY_PREV_ACTIVATION),
                        what + ": the carried state is the last output");
            }
        }
    }

    /** Backprop without a kept training pass (another input array) recomputes it: the same gradients. */
    @Test
    void recomputedPassGivesTheKeptPassGradients() {
        MultiLayerNetwork fast = net(true);
        GruLayer layer = (GruLayer) fast.getLayer(0);
        LayerWorkspaceMgr mgr = LayerWorkspaceMgr.noWorkspaces();
        INDArray x = Nd4j.rand(DataType.FLOAT, 5, NIN, T), eps = Nd4j.rand(DataType.FLOAT, 5, H, T).subi(0.5);
        INDArray out = layer.activate(x, true, mgr).dup();
        INDArray dx = layer.backpropGradient(eps, mgr).getSecond().dup(), kept = layer.getGradientsViewArray().dup();
        layer.setInput(x.dup(), mgr);
        INDArray dx2 = layer.backpropGradient(eps, mgr).getSecond();
        assertEquals(kept, layer.getGradientsViewArray());
        assertEquals(dx, dx2);
        assertEquals(out, layer.activate(x, false, mgr), "training and inference passes agree");
    }

    /** rnnTimeStep one step at a time, and in two calls, equals the whole sequence at once; batch 1 and 5. */
    @Test
    void oneStepAtATimeEqualsTheWholeSequence() {
        for (int batch : new int[]{1, 5}) {
            MultiLayerNetwork fast = net(true);
            INDArray x = Nd4j.rand(DataType.FLOAT, batch, NIN, 9);
            INDArray whole = fast.getLayer(0).activate(x, false, LayerWorkspaceMgr.noWorkspaces()).dup();
            GruLayer layer = (GruLayer) fast.getLayer(0);
            layer.rnnClearPreviousState();
            for (int t = 0; t < 9; t++) {
                INDArray out = layer.rnnTimeStep(x.get(all(), all(), interval(t, t + 1)).dup(), LayerWorkspaceMgr.noWorkspaces());
                assertClose(whole.get(all(), all(), interval(t, t + 1)), out, "B" + batch + " step " + t);
            }
            layer.rnnClearPreviousState();
            INDArray first = layer.rnnTimeStep(x.get(all(), all(), interval(0, 4)).dup(), LayerWorkspaceMgr.noWorkspaces()).dup();
            INDArray second = layer.rnnTimeStep(x.get(all(), all(), interval(4, 9)).dup(), LayerWorkspaceMgr.noWorkspaces());
            assertClose(whole.get(all(), all(), interval(0, 4)), first, "B" + batch + " first call");
            assertClose(whole.get(all(), all(), interval(4, 9)), second, "B" + batch + " second call continues the first");
        }
    }

    /** What NetworkFactory builds: two fitted minibatches with Adam and a carried state end at the same parameters. */
    @Test
    void trainsAsTheNd4jOpsLayer() {
        RunConfig.ModelConfig model = RunConfig.defaults().with("model.cell", "gru").with("model.layers", 2).with("model.hiddenSize", H).model();
        RunConfig.TrainingConfig training = TestModels.training(5, T, RunConfig.Sampling.CONSECUTIVE);
        CarriedStateNetwork ops = new CarriedStateNetwork(NetworkFactory.configuration(model, training, 9, false));
        CarriedStateNetwork fast = new CarriedStateNetwork(NetworkFactory.configuration(model, training, 9, true));
        ops.init();
        fast.init();
        assertInstanceOf(FastGru.class, fast.getLayerWiseConfigurations().getConf(0).getLayer());
        assertEquals(GRU.class, ops.getLayerWiseConfigurations().getConf(0).getLayer().getClass());
        fast.setParams(ops.params().dup());
        BatchSource src = new BatchSource(TestModels.randomIds(400, 9, 13), 9, 5, T, RunConfig.Sampling.CONSECUTIVE, 1);
        for (int i = 0; i < 2; i++) {
            DataSet ds = src.batch(0, i);
            ops.fitCarryingState(ds);
            fast.fitCarryingState(ds);
            assertEquals(ops.score(), fast.score(), 1e-5 * ops.score(), "minibatch " + i);
        }
        // Adam divides by sqrt(v): where a gradient is near zero, float rounding moves the step more than elsewhere
        assertClose(ops.params(), fast.params(), 1e-4, "parameters after two Adam steps");
    }

    /**
     * One-hot input takes lookups instead of the input products (OneHotInput, shared with the LSTM kernel): against
     * the products on the same random one-hot input, parameters and carried state, outputs and final state are bit
     * for bit equal and the gradients equal to float rounding; odd sizes, batch 1.
     */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.CsvSource({"7, 13, 5, 6", "11, 16, 1, 9"})
    void oneHotInputMatchesTheProducts(int nIn, int hidden, int batch, int steps) {
        java.util.Random rnd = new java.util.Random(nIn * 17L + hidden);
        GruKernel lookup = KernelData.gru(nIn, hidden, new java.util.Random(3)), dense = KernelData.gru(nIn, hidden, new java.util.Random(3));
        dense.oneHot.denseOnly = true;
        float[] h0 = KernelData.noise(rnd, batch * hidden);
        float[] x = new float[steps * batch * nIn];
        for (int r = 0; r < steps * batch; r++) x[r * nIn + rnd.nextInt(nIn)] = 1f;
        float[] dH = KernelData.noise(rnd, steps * batch * hidden);
        for (int segment = 0; segment < 2; segment++) {
            for (GruKernel k : new GruKernel[]{lookup, dense}) {
                k.prepare(steps, batch).put(0, x);
                k.setInitialState(h0);
                k.forward();
            }
            assertTrue(lookup.oneHotInput());
            assertFalse(dense.oneHotInput());
            float[] a = new float[steps * batch * hidden], e = new float[a.length];
            lookup.outputs(a);
            dense.outputs(e);
            assertArrayEquals(e, a, "outputs");
            java.nio.FloatBuffer dxL = lookup.backward(dH), dxD = dense.backward(dH);
            KernelData.assertBuffersClose(dense.dWT, lookup.dWT, "dW");
            KernelData.assertBuffersClose(dense.dRWT, lookup.dRWT, "dRW");
            assertArrayEquals(dense.db, lookup.db, 1e-6f, "b");
            assertArrayEquals(dense.drb, lookup.drb, 1e-6f, "rb");
            KernelData.assertBuffersClose(dxD, dxL, "dx");
            assertNull(lookup.backward(dH, false), "no input gradient when not asked for");
            h0 = lookup.lastH();
        }
    }
}
