package textgen.model;

import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.EmbeddingSequenceLayer;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.nn.conf.layers.RnnOutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import textgen.TestModels;
import textgen.config.RunConfig;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ModelSummaryTest {
    /** Keras's model.summary() for Embedding(1000, 64) -> LSTM(128) -> Dense(10) prints 64,000 / 98,816 / 1,290. */
    @Test
    void parameterCountsAreKeras() {
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder().list()
                .layer(new EmbeddingSequenceLayer.Builder().nIn(1000).nOut(64).hasBias(false).build())
                .layer(new LSTM.Builder().nIn(64).nOut(128).activation(Activation.TANH).build())
                .layer(new RnnOutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(128).nOut(10).activation(Activation.SOFTMAX).build())
                .build();
        List<ModelSummary.Row> rows = ModelSummary.rows(conf);
        assertEquals(List.of(64_000L, 98_816L, 1_290L), rows.stream().map(ModelSummary.Row::parameters).toList());
        assertEquals(164_106, ModelSummary.total(rows));
        assertEquals("(None, None)", rows.get(0).inputShape());
        assertEquals("(None, None, 64)", rows.get(0).outputShape());
        assertEquals("(None, None, 128)", rows.get(1).outputShape());
        String table = ModelSummary.format(conf);
        assertTrue(table.contains("98,816") && table.contains("Total params: 164,106"), table);
    }

    @Test
    void matchesTheBuiltNetwork() {
        var conf = NetworkFactory.configuration(TestModels.model(2, 40), TestModels.training(4, 10, RunConfig.Sampling.CONSECUTIVE), 30);
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        List<ModelSummary.Row> rows = ModelSummary.rows(conf);
        assertEquals(net.numParams(), ModelSummary.total(rows));
        for (int i = 0; i < rows.size(); i++) assertEquals(net.getLayer(i).numParams(), rows.get(i).parameters());
        assertEquals("LSTM", rows.get(0).type());
        assertEquals("RnnOutputLayer", rows.get(2).type());
        assertEquals("(None, None, 30)", rows.get(0).inputShape());
    }
}
