package textgen.model;

import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.gradient.DefaultGradient;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.layers.recurrent.RnnOutputLayer;
import org.deeplearning4j.nn.params.DefaultParamInitializer;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.linalg.activations.impl.ActivationSoftmax;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.transforms.custom.SoftMax;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.lossfunctions.impl.LossMCXENT;
import org.nd4j.common.primitives.Pair;

import java.nio.FloatBuffer;


/**
 * DL4J's {@code RnnOutputLayer} whose training step, for the softmax + cross-entropy output textgen builds, is one
 * pass on time-major rows: logits (one GEMM onto rows holding the bias), softmax, the loss, and dL/dlogits = p - y,
 * then the weight gradient, bias gradient and the gradient for the layer below with one GEMM/GEMV each.
 *
 * <p>The stock layer, per training step, reshapes its [B, H, T] input to [B*T, H] with a copy, computes logits and
 * softmax twice (once in {@code backpropGradient}, again in {@code computeScore}) and hands back an epsilon the LSTM
 * below has to transpose: 22% of an iteration of a 2 x 128 model. Here the input is read in place (the LSTM layer
 * returns its output time-major), the loss of the backward pass is kept for the {@code computeScore} DL4J calls right
 * after it, and the epsilon is returned time-major. Any other setting (masks, other losses or activations, weight
 * noise) runs the stock code.
 *
 * <p>Input dropout ({@code model.dropout}) is {@link InputDropout}, on a copy of the rows. The score is the loss of
 * the dropped input the gradients come from (what PyTorch and Keras report as the training loss); the stock layer's
 * {@code computeScore} recomputes it from the input without dropout.
 */
public class FastRnnOutputLayer extends RnnOutputLayer {
    /** Sum of the loss over the minibatch, from the last fast backward pass, until the computeScore after it. */
    private double lossSum;
    private boolean lossFresh;
    private FloatBuffer ones, dbBuf, weights, dropped; // reused across calls
    private float[] probs, targets;

    private final InputDropout dropout; // null: none, or DL4J's own (the stock code)

    public FastRnnOutputLayer(NeuralNetConfiguration conf, DataType dataType) {
        super(conf, dataType);
        dropout = InputDropout.of(layerConf().getIDropout());
    }

    private boolean fastPath() {
        org.deeplearning4j.nn.conf.layers.RnnOutputLayer c = layerConf();
        return input != null && input.rank() == 3 && labels != null && labels.rank() == 3
                && java.util.Arrays.equals(labels.shape(), new long[]{input.size(0), c.getNOut(), input.size(2)})
                && input.size(1) == c.getNIn()
                && maskArray == null && (c.getIDropout() == null || dropout != null) && c.getWeightNoise() == null && hasBias()
                && c.getRnnDataFormat() != RNNFormat.NWC
                && c.getActivationFn() instanceof ActivationSoftmax
                && c.getLossFn() instanceof LossMCXENT loss && loss.getWeights() == null;
    }

    @Override
    public Pair<Gradient, INDArray> backpropGradient(INDArray epsilon, LayerWorkspaceMgr workspaceMgr) {
        lossFresh = false;
        if (!fastPath()) return super.backpropGradient(epsilon, workspaceMgr);
        assertInputSet(true);
        int batch = (int) input.size(0), hid = (int) input.size(1), steps = (int) input.size(2), vocab = (int) layerConf().getNOut();
        int rows = batch * steps, n = rows * vocab;
        long t0 = StepProfile.start();
        FloatBuffer x = NdCopy.timeMajor(input); // [rows, H]
        if (dropout != null) { // onto a copy: the input is the layer below's output
            if (dropped == null || dropped.capacity() < rows * hid) dropped = CpuKernels.alloc((long) rows * hid);
            x = dropped.put(0, x, 0, rows * hid);
            dropout.apply(x, rows * hid);
        }
        FloatBuffer w = weights(hid, vocab);        // [V, H]
        StepProfile.stop(StepProfile.Phase.COPIES, t0);

        // logits = bias + x W^T, then softmax (libnd4j's, vectorized) in place
        INDArray zArr = workspaceMgr.createUninitialized(ArrayType.BP_WORKING_MEM, DataType.FLOAT, new long[]{rows, vocab}, 'c');
        FloatBuffer z = NdCopy.dense(zArr);
        float[] bias = NdCopy.read(getParam(DefaultParamInitializer.BIAS_KEY));
        for (int r = 0; r < rows; r++) z.put(r * vocab, bias);
        t0 = StepProfile.start();
        Blas.CPU.sgemm(false, true, rows, vocab, hid, 1f, x, hid, w, hid, 1f, z, vocab);
        StepProfile.stop(StepProfile.Phase.GEMM, t0);
        t0 = StepProfile.start();
        Nd4j.exec(new SoftMax(zArr, zArr, 1));

        // loss = -sum y log p (p clipped below as LossMCXENT clips it), dL/dlogits = p - y
        // reused across steps: fresh ones were 2 x 1.6 MB of garbage per step for a 64 x 100 batch of 65 characters
        float[] p = probs = probs != null && probs.length >= n ? probs : new float[n];
        float[] y = targets = targets != null && targets.length >= n ? targets : new float[n];
        z.get(0, p, 0, n);
        NdCopy.timeMajor(labels).get(0, y, 0, n);
        double clip = ((LossMCXENT) layerConf().getLossFn()).getSoftmaxClipEps(), sum = 0;
        for (int i = 0; i < n; i++) {
            if (y[i] != 0f) sum -= y[i] * Math.log(Math.max(p[i], clip));
        }
        for (int i = 0; i < n; i++) p[i] -= y[i];
        z.put(0, p, 0, n);
        StepProfile.stop(StepProfile.Phase.OUTPUT, t0);

        // dW ([V, H] row-major, DL4J's 'f' [H, V]) = dZ^T x; db = dZ^T 1; epsilon [rows, H] = dZ W
        Gradient g = new DefaultGradient();
        INDArray dwView = gradientViews.get(DefaultParamInitializer.WEIGHT_KEY);
        FloatBuffer dw = NdCopy.dense(dwView);
        boolean direct = dw != null && dwView.ordering() == 'f';
        if (!direct) dw = CpuKernels.alloc((long) vocab * hid);
        t0 = StepProfile.start();
        Blas.CPU.sgemm(true, false, vocab, hid, rows, 1f, z, vocab, x, hid, 0f, dw, hid);
        StepProfile.stop(StepProfile.Phase.GEMM, t0);
        if (!direct) NdCopy.writeTransposed(dwView, dw, vocab, hid);
        g.gradientForVariable().put(DefaultParamInitializer.WEIGHT_KEY, dwView);

        if (ones == null || ones.capacity() < rows) {
            ones = CpuKernels.alloc(rows);
            for (int i = 0; i < rows; i++) ones.put(i, 1f);
        }
        if (dbBuf == null || dbBuf.capacity() < vocab) dbBuf = CpuKernels.alloc(vocab);
        t0 = StepProfile.start();
        Blas.CPU.sgemv(true, rows, vocab, 1f, z, vocab, ones, 0f, dbBuf);
        StepProfile.stop(StepProfile.Phase.GEMM, t0);
        INDArray dbView = gradientViews.get(DefaultParamInitializer.BIAS_KEY);
        NdCopy.put(dbView, dbBuf);
        g.gradientForVariable().put(DefaultParamInitializer.BIAS_KEY, dbView);

        // epsilon, time-major [T, B, H] (permuted to [B, H, T]): the LSTM below reads it without a transpose
        INDArray tbh = workspaceMgr.createUninitialized(ArrayType.ACTIVATION_GRAD, dataType, new long[]{steps, batch, hid}, 'c');
        FloatBuffer eps = NdCopy.dense(tbh);
        if (eps == null) eps = CpuKernels.alloc((long) rows * hid); // DOUBLE networks (gradient checks): computed in float
        t0 = StepProfile.start();
        Blas.CPU.sgemm(false, false, rows, hid, vocab, 1f, z, vocab, w, hid, 0f, eps, hid);
        StepProfile.stop(StepProfile.Phase.GEMM, t0);
        if (dropout != null) dropout.backprop(eps, rows * hid);
        if (tbh.dataType() != DataType.FLOAT) NdCopy.put(tbh, eps);
        INDArray epsilon3d = tbh.permute(1, 2, 0);
        java.lang.ref.Reference.reachabilityFence(zArr); // z is its memory (see NdCopy's class comment)

        lossSum = sum;
        lossFresh = true;
        weightNoiseParams.clear();
        return new Pair<>(g, epsilon3d);
    }

    /** The weights as row-major [V, H]: the parameter's own memory when it is dense 'f' order [H, V] (always, in practice). */
    private FloatBuffer weights(int hid, int vocab) {
        INDArray w = getParam(DefaultParamInitializer.WEIGHT_KEY);
        FloatBuffer dense = NdCopy.dense(w);
        if (dense != null && w.ordering() == 'f') return dense;
        if (weights == null || weights.capacity() < (long) vocab * hid) weights = CpuKernels.alloc((long) vocab * hid);
        NdCopy.readTransposed(w, weights);
        return weights;
    }

    /** The score of the backward pass just run (DL4J calls this right after it), else the stock computation. */
    @Override
    public double computeScore(double fullNetRegTerm, boolean training, LayerWorkspaceMgr workspaceMgr) {
        boolean fresh = lossFresh && training;
        lossFresh = false;
        if (!fresh) return super.computeScore(fullNetRegTerm, training, workspaceMgr);
        double s = lossSum;
        if (conf().isMiniBatch()) s /= getInputMiniBatchSize();
        score = s + fullNetRegTerm;
        return score;
    }

    @Override
    public void setInput(INDArray input, LayerWorkspaceMgr workspaceMgr) {
        lossFresh = false;
        super.setInput(input, workspaceMgr);
    }

    @Override
    public void setLabels(INDArray labels) {
        lossFresh = false;
        super.setLabels(labels);
    }

    @Override
    public void clear() {
        lossFresh = false;
        super.clear();
    }
}
