package textgen.model;

import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.conf.dropout.Dropout;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.recurrent.SimpleRnn;
import org.deeplearning4j.nn.params.LSTMParamInitializer;
import org.deeplearning4j.nn.params.SimpleRnnParamInitializer;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.activations.Activation;
import textgen.config.RunConfig;

/**
 * How each {@code model.cell} becomes the configuration of one recurrent layer: one constant per
 * {@link RunConfig.Cell}, so a new cell is a new constant here, not a branch in {@link NetworkFactory}.
 */
enum CellLayers {
    LSTM {
        @Override
        Layer layer(RunConfig.ModelConfig model, long nIn, Dropout dropout, boolean fast) {
            LSTM.Builder lstm = new LSTM.Builder().nIn(nIn).nOut(model.hiddenSize())
                    .activation(Activation.TANH).gateActivationFunction(Activation.SIGMOID)
                    .forgetGateBiasInit(1.0).dataFormat(RNNFormat.NCW);
            if (dropout != null) lstm.dropOut(dropout);
            return fast ? FastLstm.of(lstm.build()) : lstm.build();
        }

        @Override
        String recurrentWeightKey() {
            return LSTMParamInitializer.RECURRENT_WEIGHT_KEY; // [H, 4H], the same key in FastLstm
        }
    },
    GRU {
        /**
         * textgen's own layer, the same parameters on every backend (they start as torch.nn.GRU's, see
         * {@link GruParamInitializer}); {@code fast}: computed by the CPU kernel ({@link FastGru}).
         */
        @Override
        Layer layer(RunConfig.ModelConfig model, long nIn, Dropout dropout, boolean fast) {
            GRU.Builder gru = new GRU.Builder().nIn(nIn).nOut(model.hiddenSize()).activation(Activation.TANH).dataFormat(RNNFormat.NCW);
            if (dropout != null) gru.dropOut(dropout);
            return fast ? FastGru.of(gru.build()) : gru.build();
        }

        @Override
        String recurrentWeightKey() {
            return GruParamInitializer.RECURRENT_WEIGHT_KEY; // [H, 3H]
        }
    },
    SIMPLE {
        /** DL4J's SimpleRnn on textgen's implementation, on every backend: see {@link CarriedSimpleRnnLayer}. */
        @Override
        Layer layer(RunConfig.ModelConfig model, long nIn, Dropout dropout, boolean fast) {
            // ReLU: identity recurrent weights, the IRNN of Le et al. 2015 (fast.ai's RNN lesson); tanh: Xavier, like
            // the input weights (with the identity, tanh units saturate: a 2 x 256 tanh RNN stayed at the unigram
            // loss, 3.34 nats/char, for 1.4 epochs of Shakespeare)
            boolean relu = "relu".equals(model.activation());
            SimpleRnn.Builder rnn = new SimpleRnn.Builder().nIn(nIn).nOut(model.hiddenSize())
                    .activation(relu ? Activation.RELU : Activation.TANH)
                    .weightInitRecurrent(relu ? WeightInit.IDENTITY : WeightInit.XAVIER).dataFormat(RNNFormat.NCW);
            if (dropout != null) rnn.dropOut(dropout);
            return CarriedSimpleRnn.of(rnn.build());
        }

        @Override
        String recurrentWeightKey() {
            return SimpleRnnParamInitializer.RECURRENT_WEIGHT_KEY; // [H, H]
        }
    };

    static CellLayers of(RunConfig.Cell cell) {
        return valueOf(cell.name());
    }

    /** One recurrent layer of {@code model.hiddenSize} units on {@code nIn} inputs; {@code fast}: textgen's CPU layer where there is one. */
    abstract Layer layer(RunConfig.ModelConfig model, long nIn, Dropout dropout, boolean fast);

    /** The parameter key of the layer's recurrent weight matrix (hidden to hidden), which {@link WeightDrop} masks. */
    abstract String recurrentWeightKey();
}
