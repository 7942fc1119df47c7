package textgen.model;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.LayerValidation;
import org.deeplearning4j.nn.conf.layers.RnnOutputLayer;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.Collection;

/**
 * Configuration of an output layer that is DL4J's {@link RnnOutputLayer} in every respect but runs on
 * {@link FastRnnOutputLayer}. Checkpoints store the stock class name (see {@link FastLstm#portable}).
 */
public class FastRnnOutput extends RnnOutputLayer {
    public static final String STOCK_CLASS = RnnOutputLayer.class.getName();

    public FastRnnOutput() {
        // for JSON
    }

    /** The same layer as {@code stock}, running on the fast implementation. */
    public static FastRnnOutput of(RnnOutputLayer stock) {
        return FastLstm.copyFields(RnnOutputLayer.class, stock, new FastRnnOutput());
    }

    @Override
    public Layer instantiate(NeuralNetConfiguration conf, Collection<TrainingListener> listeners, int layerIndex,
                             INDArray layerParamsView, boolean initializeParams, DataType networkDataType) {
        LayerValidation.assertNInNOutSet("RnnOutputLayer", getLayerName(), layerIndex, getNIn(), getNOut());
        return FastLstm.wire(new FastRnnOutputLayer(conf, networkDataType), conf, listeners, layerIndex, layerParamsView,
                initializer().init(conf, layerParamsView, initializeParams));
    }
}
