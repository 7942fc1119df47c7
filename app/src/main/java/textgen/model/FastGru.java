package textgen.model;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.LayerValidation;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.Collection;

/**
 * A {@link GRU} whose {@link GruLayer} computes on the CPU kernel ({@link GruKernel}) instead of ND4J operations: the
 * same hyperparameters, parameters and math. Used where {@link NetworkFactory#useFastLstm} says the fast CPU layers
 * run; checkpoints store it as {@link GRU} ({@link FastLstm#portable}), which loads on every backend.
 */
public class FastGru extends GRU {
    public static final String STOCK_CLASS = GRU.class.getName();

    public FastGru() {
        // for JSON
    }

    /** The same layer as {@code stock}, computing on the CPU kernel. */
    public static FastGru of(GRU stock) {
        return FastLstm.copyFields(GRU.class, stock, new FastGru());
    }

    @Override
    public Layer instantiate(NeuralNetConfiguration conf, Collection<TrainingListener> listeners, int layerIndex,
                             INDArray layerParamsView, boolean initializeParams, DataType networkDataType) {
        LayerValidation.assertNInNOutSet("GRU", getLayerName(), layerIndex, getNIn(), getNOut());
        return FastLstm.wire(new GruLayer(conf, networkDataType, true), conf, listeners, layerIndex, layerParamsView,
                initializer().init(conf, layerParamsView, initializeParams));
    }
}
