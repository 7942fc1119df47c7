package textgen.model;

import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.EmbeddingSequenceLayer;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.nn.conf.layers.RnnOutputLayer;
import org.deeplearning4j.nn.conf.layers.recurrent.SimpleRnn;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
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

    /**
     * The Keras RNN guide's second model, Embedding(1000, 64) -> GRU(256) -> SimpleRNN(128) -> Dense(10): Keras
     * prints 64,000 / 247,296 / 49,280 / 1,290 = 361,866 (its GRU is reset_after=True, two bias vectors, as textgen's).
     */
    @Test
    void gruParameterCountsAreKeras() {
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder().list()
                .layer(new EmbeddingSequenceLayer.Builder().nIn(1000).nOut(64).hasBias(false).build())
                .layer(new GRU.Builder().nIn(64).nOut(256).activation(Activation.TANH).build())
                .layer(new SimpleRnn.Builder().nIn(256).nOut(128).activation(Activation.TANH).build())
                .layer(new RnnOutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(128).nOut(10).activation(Activation.SOFTMAX).build())
                .build();
        List<ModelSummary.Row> rows = ModelSummary.rows(conf);
        assertEquals(List.of(64_000L, 247_296L, 49_280L, 1_290L), rows.stream().map(ModelSummary.Row::parameters).toList());
        assertEquals(361_866, ModelSummary.total(rows));
        assertEquals("GRU", rows.get(1).type());
        assertEquals("(None, None, 256)", rows.get(1).outputShape());
        assertTrue(ModelSummary.format(conf).contains("Total params: 361,866"));

        // what textgen itself builds closest to it (one cell type, the output layer over the vocabulary): vocabulary
        // 1000, embedding 64, 1 x GRU(256); the instantiated network agrees with the count
        RunConfig.ModelConfig model = RunConfig.defaults().with("model.input", "embedding").with("model.embeddingSize", 64)
                .with("model.cell", "gru").with("model.layers", 1).with("model.hiddenSize", 256).model();
        MultiLayerConfiguration built = NetworkFactory.configuration(model, TestModels.training(4, 10, RunConfig.Sampling.CONSECUTIVE), 1000);
        List<ModelSummary.Row> own = ModelSummary.rows(built);
        assertEquals(List.of(64_000L, 247_296L, 257_000L), own.stream().map(ModelSummary.Row::parameters).toList());
        assertEquals(List.of("EmbeddingSequenceLayer", "GRU", "RnnOutputLayer"), own.stream().map(ModelSummary.Row::type).toList());
        MultiLayerNetwork net = new MultiLayerNetwork(built);
        net.init();
        assertEquals(568_296, net.numParams());
    }

    /** Every model.cell builds its layers on both layer sets, and the model line names the layer type the summary shows. */
    @ParameterizedTest
    @EnumSource(RunConfig.Cell.class)
    void everyCellBuildsTheLayersItsNameSays(RunConfig.Cell cell) {
        RunConfig.ModelConfig model = RunConfig.defaults().with("model.cell", cell).with("model.layers", 2).with("model.hiddenSize", 8).model();
        for (boolean fast : new boolean[]{false, true}) {
            MultiLayerConfiguration conf = NetworkFactory.configuration(model, TestModels.training(4, 10, RunConfig.Sampling.CONSECUTIVE), 7, fast);
            List<ModelSummary.Row> rows = ModelSummary.rows(conf);
            assertEquals(3, rows.size());
            assertTrue(model.describe().equals("2 x " + rows.get(0).type() + "(8" + (cell.takesActivation() ? ", tanh)" : ")")), model.describe() + " vs " + rows.get(0).type());
            assertEquals(rows.get(0).type(), rows.get(1).type());
            MultiLayerNetwork net = new MultiLayerNetwork(conf);
            net.init();
            assertEquals(net.numParams(), ModelSummary.total(rows));
        }
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
