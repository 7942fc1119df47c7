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
        FastLstm fast = new FastLstm();
        for (Class<?> c = LSTM.class; c != Object.class; c = c.getSuperclass()) {
            for (Field f : c.getDeclaredFields()) {
                if (Modifier.isStatic(f.getModifiers())) continue;
                f.setAccessible(true);
                try {
                    f.set(fast, f.get(stock));
                } catch (IllegalAccessException e) {
                    throw new IllegalStateException("cannot copy LSTM field " + f.getName(), e);
                }
            }
        }
        return fast;
    }

    /** A configuration JSON with every FastLstm written as the stock LSTM it is equivalent to. */
    public static String portable(String configurationJson) {
        return configurationJson.replace("\"" + FastLstm.class.getName() + "\"", "\"" + STOCK_CLASS + "\"");
    }

    @Override
    public Layer instantiate(NeuralNetConfiguration conf, Collection<TrainingListener> listeners, int layerIndex,
                             INDArray layerParamsView, boolean initializeParams, DataType networkDataType) {
        FastLstmLayer ret = new FastLstmLayer(conf, networkDataType);
        ret.setListeners(listeners);
        ret.setIndex(layerIndex);
        ret.setParamsViewArray(layerParamsView);
        Map<String, INDArray> paramTable = initializer().init(conf, layerParamsView, initializeParams);
        ret.setParamTable(paramTable);
        ret.setConf(conf);
        return ret;
    }
}
