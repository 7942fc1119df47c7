package textgen.model;

import org.deeplearning4j.nn.conf.BackpropType;
import org.deeplearning4j.nn.conf.GradientNormalization;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.dropout.Dropout;
import org.deeplearning4j.nn.conf.layers.EmbeddingSequenceLayer;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.nn.conf.layers.RnnOutputLayer;
import org.deeplearning4j.nn.conf.layers.recurrent.SimpleRnn;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import textgen.config.RunConfig.ModelConfig;
import textgen.config.RunConfig.TrainingConfig;

/**
 * Builds the network: one-hot input or an embedding lookup ({@code model.input: embedding}), {@code model.layers}
 * recurrent layers of one cell ({@code model.cell}: LSTM, GRU or plain RNN; see {@link CellLayers}), then a softmax {@code RnnOutputLayer} with MCXENT
 * loss; Adam, element-wise gradient clipping (char-rnn's and torch-rnn's grad_clip) and truncated BPTT of
 * {@code training.tbpttLength} steps. Dropout (a drop probability, as in PyTorch) applies to the input of every layer
 * after the first recurrent layer, as in char-rnn.
 */
public final class NetworkFactory {
    private NetworkFactory() {
    }

    /**
     * The configuration with {@link FastLstm}, {@link FastGru} and {@link FastRnnOutput} layers (CPU) or DL4J's own
     * {@code LSTM} and {@code RnnOutputLayer} and textgen's ND4J-ops {@link GRU} (any backend).
     */
    public static MultiLayerConfiguration configuration(ModelConfig model, TrainingConfig training, int vocabSize) {
        return configuration(model, training, vocabSize, useFastLstm());
    }

    /** The fast layers run their arithmetic on the host, so they are used on the CPU backend only. */
    public static boolean useFastLstm() {
        // -Dtextgen.lstm=dl4j selects DL4J's own layers (and the GRU on ND4J operations), for benchmarks and comparisons
        return "cpu".equals(Backend.configuredBackend()) && !"dl4j".equals(System.getProperty("textgen.lstm"));
    }

    public static MultiLayerConfiguration configuration(ModelConfig model, TrainingConfig training, int vocabSize, boolean fast) {
        NeuralNetConfiguration.Builder base = new NeuralNetConfiguration.Builder()
                .seed(training.seed())
                .dataType(DataType.FLOAT)
                .weightInit(WeightInit.XAVIER)
                .updater(new Adam(training.learningRate()));
        if (training.gradientClip() > 0) {
            base.gradientNormalization(GradientNormalization.ClipElementWiseAbsoluteValue)
                    .gradientNormalizationThreshold(training.gradientClip());
        }
        NeuralNetConfiguration.ListBuilder list = base.list();
        int in = vocabSize;
        if (model.embedding()) {
            // token ids [B, 1, T] -> vectors [B, E, T]; no bias, as Keras's Embedding; any sequence length (sampling feeds 1)
            list.layer(new EmbeddingSequenceLayer.Builder().nIn(vocabSize).nOut(model.embeddingSize()).hasBias(false).activation(Activation.IDENTITY)
                    .inferInputLength(true).outputDataFormat(RNNFormat.NCW).build());
            in = model.embeddingSize();
        }
        for (int i = 0; i < model.layers(); i++) {
            Dropout dropout = i > 0 && model.dropout() > 0 ? new Dropout(1.0 - model.dropout()) : null;
            list.layer(CellLayers.of(model.cell()).layer(model, in, dropout, fast));
            in = model.hiddenSize();
        }
        RnnOutputLayer.Builder outLayer = new RnnOutputLayer.Builder(LossFunctions.LossFunction.MCXENT)
                .nIn(in).nOut(vocabSize).activation(Activation.SOFTMAX).dataFormat(RNNFormat.NCW);
        if (model.dropout() > 0) outLayer.dropOut(new Dropout(1.0 - model.dropout()));
        list.layer(fast ? FastRnnOutput.of(outLayer.build()) : outLayer.build());
        return list.backpropType(BackpropType.TruncatedBPTT)
                .tBPTTForwardLength(training.tbpttLength())
                .tBPTTBackwardLength(training.tbpttLength())
                .build();
    }

    public static CarriedStateNetwork create(ModelConfig model, TrainingConfig training, int vocabSize) {
        CarriedStateNetwork net = new CarriedStateNetwork(configuration(model, training, vocabSize));
        net.init();
        return net;
    }

    /**
     * The same configuration with every LSTM, GRU and RNN output layer as {@link FastLstm}, {@link FastGru} and
     * {@link FastRnnOutput} ({@code fast}) or as the stock ones: checkpoints store the stock layers, loading switches to the fast ones where
     * they run. Every simple recurrent layer becomes {@link CarriedSimpleRnn} either way (DL4J's own computes wrong
     * gradients under a carried state).
     */
    public static MultiLayerConfiguration withTextgenLayers(MultiLayerConfiguration conf, boolean fast) {
        MultiLayerConfiguration c = fast ? conf.clone() : MultiLayerConfiguration.fromJson(FastLstm.portable(conf.toJson()));
        for (NeuralNetConfiguration layerConf : c.getConfs()) {
            if (fast && layerConf.getLayer() instanceof LSTM lstm && !(lstm instanceof FastLstm)) layerConf.setLayer(FastLstm.of(lstm));
            if (fast && layerConf.getLayer() instanceof GRU gru && !(gru instanceof FastGru)) layerConf.setLayer(FastGru.of(gru));
            if (fast && layerConf.getLayer() instanceof RnnOutputLayer out && !(out instanceof FastRnnOutput)) layerConf.setLayer(FastRnnOutput.of(out));
            if (layerConf.getLayer() instanceof SimpleRnn rnn && !(rnn instanceof CarriedSimpleRnn)) layerConf.setLayer(CarriedSimpleRnn.of(rnn));
        }
        return c;
    }
}
