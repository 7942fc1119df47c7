package textgen.model;

import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.gradient.DefaultGradient;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.layers.recurrent.LSTM;
import org.deeplearning4j.nn.params.LSTMParamInitializer;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import textgen.tensor.HostArrays;

import java.nio.FloatBuffer;
import java.util.Map;

/**
 * DL4J's LSTM layer with the time loop moved into {@link LstmKernel}. It keeps the stock layer's state maps, state
 * keys and parameter views, so everything around it (TBPTT, rnnTimeStep, state get/set, updaters, serialization)
 * works unchanged. The forward pass of training is kept for backprop instead of being recomputed.
 */
public class FastLstmLayer extends LSTM {
    private LstmKernel kernel;
    private float[] paramStamp;
    private boolean cachedForBackprop;
    private float[] dhBuf;
    private final InputDropout dropout; // null: DL4J's dropout code, if any

    public FastLstmLayer(NeuralNetConfiguration conf, DataType dataType) {
        super(conf, dataType);
        dropout = InputDropout.of(layerConf().getIDropout());
    }

    private int hidden() {
        return (int) layerConf().getNOut();
    }

    private int nIn() {
        return (int) layerConf().getNIn();
    }

    private void check() {
        if (maskArray != null) throw new UnsupportedOperationException("FastLstmLayer does not support masks");
        if (layerConf().getRnnDataFormat() == RNNFormat.NWC) throw new UnsupportedOperationException("FastLstmLayer uses NCW");
        if (!(layerConf().getActivationFn() instanceof org.nd4j.linalg.activations.impl.ActivationTanH)
                || !(layerConf().getGateActivationFn() instanceof org.nd4j.linalg.activations.impl.ActivationSigmoid)) {
            throw new UnsupportedOperationException("FastLstmLayer implements tanh activations with sigmoid gates only");
        }
    }

    /** Copies parameters into the kernel when they changed (always while training: every step updates them). */
    private void loadParams(boolean training) {
        if (kernel == null) kernel = new LstmKernel(nIn(), hidden());
        float[] stamp = NdCopy.stamp(getParam(LSTMParamInitializer.INPUT_WEIGHT_KEY), getParam(LSTMParamInitializer.RECURRENT_WEIGHT_KEY),
                getParam(LSTMParamInitializer.BIAS_KEY));
        if (!training && java.util.Arrays.equals(stamp, paramStamp)) return;
        loadInto(kernel);
        paramStamp = stamp;
    }

    /** A kernel of its own holding this layer's current parameters (for {@link Predictor}). */
    LstmKernel kernelCopy() {
        LstmKernel k = new LstmKernel(nIn(), hidden());
        loadInto(k);
        return k;
    }

    private void loadInto(LstmKernel k) {
        // 'f' order [nIn, 4H] is row-major [4H, nIn]: the kernel's layout
        // absolute puts: a buffer's position is an offset to BLAS
        NdCopy.readTransposed(getParam(LSTMParamInitializer.INPUT_WEIGHT_KEY), k.wT);
        NdCopy.readTransposed(getParam(LSTMParamInitializer.RECURRENT_WEIGHT_KEY), k.rwT);
        System.arraycopy(NdCopy.read(getParam(LSTMParamInitializer.BIAS_KEY)), 0, k.bias, 0, k.bias.length);
        k.parametersChanged();
    }

    /**
     * Runs the kernel on {@code in} [B, nIn, T] from state (h0, c0) (null = zeros); returns output [B, H, T], laid
     * out time-major (see {@link NdCopy#timeMajorArray}): the next layer reads it without a transpose.
     */
    private INDArray forward(INDArray in, INDArray h0, INDArray c0, boolean training, LayerWorkspaceMgr mgr) {
        check();
        long t0 = StepProfile.start();
        loadParams(training);
        int batch = (int) in.size(0), steps = (int) in.size(2), nIn = nIn(), hid = hidden();
        FloatBuffer x = kernel.prepare(steps, batch);
        NdCopy.timeMajor(in, x);
        if (training && dropout != null) dropout.apply(x, steps * batch * nIn);
        kernel.setInitialState(h0 == null ? null : NdCopy.read(h0), c0 == null ? null : NdCopy.read(c0));
        StepProfile.stop(StepProfile.Phase.COPIES, t0);
        kernel.forward();
        cachedForBackprop = training;
        t0 = StepProfile.start();
        INDArray out = NdCopy.timeMajorArray(kernel.outputs(), batch, hid, steps, dataType, ArrayType.ACTIVATIONS, mgr);
        StepProfile.stop(StepProfile.Phase.COPIES, t0);
        return out;
    }

    private void storeLast(Map<String, INDArray> into) {
        long[] shape = {kernel.batch(), hidden()};
        into.put(STATE_KEY_PREV_ACTIVATION, HostArrays.detached(kernel.lastH(), shape));
        into.put(STATE_KEY_PREV_MEMCELL, HostArrays.detached(kernel.lastC(), shape));
    }

    @Override
    public INDArray activate(INDArray input, boolean training, LayerWorkspaceMgr workspaceMgr) {
        setInput(input, workspaceMgr);
        return activate(training, workspaceMgr);
    }

    @Override
    public INDArray activate(boolean training, LayerWorkspaceMgr workspaceMgr) {
        assertInputSet(false);
        if (dropout == null) applyDropOutIfNecessary(training, workspaceMgr);
        return forward(input, null, null, training, workspaceMgr);
    }

    @Override
    public INDArray rnnTimeStep(INDArray input, LayerWorkspaceMgr workspaceMgr) {
        setInput(input, workspaceMgr);
        INDArray out = forward(this.input, stateMap.get(STATE_KEY_PREV_ACTIVATION), stateMap.get(STATE_KEY_PREV_MEMCELL), false, workspaceMgr);
        storeLast(stateMap);
        return out;
    }

    @Override
    public INDArray rnnActivateUsingStoredState(INDArray input, boolean training, boolean storeLastForTBPTT, LayerWorkspaceMgr workspaceMgr) {
        setInput(input, workspaceMgr);
        if (dropout == null) applyDropOutIfNecessary(training, workspaceMgr);
        INDArray out = forward(this.input, tBpttStateMap.get(STATE_KEY_PREV_ACTIVATION), tBpttStateMap.get(STATE_KEY_PREV_MEMCELL), training, workspaceMgr);
        if (storeLastForTBPTT) storeLast(tBpttStateMap);
        return out;
    }

    @Override
    public Pair<Gradient, INDArray> backpropGradient(INDArray epsilon, LayerWorkspaceMgr workspaceMgr) {
        return backprop(epsilon, false, workspaceMgr);
    }

    @Override
    public Pair<Gradient, INDArray> tbpttBackpropGradient(INDArray epsilon, int tbpttBackwardLength, LayerWorkspaceMgr workspaceMgr) {
        if (tbpttBackwardLength < input.size(2)) {
            throw new UnsupportedOperationException("FastLstmLayer backpropagates through the whole segment: set tBPTTBackwardLength = tBPTTForwardLength");
        }
        return backprop(epsilon, true, workspaceMgr);
    }

    private Pair<Gradient, INDArray> backprop(INDArray epsilon, boolean tbptt, LayerWorkspaceMgr workspaceMgr) {
        assertInputSet(true);
        if (!cachedForBackprop || kernel.steps() != input.size(2) || kernel.batch() != input.size(0)) {
            // No training forward pass to reuse: recompute it from the state the stock layer would use.
            forward(input, tbptt ? stateMap.get(STATE_KEY_PREV_ACTIVATION) : null, tbptt ? stateMap.get(STATE_KEY_PREV_MEMCELL) : null, true, workspaceMgr);
            if (tbptt) storeLast(tBpttStateMap);
        }
        cachedForBackprop = false;
        int batch = kernel.batch(), steps = kernel.steps(), hid = hidden(), nIn = nIn();
        long t0 = StepProfile.start();
        // reused across steps (13 MB per layer and step for 2 x 512, batch 64 x 100: RSS grew with the garbage)
        float[] dh = dhBuf = dhBuf != null && dhBuf.length >= steps * batch * hid ? dhBuf : new float[steps * batch * hid];
        NdCopy.timeMajor(epsilon).get(0, dh, 0, steps * batch * hid);
        StepProfile.stop(StepProfile.Phase.COPIES, t0);
        weightNoiseParams.clear();
        // the first layer's input gradient, for one-hot input: DL4J drops it (an Embedding layer returns none either)
        boolean wantDx = !(getIndex() == 0 && kernel.oneHotInput());
        FloatBuffer dx = kernel.backward(dh, wantDx);
        t0 = StepProfile.start();
        Gradient g = writeGradients();
        if (dx != null && dropout != null) dropout.backprop(dx, steps * batch * nIn);
        INDArray epsOut = dx == null ? null : NdCopy.timeMajorArray(dx, batch, nIn, steps, dataType, ArrayType.ACTIVATION_GRAD, workspaceMgr);
        StepProfile.stop(StepProfile.Phase.COPIES, t0);
        return new Pair<>(g, epsOut == null || dropout != null ? epsOut : backpropDropOutIfPresent(epsOut));
    }

    /** Writes the kernel's weight gradients into this layer's gradient views; returns them as a Gradient. */
    private Gradient writeGradients() {
        int hid = hidden();
        Gradient g = new DefaultGradient();
        assign(LSTMParamInitializer.INPUT_WEIGHT_KEY, kernel.dWT, 4 * hid, nIn(), g);
        assign(LSTMParamInitializer.RECURRENT_WEIGHT_KEY, kernel.dRWT, 4 * hid, hid, g);
        INDArray dbView = gradientViews.get(LSTMParamInitializer.BIAS_KEY);
        FloatBuffer dbDense = NdCopy.dense(dbView);
        if (dbDense != null) dbDense.put(0, kernel.db);
        else dbView.assign(HostArrays.detached(kernel.db, dbView.shape()));
        g.gradientForVariable().put(LSTMParamInitializer.BIAS_KEY, dbView);
        return g;
    }

    /** Writes a row-major [4H, n] gradient (the transpose of DL4J's [n, 4H]) into the layer's gradient view. */
    private void assign(String key, FloatBuffer src, int rows, int cols, Gradient g) {
        INDArray view = gradientViews.get(key);
        NdCopy.writeTransposed(view, src, rows, cols);
        g.gradientForVariable().put(key, view);
    }
}
