package textgen.model;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.LSTM;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.Collection;
import java.util.Map;

/**
 * Configuration of an LSTM layer that is DL4J's {@link LSTM} in every respect (same hyperparameters, parameters,
 * initialisation and math) but runs on {@link FastLstmLayer}. Checkpoints store the stock class name (see
 * {@link #portable}), so they load in plain DL4J and on backends where the fast layer is not used.
 */
public class FastLstm extends LSTM {
    public static final String STOCK_CLASS = LSTM.class.getName();

    public FastLstm() {
        // for JSON
    }

    /** The same layer as {@code stock}, running on the fast implementation. */
    public static FastLstm of(LSTM stock) {
        return copyFields(LSTM.class, stock, new FastLstm());
    }

    /** Copies every instance field declared by {@code top} and its superclasses from {@code from} into {@code to}. */
    static <T> T copyFields(Class<?> top, Object from, T to) {
        for (Class<?> c = top; c != Object.class; c = c.getSuperclass()) {
            for (Field f : c.getDeclaredFields()) {
                if (Modifier.isStatic(f.getModifiers())) continue;
                f.setAccessible(true);
                try {
                    f.set(to, f.get(from));
                } catch (IllegalAccessException e) {
                    throw new IllegalStateException("cannot copy " + c.getSimpleName() + " field " + f.getName(), e);
                }
            }
        }
        return to;
    }

    /**
     * A configuration JSON with every textgen implementation of a stock layer ({@link FastLstm}, {@link FastRnnOutput},
     * {@link CarriedSimpleRnn}, {@link FastGru}) written as the stock layer it stands for.
     */
    public static String portable(String configurationJson) {
        return configurationJson.replace("\"" + FastLstm.class.getName() + "\"", "\"" + STOCK_CLASS + "\"")
                .replace("\"" + FastRnnOutput.class.getName() + "\"", "\"" + FastRnnOutput.STOCK_CLASS + "\"")
                .replace("\"" + CarriedSimpleRnn.class.getName() + "\"", "\"" + CarriedSimpleRnn.STOCK_CLASS + "\"")
                .replace("\"" + FastGru.class.getName() + "\"", "\"" + FastGru.STOCK_CLASS + "\"");
    }

    @Override
    public Layer instantiate(NeuralNetConfiguration conf, Collection<TrainingListener> listeners, int layerIndex,
                             INDArray layerParamsView, boolean initializeParams, DataType networkDataType) {
        return wire(new FastLstmLayer(conf, networkDataType), conf, listeners, layerIndex, layerParamsView,
                initializer().init(conf, layerParamsView, initializeParams));
    }

    /** What DL4J's own instantiate() does to a new layer: listeners, index, parameter views, configuration. */
    static <L extends Layer> L wire(L layer, NeuralNetConfiguration conf, Collection<TrainingListener> listeners, int layerIndex,
                                    INDArray layerParamsView, Map<String, INDArray> paramTable) {
        layer.setListeners(listeners);
        layer.setIndex(layerIndex);
        layer.setParamsViewArray(layerParamsView);
        layer.setParamTable(paramTable);
        layer.setConf(conf);
        return layer;
    }
}
