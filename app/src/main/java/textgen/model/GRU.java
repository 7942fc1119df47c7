package textgen.model;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.api.ParamInitializer;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.BaseRecurrentLayer;
import org.deeplearning4j.nn.conf.layers.LayerValidation;
import org.deeplearning4j.nn.conf.memory.LayerMemoryReport;
import org.deeplearning4j.optimize.api.TrainingListener;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

import java.util.Collection;

/**
 * Configuration of a gated recurrent unit layer in PyTorch's formulation ({@code torch.nn.GRU}, Keras's
 * {@code reset_after=True}), which DL4J lacks: reset, update and new gates
 * <pre>
 *   r  = sigmoid(W_ir x + b_ir + W_hr h + b_hr)
 *   z  = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
 *   n  = tanh(W_in x + b_in + r * (W_hn h + b_hn))
 *   h' = (1 - z) * n + z * h
 * </pre>
 * with two bias vectors: 3 (nIn H + H H + 2 H) parameters ({@link GruParamInitializer}), computed by {@link GruLayer}
 * with ND4J operations on any backend. Every parameter starts uniform in +-1/sqrt(H), as torch.nn.GRU's
 * {@code reset_parameters}; the layer's weightInit and biasInit settings are not used. NCW data only, no masks.
 * Written to configuration.json under this class name (no stock DL4J class is equivalent).
 */
public class GRU extends BaseRecurrentLayer {

    public GRU() {
        // for JSON
    }

    private GRU(Builder builder) {
        super(builder);
        initializeConstraints(builder);
    }

    @Override
    public Layer instantiate(NeuralNetConfiguration conf, Collection<TrainingListener> listeners, int layerIndex,
                             INDArray layerParamsView, boolean initializeParams, DataType networkDataType) {
        LayerValidation.assertNInNOutSet("GRU", getLayerName(), layerIndex, getNIn(), getNOut());
        return FastLstm.wire(new GruLayer(conf, networkDataType), conf, listeners, layerIndex, layerParamsView,
                initializer().init(conf, layerParamsView, initializeParams));
    }

    @Override
    public ParamInitializer initializer() {
        return GruParamInitializer.getInstance();
    }

    @Override
    public LayerMemoryReport getMemoryReport(InputType inputType) {
        return null; // as DL4J's SimpleRnn: no estimate
    }

    public static class Builder extends BaseRecurrentLayer.Builder<Builder> {
        @Override
        @SuppressWarnings("unchecked")
        public GRU build() {
            return new GRU(this);
        }
    }
}
