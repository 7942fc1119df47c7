package textgen.model;

import org.deeplearning4j.nn.conf.layers.EmbeddingSequenceLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import textgen.TestModels;
import textgen.config.RunConfig;
import textgen.corpus.BatchSource;
import textgen.tensor.TokenTensors;

import static org.junit.jupiter.api.Assertions.*;

/** model.input: embedding puts DL4J's EmbeddingSequenceLayer (a lookup: no bias, no activation) before the recurrent layers. */
class EmbeddingTest {
    private static final int V = 11, E = 6;

    private static RunConfig.ModelConfig model() {
        return RunConfig.defaults().with("model.input", "embedding").with("model.embeddingSize", E).with("model.layers", 2)
                .with("model.hiddenSize", 12).model();
    }

    @Test
    void buildsALookupBeforeTheLstmsAndFeedsTokenIds() {
        CarriedStateNetwork net = NetworkFactory.create(model(), TestModels.training(3, 7, RunConfig.Sampling.CONSECUTIVE), V);
        assertInstanceOf(EmbeddingSequenceLayer.class, net.getLayerWiseConfigurations().getConf(0).getLayer());
        assertEquals(V * E, net.getLayer(0).numParams(), "V x E weights, no bias (Keras's Embedding)");
        assertInstanceOf(FastLstmLayer.class, net.getLayer(1));
        DataSet ds = new BatchSource(TestModels.randomIds(300, V, 3), V, 3, 7, RunConfig.Sampling.CONSECUTIVE, 1, true).batch(0, 1);
        assertArrayEquals(new long[]{3, 1, 7}, ds.getFeatures().shape(), "token ids");
        assertArrayEquals(new long[]{3, V, 7}, ds.getLabels().shape());
        double before = net.score(ds);
        for (int i = 0; i < 30; i++) net.fit(ds);
        assertTrue(net.score(ds) < before * 0.8, "it learns: " + before + " -> " + net.score(ds));
    }

    @Test
    void predictorMatchesOutputOnBothPaths() {
        for (boolean fast : new boolean[]{true, false}) {
            MultiLayerNetwork net = new MultiLayerNetwork(NetworkFactory.configuration(model(),
                    TestModels.training(2, 5, RunConfig.Sampling.CONSECUTIVE), V, fast));
            net.init();
            int[][] ids = {{1, 2, 3, 4, 10}, {10, 4, 3, 0, 1}};
            INDArray expected = net.output(TokenTensors.ids(ids, new int[]{0, 0}, 5));
            Predictor p = Predictor.of(net);
            p.reset();
            float[] got = p.feed(ids, 0, 3);
            float[] rest = p.feed(ids, 3, 2); // state carried across calls
            p.reset();
            for (int s = 0; s < 2; s++) {
                for (int t = 0; t < 5; t++) {
                    for (int v = 0; v < V; v++) {
                        float g = t < 3 ? got[(s * 3 + t) * V + v] : rest[(s * 2 + t - 3) * V + v];
                        assertEquals(expected.getFloat(s, v, t), g, 2e-6, (fast ? "kernels" : "dl4j") + " s" + s + " t" + t);
                    }
                }
            }
        }
    }

    @Test
    void passesDl4jGradientCheck() {
        MultiLayerNetwork net = GradientChecks.plainDouble(NetworkFactory.configuration(model(), TestModels.training(3, 7, RunConfig.Sampling.CONSECUTIVE), V, true), 4);
        assertInstanceOf(FastLstmLayer.class, net.getLayer(1));
        DataSet ds = new BatchSource(TestModels.randomIds(300, V, 8), V, 3, 7, RunConfig.Sampling.CONSECUTIVE, 1, true).batch(0, 0);
        assertTrue(GradientChecks.pass(net, ds), "GradientCheckUtil failed (see the log for the parameters)");
    }
}
