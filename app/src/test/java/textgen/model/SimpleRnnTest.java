package textgen.model;

import org.deeplearning4j.nn.conf.layers.recurrent.SimpleRnn;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.impl.ActivationReLU;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import textgen.TestModels;
import textgen.config.RunConfig;
import textgen.corpus.BatchSource;
import textgen.tensor.TokenTensors;

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
}
