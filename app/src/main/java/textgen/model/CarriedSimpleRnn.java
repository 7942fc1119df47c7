package textgen.model;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.LayerValidation;
import org.deeplearning4j.nn.conf.layers.recurrent.SimpleRnn;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.Collection;

/**
 * Configuration of a simple recurrent layer that is DL4J's {@link SimpleRnn} in every respect (hyperparameters,
 * parameters, initialisation, forward math) but runs on {@link CarriedSimpleRnnLayer}, whose backward pass starts
 * from the state the forward pass started in. Used on every backend: it is a correctness fix, not a speed-up.
 * Checkpoints store the stock class name (see {@link FastLstm#portable}), so they load in plain DL4J, and checkpoints
 * naming the stock class load onto this one ({@link NetworkFactory#withTextgenLayers}).
 */
public class CarriedSimpleRnn extends SimpleRnn {
    public static final String STOCK_CLASS = SimpleRnn.class.getName();

    public CarriedSimpleRnn() {
        super(new SimpleRnn.Builder()); // the stock no-arg constructor is private; JSON or copyFields set every field
    }

    /** The same layer as {@code stock}, running on {@link CarriedSimpleRnnLayer}. */
    public static CarriedSimpleRnn of(SimpleRnn stock) {
        return FastLstm.copyFields(SimpleRnn.class, stock, new CarriedSimpleRnn());
    }

    @Override
    public Layer instantiate(NeuralNetConfiguration conf, Collection<TrainingListener> listeners, int layerIndex,
                             INDArray layerParamsView, boolean initializeParams, DataType networkDataType) {
        LayerValidation.assertNInNOutSet("SimpleRnn", getLayerName(), layerIndex, getNIn(), getNOut());
        return FastLstm.wire(new CarriedSimpleRnnLayer(conf, networkDataType), conf, listeners, layerIndex, layerParamsView,
                initializer().init(conf, layerParamsView, initializeParams));
    }
}
