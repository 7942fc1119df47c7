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

    public FastLstmLayer(NeuralNetConfiguration conf, DataType dataType) {
        super(conf, dataType);
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
        float[] stamp = stamp(getParam(LSTMParamInitializer.INPUT_WEIGHT_KEY), getParam(LSTMParamInitializer.RECURRENT_WEIGHT_KEY),
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
        readTransposed(getParam(LSTMParamInitializer.INPUT_WEIGHT_KEY), k.wT);
        readTransposed(getParam(LSTMParamInitializer.RECURRENT_WEIGHT_KEY), k.rwT);
        System.arraycopy(NdCopy.read(getParam(LSTMParamInitializer.BIAS_KEY)), 0, k.bias, 0, k.bias.length);
    }

    /** Copies [n, 4H] {@code w} into {@code dst} as row-major [4H, n]: one bulk copy when it is dense 'f' order. */
    private static void readTransposed(INDArray w, FloatBuffer dst) {
        int n = (int) w.length();
        FloatBuffer dense = NdCopy.dense(w);
        if (dense != null && w.ordering() == 'f') dst.put(0, dense, 0, n);
        else dst.put(0, NdCopy.read(w.transpose()), 0, n);
    }

    /** A few parameter values from each array: any optimizer step changes them, so inference can skip the copy. */
    private static float[] stamp(INDArray... arrays) {
        float[] s = new float[arrays.length * 8];
        int i = 0;
        for (INDArray a : arrays) {
            long n = a.length();
            for (int k = 0; k < 8; k++) s[i++] = a.getFloat((n - 1) * k / 7);
        }
        return s;
    }

    /** Runs the kernel on {@code in} [B, nIn, T] from state (h0, c0) (null = zeros); returns output [B, H, T]. */
    private INDArray forward(INDArray in, INDArray h0, INDArray c0, boolean training, LayerWorkspaceMgr mgr) {
        check();
        loadParams(training);
        int batch = (int) in.size(0), steps = (int) in.size(2), nIn = nIn(), hid = hidden();
        FloatBuffer x = kernel.prepare(steps, batch);
        x.put(0, toTimeMajor(NdCopy.read(in), batch, nIn, steps));
        kernel.setInitialState(h0 == null ? null : NdCopy.read(h0), c0 == null ? null : NdCopy.read(c0));
        kernel.forward();
        cachedForBackprop = training;
        float[] out = new float[steps * batch * hid];
        kernel.outputs(out);
        return NdCopy.write(fromTimeMajor(out, batch, hid, steps), new long[]{batch, hid, steps}, dataType, ArrayType.ACTIVATIONS, mgr);
    }

    /** [B][F][T] (DL4J's NCW, row-major) to time-major rows [T*B][F]. */
    static float[] toTimeMajor(float[] ncw, int batch, int features, int steps) {
        float[] tm = new float[ncw.length];
        for (int s = 0; s < steps; s++) {
            for (int bb = 0; bb < batch; bb++) {
                int dst = (s * batch + bb) * features, src = bb * features * steps + s;
                for (int k = 0; k < features; k++) tm[dst + k] = ncw[src + k * steps];
            }
        }
        return tm;
    }

    /** Time-major rows [T*B][F] to [B][F][T]. */
    static float[] fromTimeMajor(float[] tm, int batch, int features, int steps) {
        float[] ncw = new float[tm.length];
        for (int s = 0; s < steps; s++) {
            for (int bb = 0; bb < batch; bb++) {
                int src = (s * batch + bb) * features;
                for (int k = 0; k < features; k++) ncw[(bb * features + k) * steps + s] = tm[src + k];
            }
        }
        return ncw;
    }

    private void storeLast(Map<String, INDArray> into) {
        long[] shape = {kernel.batch(), hidden()};
        into.put(STATE_KEY_PREV_ACTIVATION, NdCopy.detached(kernel.lastH(), shape));
        into.put(STATE_KEY_PREV_MEMCELL, NdCopy.detached(kernel.lastC(), shape));
    }

    @Override
    public INDArray activate(INDArray input, boolean training, LayerWorkspaceMgr workspaceMgr) {
        setInput(input, workspaceMgr);
        return activate(training, workspaceMgr);
    }

    @Override
    public INDArray activate(boolean training, LayerWorkspaceMgr workspaceMgr) {
        assertInputSet(false);
        applyDropOutIfNecessary(training, workspaceMgr);
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
        applyDropOutIfNecessary(training, workspaceMgr);
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
        FloatBuffer dx = kernel.backward(toTimeMajor(NdCopy.read(epsilon), batch, hid, steps));

        Gradient g = new DefaultGradient();
        assign(LSTMParamInitializer.INPUT_WEIGHT_KEY, kernel.dWT, 4 * hid, nIn, g);
        assign(LSTMParamInitializer.RECURRENT_WEIGHT_KEY, kernel.dRWT, 4 * hid, hid, g);
        INDArray dbView = gradientViews.get(LSTMParamInitializer.BIAS_KEY);
        FloatBuffer dbDense = NdCopy.dense(dbView);
        if (dbDense != null) dbDense.put(0, kernel.db);
        else dbView.assign(NdCopy.detached(kernel.db, dbView.shape()));
        g.gradientForVariable().put(LSTMParamInitializer.BIAS_KEY, dbView);

        float[] dxa = new float[steps * batch * nIn];
        dx.get(0, dxa);
        INDArray epsOut = NdCopy.write(fromTimeMajor(dxa, batch, nIn, steps), new long[]{batch, nIn, steps},
                dataType, ArrayType.ACTIVATION_GRAD, workspaceMgr);
        weightNoiseParams.clear();
        return new Pair<>(g, backpropDropOutIfPresent(epsOut));
    }

    /** Writes a row-major [4H, n] gradient (the transpose of DL4J's [n, 4H]) into the layer's gradient view. */
    private void assign(String key, FloatBuffer src, int rows, int cols, Gradient g) {
        INDArray view = gradientViews.get(key);
        FloatBuffer dense = NdCopy.dense(view); // 'f' order [cols, rows]: the same memory layout, one bulk copy
        if (dense != null && view.ordering() == 'f') {
            dense.put(0, src, 0, rows * cols);
        } else {
            float[] v = new float[rows * cols];
            src.get(0, v);
            view.assign(NdCopy.detached(v, new long[]{rows, cols}).transpose());
        }
        g.gradientForVariable().put(key, view);
    }
}
