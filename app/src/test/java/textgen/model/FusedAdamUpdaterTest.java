package textgen.model;

import org.deeplearning4j.nn.conf.BackpropType;
import org.deeplearning4j.nn.conf.GradientNormalization;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.nn.conf.layers.RnnOutputLayer;
import org.deeplearning4j.nn.updater.MultiLayerUpdater;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.config.Nesterovs;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import textgen.TestModels;
import textgen.config.RunConfig;
import textgen.corpus.BatchSource;

import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The fused updater must be DL4J's updater, bit for bit: same parameters and Adam state after the same steps,
 * through element-wise clipping and a learning-rate change (after which DL4J rebuilds its updater), and it must
 * stand aside for configurations it does not implement.
 */
class FusedAdamUpdaterTest {
    private static final int V = 7, H = 9, B = 3, T = 6;

    private static <N> N withDl4jUpdater(Supplier<N> make) {
        System.setProperty("textgen.updater", "dl4j");
        try {
            return make.get();
        } finally {
            System.clearProperty("textgen.updater");
        }
    }

    private static RunConfig.TrainingConfig training(double clip) {
        return RunConfig.defaults().with("training.batchSize", B).with("training.tbpttLength", T)
                .with("training.stateResetProbability", 0).with("training.learningRate", 0.01)
                .with("training.gradientClip", clip).with("training.seed", 7).training();
    }

    private static void assertSameSteps(double clip, int layers, int hidden, int steps) {
        RunConfig.TrainingConfig tc = training(clip);
        CarriedStateNetwork fused = NetworkFactory.create(TestModels.model(layers, hidden), tc, V);
        CarriedStateNetwork stock = withDl4jUpdater(() -> NetworkFactory.create(TestModels.model(layers, hidden), tc, V));
        assertInstanceOf(FusedAdamUpdater.class, fused.getUpdater());
        assertSame(MultiLayerUpdater.class, stock.getUpdater().getClass());
        assertArrayEquals(stock.params().toFloatVector(), fused.params().toFloatVector());

        BatchSource src = new BatchSource(TestModels.randomIds(400, V, 11), V, B, T, RunConfig.Sampling.CONSECUTIVE, 1);
        for (int i = 0; i < steps; i++) {
            if (i == steps / 2) {
                fused.setLearningRate(0.03);
                stock.setLearningRate(0.03);
            }
            DataSet ds = src.batch(0, i % src.batchesPerEpoch());
            fused.fitCarryingState(ds);
            stock.fitCarryingState(ds);
        }
        FusedAdamUpdater u = assertInstanceOf(FusedAdamUpdater.class, fused.getUpdater(), "fused again after setLearningRate");
        assertTrue(u.fusedSteps() >= steps / 2, "the fused pass ran, not DL4J's: " + u.fusedSteps());
        assertArrayEquals(stock.params().toFloatVector(), fused.params().toFloatVector(), "parameters");
        assertArrayEquals(stock.getUpdater().getStateViewArray().toFloatVector(), fused.getUpdater().getStateViewArray().toFloatVector(), "Adam state");
    }

    @Test
    void sameParametersAndStateAsDl4jWithClipping() {
        assertSameSteps(0.02, 2, H, 8); // small enough that most gradients are clipped
    }

    @Test
    void sameParametersAndStateAsDl4jOverManySteps() {
        // Adam's bias correction takes powers of beta1 and beta2 of the iteration: they must be ND4J's at every one
        assertSameSteps(0.02, 1, 3, 300);
    }

    @Test
    void sameParametersAndStateAsDl4jWithoutClipping() {
        assertSameSteps(0, 2, H, 8);
    }

    @Test
    void clippingMatters() {
        // the comparison above can tell clipping from none
        CarriedStateNetwork a = NetworkFactory.create(TestModels.model(1, H), training(0.02), V);
        CarriedStateNetwork b = NetworkFactory.create(TestModels.model(1, H), training(0), V);
        DataSet ds = new BatchSource(TestModels.randomIds(100, V, 3), V, B, T, RunConfig.Sampling.CONSECUTIVE, 1).batch(0, 0);
        a.fit(ds);
        a.fit(ds);
        b.fit(ds);
        b.fit(ds);
        assertFalse(java.util.Arrays.equals(a.params().toFloatVector(), b.params().toFloatVector()));
    }

    private static MultiLayerConfiguration plain(IUpdater updater, double l2, GradientNormalization norm) {
        return new NeuralNetConfiguration.Builder().seed(1).dataType(DataType.FLOAT).updater(updater).l2(l2)
                .gradientNormalization(norm).gradientNormalizationThreshold(1)
                .list()
                .layer(new LSTM.Builder().nIn(V).nOut(H).activation(Activation.TANH).build())
                .layer(new RnnOutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(H).nOut(V).activation(Activation.SOFTMAX).build())
                .backpropType(BackpropType.TruncatedBPTT).tBPTTLength(T).build();
    }

    private static Class<?> updaterOf(MultiLayerConfiguration conf) {
        CarriedStateNetwork net = new CarriedStateNetwork(conf);
        net.init();
        return net.getUpdater().getClass();
    }

    @Test
    void standsAsideForWhatItDoesNotImplement() {
        GradientNormalization clip = GradientNormalization.ClipElementWiseAbsoluteValue;
        assertSame(FusedAdamUpdater.class, updaterOf(plain(new Adam(0.01), 0, clip)), "the control: fused");
        assertSame(MultiLayerUpdater.class, updaterOf(plain(new Adam(0.01), 1e-4, clip)), "L2 regularization");
        assertSame(MultiLayerUpdater.class, updaterOf(plain(new Nesterovs(0.01), 0, clip)), "another updater");
        assertSame(MultiLayerUpdater.class, updaterOf(plain(new Adam(0.01), 0, GradientNormalization.ClipL2PerLayer)), "L2 norm clipping");
    }
}
