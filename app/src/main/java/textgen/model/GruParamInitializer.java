package textgen.model;

import org.deeplearning4j.nn.api.ParamInitializer;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.nd4j.linalg.indexing.NDArrayIndex.interval;

/**
 * The parameters of a {@link GRU} layer, as views of the network's flat parameter (and gradient) vector, gate blocks
 * in PyTorch's order r, z, n:
 * <ul>
 *   <li>{@code W} [nIn, 3H] input weights (PyTorch's {@code weight_ih_l} transposed)</li>
 *   <li>{@code RW} [H, 3H] recurrent weights ({@code weight_hh_l} transposed)</li>
 *   <li>{@code b} [1, 3H] input bias ({@code bias_ih_l}); {@code rb} [1, 3H] recurrent bias ({@code bias_hh_l})</li>
 * </ul>
 * Initialisation: every value uniform in +-1/sqrt(H), as {@code torch.nn.GRU.reset_parameters}, drawn from ND4J's
 * generator (seeded by the network's seed).
 */
public final class GruParamInitializer implements ParamInitializer {
    public static final String INPUT_WEIGHT_KEY = "W";
    public static final String RECURRENT_WEIGHT_KEY = "RW";
    public static final String BIAS_KEY = "b";
    public static final String RECURRENT_BIAS_KEY = "rb";
    private static final List<String> WEIGHT_KEYS = List.of(INPUT_WEIGHT_KEY, RECURRENT_WEIGHT_KEY);
    private static final List<String> BIAS_KEYS = List.of(BIAS_KEY, RECURRENT_BIAS_KEY);
    private static final GruParamInitializer INSTANCE = new GruParamInitializer();

    private GruParamInitializer() {
    }

    public static GruParamInitializer getInstance() {
        return INSTANCE;
    }

    /** 3 (nIn H + H H + 2 H): PyTorch's and Keras's (reset_after=True) count. */
    public static long numParams(long nIn, long hidden) {
        return 3 * (nIn * hidden + hidden * hidden + 2 * hidden);
    }

    @Override
    public long numParams(NeuralNetConfiguration conf) {
        return numParams(conf.getLayer());
    }

    @Override
    public long numParams(Layer layer) {
        GRU g = (GRU) layer;
        return numParams(g.getNIn(), g.getNOut());
    }

    @Override
    public List<String> paramKeys(Layer layer) {
        return List.of(INPUT_WEIGHT_KEY, RECURRENT_WEIGHT_KEY, BIAS_KEY, RECURRENT_BIAS_KEY);
    }

    @Override
    public List<String> weightKeys(Layer layer) {
        return WEIGHT_KEYS;
    }

    @Override
    public List<String> biasKeys(Layer layer) {
        return BIAS_KEYS;
    }

    @Override
    public boolean isWeightParam(Layer layer, String key) {
        return WEIGHT_KEYS.contains(key);
    }

    @Override
    public boolean isBiasParam(Layer layer, String key) {
        return BIAS_KEYS.contains(key);
    }

    @Override
    public Map<String, INDArray> init(NeuralNetConfiguration conf, INDArray paramsView, boolean initializeParams) {
        GRU g = (GRU) conf.getLayer();
        Map<String, INDArray> m = views(paramsView, g.getNIn(), g.getNOut());
        if (initializeParams) {
            double k = 1.0 / Math.sqrt(g.getNOut());
            // one draw for the whole layer: W, RW, b, rb are consecutive in the view
            paramsView.assign(Nd4j.rand(paramsView.dataType(), paramsView.shape()).muli(2 * k).subi(k));
        }
        for (String key : m.keySet()) conf.addVariable(key);
        return m;
    }

    @Override
    public Map<String, INDArray> getGradientsFromFlattened(NeuralNetConfiguration conf, INDArray gradientView) {
        GRU g = (GRU) conf.getLayer();
        return views(gradientView, g.getNIn(), g.getNOut());
    }

    private static Map<String, INDArray> views(INDArray flat, long nIn, long hidden) {
        INDArray v = flat.reshape(flat.length());
        long g = 3 * hidden, w = nIn * g, rw = hidden * g;
        Map<String, INDArray> m = new LinkedHashMap<>();
        m.put(INPUT_WEIGHT_KEY, v.get(interval(0, w)).reshape('f', nIn, g));
        m.put(RECURRENT_WEIGHT_KEY, v.get(interval(w, w + rw)).reshape('f', hidden, g));
        m.put(BIAS_KEY, v.get(interval(w + rw, w + rw + g)).reshape(1, g));
        m.put(RECURRENT_BIAS_KEY, v.get(interval(w + rw + g, w + rw + 2 * g)).reshape(1, g));
        return m;
    }
}
