package textgen.model;

import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.api.layers.RecurrentLayer;
import org.deeplearning4j.nn.conf.BackpropType;
import org.deeplearning4j.nn.conf.GradientNormalization;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.deeplearning4j.optimize.api.BaseTrainingListener;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Sgd;
import textgen.config.RunConfig;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/**
 * model.recurrentDropout (weight drop): the gradient the updater receives for a recurrent weight is the gradient of
 * the loss with respect to the unmasked weight (central differences through a fixed mask), for every cell, on the
 * fast and the stock layers; leaving out the chain rule through the mask fails that check; the weights are put back
 * before clipping and the updater; inference after training runs on the unmasked weights; the masks are a function
 * of (seed, iteration, layer).
 */
class WeightDropTest {
    private static final int V = 5, H = 4, B = 3, T = 6;
    private static final double P = 0.25;

    private static RunConfig config(String cell, double p) {
        return RunConfig.defaults().with("model.cell", cell).with("model.layers", 2).with("model.hiddenSize", H)
                .with("model.recurrentDropout", p).with("training.batchSize", B).with("training.tbpttLength", T).with("training.seed", 5);
    }

    /** textgen's layers for {@code cell} (fast CPU layers or DL4J's), as a DOUBLE network with plain SGD and no clipping. */
    private static MultiLayerConfiguration doubleConf(String cell, boolean fast) {
        RunConfig c = config(cell, P);
        MultiLayerConfiguration base = NetworkFactory.configuration(c.model(), c.training(), V, fast);
        var list = new NeuralNetConfiguration.Builder().seed(7).dataType(DataType.DOUBLE).updater(new Sgd(0.1)).list();
        for (int i = 0; i < base.getConfs().size(); i++) {
            BaseLayer layer = (BaseLayer) base.getConf(i).getLayer().clone();
            layer.setIUpdater(new Sgd(0.1));
            layer.setGradientNormalization(GradientNormalization.None);
            list.layer(layer);
        }
        return list.backpropType(BackpropType.TruncatedBPTT).tBPTTForwardLength(T).tBPTTBackwardLength(T).build();
    }

    private static DataSet data(long seed, DataType type) {
        SplittableRandom r = new SplittableRandom(seed);
        INDArray x = Nd4j.zeros(type, B, V, T), y = Nd4j.zeros(type, B, V, T);
        for (int b = 0; b < B; b++) {
            int prev = r.nextInt(V);
            for (int t = 0; t < T; t++) {
                int next = r.nextInt(V);
                x.putScalar(new long[]{b, prev, t}, 1.0);
                y.putScalar(new long[]{b, next, t}, 1.0);
                prev = next;
            }
        }
        return new DataSet(x, y);
    }

    private static List<Integer> recurrentLayers(MultiLayerNetwork net) {
        List<Integer> r = new ArrayList<>();
        for (int i = 0; i < net.getLayers().length; i++) if (net.getLayer(i) instanceof RecurrentLayer) r.add(i);
        return r;
    }

    /** What the listeners see between the gradient and the updater: each recurrent weight's gradient and value. */
    private static final class Capture extends BaseTrainingListener {
        final String key;
        final Map<Integer, INDArray> gradients = new HashMap<>(), weights = new HashMap<>();

        Capture(String key) {
            this.key = key;
        }

        @Override
        public void onGradientCalculation(Model model) {
            MultiLayerNetwork net = (MultiLayerNetwork) model;
            for (int i : recurrentLayers(net)) {
                gradients.put(i, net.gradient().getGradientFor(i + "_" + key).dup());
                weights.put(i, net.getLayer(i).getParam(key).dup());
            }
        }
    }

    /** Weight drop with the gradient of the masked matrix handed on as it is: the chain rule through the mask left out. */
    static final class WithoutGradientMask extends CarriedStateNetwork {
        WithoutGradientMask(MultiLayerConfiguration conf) {
            super(conf);
        }

        @Override
        public void computeGradientAndScore(LayerWorkspaceMgr workspaceMgr) {
            WeightDrop wd = weightDrop();
            setWeightDrop(null);
            WeightDrop.Step step = wd.apply(this, getIterationCount());
            try {
                super.computeGradientAndScore(workspaceMgr);
            } finally {
                step.restore();
                setWeightDrop(wd);
            }
        }
    }

    /** Central differences against the gradient one training step hands the updater: the number of recurrent-weight entries that disagree. */
    private static int mismatches(CarriedStateNetwork net, String cell, boolean fast) {
        String key = CellLayers.of(RunConfig.Cell.valueOf(cell.toUpperCase())).recurrentWeightKey();
        WeightDrop wd = new WeightDrop(P, key, 11);
        net.setWeightDrop(wd);
        net.setParams(net.params().add(0.05));
        DataSet ds = data(3, DataType.DOUBLE);
        INDArray params0 = net.params().dup();
        Capture capture = new Capture(key);
        net.setListeners(capture);
        long iteration = net.getIterationCount();
        net.fit(ds); // one SGD step: the masks of this iteration

        // the scratch network evaluates the loss as a function of the unmasked weights, masking them itself
        CarriedStateNetwork scratch = new CarriedStateNetwork(net.getLayerWiseConfigurations().clone());
        scratch.init(params0.dup(), true);
        Map<Integer, INDArray> masks = new HashMap<>();
        for (int l : recurrentLayers(net)) masks.put(l, wd.scaledMask(iteration, l, net.getLayer(l).getParam(key).shape(), DataType.DOUBLE));

        double eps = fast ? 1e-2 : 1e-6, rel = fast ? 2e-2 : 1e-5, abs = fast ? 1e-4 : 1e-8;
        int bad = 0, dropped = 0;
        for (int l : masks.keySet()) {
            INDArray rw0 = params0Of(scratch, params0, l, key);
            assertEquals(rw0, capture.weights.get(l), "layer " + l + ": the unmasked weights are back before the listeners and the updater");
            INDArray analytic = capture.gradients.get(l).div(B); // DL4J sums the gradient over the minibatch; the score is the mean
            INDArray after = net.getLayer(l).getParam(key);
            for (long r = 0; r < rw0.rows(); r++) {
                for (long c = 0; c < rw0.columns(); c++) {
                    double up = loss(scratch, params0, masks, key, l, r, c, eps, ds), down = loss(scratch, params0, masks, key, l, r, c, -eps, ds);
                    double numeric = (up - down) / (2 * eps), a = analytic.getDouble(r, c);
                    if (masks.get(l).getDouble(r, c) == 0) {
                        dropped++;
                        assertEquals(0.0, numeric, "a dropped weight does not touch the loss");
                        // plain SGD moves a weight by its gradient only: a dropped one stays exactly where it was
                        if (a == 0) assertEquals(rw0.getDouble(r, c), after.getDouble(r, c), 0.0, "dropped weight moved");
                    }
                    if (Math.abs(a - numeric) > rel * Math.abs(numeric) + abs) bad++;
                }
            }
        }
        assertTrue(dropped > 0, "the mask dropped some weights");
        return bad;
    }

    private static INDArray params0Of(CarriedStateNetwork scratch, INDArray params0, int layer, String key) {
        scratch.setParams(params0);
        return scratch.getLayer(layer).getParam(key).dup();
    }

    /** The training loss with every recurrent weight masked, entry (r, c) of layer {@code layer}'s moved by {@code delta} first. */
    private static double loss(CarriedStateNetwork scratch, INDArray params0, Map<Integer, INDArray> masks, String key, int layer,
                               long r, long c, double delta, DataSet ds) {
        scratch.setParams(params0);
        masks.forEach((l, mask) -> {
            INDArray rw = scratch.getLayer(l).getParam(key);
            if (l == layer) rw.putScalar(r, c, rw.getDouble(r, c) + delta);
            rw.muli(mask);
        });
        return CarriedGradients.scoreFrom(scratch, scratch.params().dup(), null, ds);
    }

    @ParameterizedTest
    @CsvSource({"lstm, true", "lstm, false", "gru, false", "simple, false"})
    void theUpdaterGetsTheGradientWithRespectToTheUnmaskedWeights(String cell, boolean fast) {
        CarriedStateNetwork net = new CarriedStateNetwork(doubleConf(cell, fast));
        net.init();
        assertEquals(0, mismatches(net, cell, fast), "recurrent-weight gradients that disagree with central differences");
    }

    @ParameterizedTest
    @CsvSource({"lstm, true", "gru, false"})
    void withoutTheChainRuleThroughTheMaskTheCheckFails(String cell, boolean fast) {
        CarriedStateNetwork net = new WithoutGradientMask(doubleConf(cell, fast));
        net.init();
        assertTrue(mismatches(net, cell, fast) > 10, "the check must catch the gradient of the masked matrix");
    }

    @Test
    void masksDependOnSeedIterationAndLayerOnly() {
        WeightDrop wd = new WeightDrop(0.3, "RW", 42);
        long[] shape = {64, 256};
        INDArray a = wd.scaledMask(7, 1, shape, DataType.FLOAT);
        assertEquals(a, new WeightDrop(0.3, "RW", 42).scaledMask(7, 1, shape, DataType.FLOAT), "same (seed, iteration, layer)");
        assertNotEquals(a, wd.scaledMask(8, 1, shape, DataType.FLOAT), "another iteration");
        assertNotEquals(a, wd.scaledMask(7, 2, shape, DataType.FLOAT), "another layer");
        assertNotEquals(a, new WeightDrop(0.3, "RW", 43).scaledMask(7, 1, shape, DataType.FLOAT), "another seed");
        double zeros = a.eq(0).castTo(DataType.DOUBLE).meanNumber().doubleValue();
        assertEquals(0.3, zeros, 0.01, "share of dropped weights");
        assertEquals((float) (1 / 0.7), a.maxNumber().floatValue(), 0f, "kept weights are scaled by 1/(1-p)");
        assertEquals(a.length() - a.eq(0).castTo(DataType.INT32).sumNumber().longValue(), a.eq((float) (1 / 0.7)).castTo(DataType.INT32).sumNumber().longValue());
    }

    @Test
    void offAtZeroAndTheCellsDeclareTheirRecurrentWeight() {
        assertNull(WeightDrop.of(config("lstm", 0).model(), 1));
        assertEquals("RW", WeightDrop.of(config("lstm", 0.1).model(), 1).key());
        for (String cell : List.of("lstm", "gru", "simple")) {
            CarriedStateNetwork net = NetworkFactory.create(config(cell, 0.1).model(), config(cell, 0.1).training(), V);
            String key = WeightDrop.of(config(cell, 0.1).model(), 1).key();
            for (int l : recurrentLayers(net)) {
                long[] shape = net.getLayer(l).getParam(key).shape();
                assertEquals(H, shape[0], cell + ": the recurrent weight has H rows (hidden to gates)");
            }
        }
    }

    /**
     * After training steps with weight drop every recurrent weight is unmasked (no zero left), and the network's own
     * outputs (the fast LSTM's kernel included, which copies weights at every training step) are those of a copy
     * that never trained: evaluation and sampling see the unmasked weights. Two networks of the same seed end equal.
     */
    @ParameterizedTest
    @CsvSource({"lstm, true", "lstm, false", "gru, false", "simple, false"})
    void afterTrainingTheWeightsAreUnmaskedAndTwoRunsAreEqual(String cell, boolean fast) {
        RunConfig c = config(cell, 0.5);
        CarriedStateNetwork[] nets = new CarriedStateNetwork[2];
        for (int n = 0; n < 2; n++) {
            nets[n] = new CarriedStateNetwork(NetworkFactory.configuration(c.model(), c.training(), V, fast));
            nets[n].init();
            nets[n].setWeightDrop(WeightDrop.of(c.model(), c.training().seed()));
            for (int k = 0; k < 4; k++) nets[n].fitCarryingState(data(k, DataType.FLOAT));
        }
        CarriedStateNetwork net = nets[0];
        assertEquals(4, net.getIterationCount());
        assertEquals(net.params(), nets[1].params(), "same seed, same steps: bit-identical parameters");
        String key = net.weightDrop().key();
        for (int l : recurrentLayers(net)) {
            INDArray rw = net.getLayer(l).getParam(key);
            assertEquals(0, rw.eq(0).castTo(DataType.INT32).sumNumber().intValue(), "layer " + l + ": no dropped (zero) weight left");
        }
        INDArray x = data(9, DataType.FLOAT).getFeatures();
        CarriedStateNetwork copy = CarriedStateNetwork.from(net, fast);
        copy.setWeightDrop(null);
        net.rnnClearPreviousState();
        assertEquals(copy.output(x), net.output(x), "the trained network's outputs are its unmasked weights'");
        // and differ from what the masked weights of the last step would give
        CarriedStateNetwork masked = CarriedStateNetwork.from(net, fast);
        WeightDrop.Step step = net.weightDrop().apply(masked, 3);
        INDArray maskedOut = masked.output(x);
        step.restore();
        assertNotEquals(net.output(x), maskedOut);
    }

    @Test
    void zeroTrainsExactlyAsWithoutWeightDrop() {
        RunConfig c = config("lstm", 0);
        CarriedStateNetwork a = NetworkFactory.create(c.model(), c.training(), V), b = NetworkFactory.create(c.model(), c.training(), V);
        a.setWeightDrop(WeightDrop.of(c.model(), 5)); // null: off
        for (int k = 0; k < 3; k++) {
            a.fitCarryingState(data(k, DataType.FLOAT));
            b.fitCarryingState(data(k, DataType.FLOAT));
        }
        assertEquals(b.params(), a.params());
        RunConfig on = config("lstm", 0.25);
        CarriedStateNetwork d = NetworkFactory.create(on.model(), on.training(), V);
        d.setWeightDrop(WeightDrop.of(on.model(), 5));
        for (int k = 0; k < 3; k++) d.fitCarryingState(data(k, DataType.FLOAT));
        assertNotEquals(b.params(), d.params(), "and 0.25 changes training");
    }
}
