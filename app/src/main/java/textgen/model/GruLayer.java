package textgen.model;

import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.RNNFormat;
import org.deeplearning4j.nn.gradient.DefaultGradient;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.layers.recurrent.BaseRecurrentLayer;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;
import textgen.tensor.HostArrays;

import java.nio.FloatBuffer;

import static org.nd4j.linalg.indexing.NDArrayIndex.all;
import static org.nd4j.linalg.indexing.NDArrayIndex.interval;
import static textgen.model.GruParamInitializer.BIAS_KEY;
import static textgen.model.GruParamInitializer.INPUT_WEIGHT_KEY;
import static textgen.model.GruParamInitializer.RECURRENT_BIAS_KEY;
import static textgen.model.GruParamInitializer.RECURRENT_WEIGHT_KEY;

/**
 * The {@link GRU} layer, in ND4J operations only (so it runs on every backend): the input projection of a whole
 * segment is one matrix product, the recurrence a loop over time steps of one product and a few element-wise
 * operations each, and backpropagation through time is written out by hand (the recurrent-weight gradient is again
 * one product over the segment). Intermediate arrays are time-major, {@code [T*B, ...]} with the rows of step t at
 * {@code [t*B, (t+1)*B)}, so every step works on contiguous blocks.
 *
 * <p>State follows DL4J's recurrent layers: {@code rnnTimeStep} reads and writes the state map, truncated BPTT's
 * forward pass the TBPTT state map ({@link CarriedStateNetwork} keeps it across minibatches). A training forward
 * pass keeps its gates and states in storage of its own (outside DL4J's workspaces, so their lifetimes do not
 * matter), and backprop works from them, so it starts from the state that pass started in, as {@link FastLstmLayer}
 * does; gradients do not flow into the carried state. The state key is DL4J's
 * {@code prevAct} (the hidden state h), so carried-state checkpoints hold it like an LSTM's.
 *
 * <p>On the CPU ({@link FastGru}) the same passes run on {@link GruKernel} (MKL or OpenBLAS and Java loops on host memory)
 * instead of ND4J operations; state handling is the same for both.
 *
 * <p>Over 300 lines because the two ways of running the passes (ND4J operations and the kernel, behind {@code Pass})
 * share this layer's state maps, parameter and gradient views and the kept training pass; apart, each would have to
 * expose them to the other. The ND4J-operations math is most of it: it is the GRU on every backend but the CPU.
 */
public class GruLayer extends BaseRecurrentLayer<GRU> {
    public static final String STATE_KEY_PREV_ACTIVATION = "prevAct";

    /** The last training forward pass (in {@link #kept} storage, or the kernel's) and the input it read, for backprop. */
    private Pass trained;
    private float[] dhBuf;
    private INDArray trainedInput;

    /** Whether the passes run on {@link GruKernel} (CPU) rather than ND4J operations (any backend). */
    private final boolean cpuKernel;
    private final InputDropout dropout; // on the kernel; null: DL4J's dropout code, if any
    private GruKernel kernel;
    /** {@link NdCopy#stamp} of the parameters the kernel holds after an inference pass (null: reload). */
    private float[] paramStamp;

    /** The layer on ND4J operations. */
    public GruLayer(NeuralNetConfiguration conf, DataType dataType) {
        this(conf, dataType, false);
    }

    /** {@code cpuKernel}: the layer on {@link GruKernel} (CPU backend only). */
    public GruLayer(NeuralNetConfiguration conf, DataType dataType, boolean cpuKernel) {
        super(conf, dataType);
        this.cpuKernel = cpuKernel;
        dropout = cpuKernel ? InputDropout.of(layerConf().getIDropout()) : null;
    }

    /** Whether this layer computes on {@link GruKernel}. */
    boolean usesCpuKernel() {
        return cpuKernel;
    }

    /** One forward pass, by either implementation: what the layer returns and carries, and what backprop starts from. */
    private interface Pass {
        int batch();

        int steps();

        /** h1..hT as [B, H, T], in the activations workspace. */
        INDArray output(LayerWorkspaceMgr mgr);

        /** hT, outside any workspace: the state the next segment or step starts from. */
        INDArray last();
    }

    /** A pass on the kernel: its caches hold it until the kernel's next pass. */
    private record KernelPass(GruKernel k, int batch, int steps, DataType dataType) implements Pass {
        @Override
        public INDArray output(LayerWorkspaceMgr mgr) {
            long t0 = StepProfile.start();
            INDArray out = NdCopy.timeMajorArray(k.outputs(), batch, k.hiddenSize(), steps, dataType, ArrayType.ACTIVATIONS, mgr);
            StepProfile.stop(StepProfile.Phase.COPIES, t0);
            return out;
        }

        @Override
        public INDArray last() {
            return HostArrays.detached(k.lastH(), batch, k.hiddenSize());
        }
    }

    /** One forward pass in ND4J: hidden states h0..hT, and (for backprop) the gates of every step and the input rows. */
    private record Forward(INDArray h, INDArray r, INDArray z, INDArray n, INDArray hn, INDArray x, int batch, int steps, boolean kept) implements Pass {
        /** h1..hT as [B, H, T] (a view of time-major storage). */
        INDArray output() {
            return rows(h, 1, steps + 1, batch).reshape('c', steps, batch, h.size(1)).permute(1, 2, 0);
        }

        /** The output in the activations workspace (a copy when the pass was kept outside it). */
        @Override
        public INDArray output(LayerWorkspaceMgr mgr) {
            if (!kept) return output();
            INDArray out = mgr.createUninitialized(ArrayType.ACTIVATIONS, h.dataType(), new long[]{steps, batch, h.size(1)}, 'c');
            return out.assign(output().permute(2, 0, 1)).permute(1, 2, 0);
        }

        @Override
        public INDArray last() {
            try (MemoryWorkspace ws = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
                return rows(h, steps, steps + 1, batch).dup('c');
            }
        }
    }

    /** Rows of time steps [from, to) of a time-major [T*B, n] array. */
    private static INDArray rows(INDArray a, int from, int to, int batch) {
        return a.get(interval((long) from * batch, (long) to * batch), all());
    }

    private static INDArray step(INDArray a, int t, int batch) {
        return rows(a, t, t + 1, batch);
    }

    /** Gate block g (0 = r, 1 = z, 2 = n) of a [rows, 3H] array. */
    private static INDArray gate(INDArray a, int g, long hidden) {
        return a.get(all(), interval(g * hidden, (g + 1) * hidden));
    }

    /**
     * Storage of the last training forward pass, outside any workspace and reused while the shapes stay (x, h, r, z,
     * n, hn): backprop reads it instead of recomputing the pass (a quarter of an iteration).
     */
    private final INDArray[] kept = new INDArray[6];

    private INDArray kept(int slot, long... shape) {
        INDArray a = kept[slot];
        if (a == null || a.dataType() != dataType || !java.util.Arrays.equals(a.shape(), shape)) {
            try (MemoryWorkspace ws = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
                a = Nd4j.createUninitialized(dataType, shape, 'c');
            }
            kept[slot] = a;
        }
        return a;
    }

    /**
     * The forward pass over {@code input} from state {@code h0} (null = zeros). A training pass keeps what backprop
     * needs ({@link #trained}); {@code forBackprop} recomputes it into backprop's working memory.
     */
    private Pass forward(INDArray h0, boolean training, boolean forBackprop, LayerWorkspaceMgr mgr) {
        assertInputSet(false);
        if (input.rank() != 3) throw new IllegalStateException("GRU layer expects input [batch, features, time], got rank " + input.rank() + " " + layerId());
        if (maskArray != null) throw new UnsupportedOperationException("GRU layer does not support masks " + layerId());
        if (layerConf().getRnnDataFormat() == RNNFormat.NWC) throw new UnsupportedOperationException("GRU layer uses NCW data " + layerId());
        if (dropout == null) applyDropOutIfNecessary(training, mgr);
        boolean keep = training && !forBackprop, all = keep || forBackprop;
        INDArray in = input.castTo(dataType);
        int batch = (int) in.size(0), nIn = (int) in.size(1), steps = (int) in.size(2);
        long hid = layerConf().getNOut(), rowsAll = (long) steps * batch;
        if (nIn != layerConf().getNIn()) throw new IllegalStateException("GRU layer expects " + layerConf().getNIn() + " input features, got " + nIn + " " + layerId());
        if (h0 != null && h0.size(0) != batch) {
            throw new IllegalStateException("GRU state has " + h0.size(0) + " rows but the input " + batch
                    + " (rnnTimeStep with another batch size without rnnClearPreviousState?) " + layerId());
        }
        if (cpuKernel) return kernelForward(h0, training);
        ArrayType work = forBackprop ? ArrayType.BP_WORKING_MEM : ArrayType.FF_WORKING_MEM;
        INDArray w = getParamWithNoise(INPUT_WEIGHT_KEY, training, mgr), rw = getParamWithNoise(RECURRENT_WEIGHT_KEY, training, mgr);
        INDArray b = getParamWithNoise(BIAS_KEY, training, mgr), rb = getParamWithNoise(RECURRENT_BIAS_KEY, training, mgr);

        // input projection of the whole segment: gx = x W + b_ih, [T*B, 3H]
        INDArray x = (keep ? kept(0, steps, batch, nIn).assign(in.permute(2, 0, 1)) : mgr.dup(work, in.permute(2, 0, 1), 'c'))
                .reshape('c', rowsAll, nIn);
        INDArray gx = mgr.createUninitialized(work, dataType, new long[]{rowsAll, 3 * hid}, 'c');
        Nd4j.gemm(x, w, gx, false, false, 1.0, 0.0);
        gx.addiRowVector(b);

        long[] hShape = {rowsAll + batch, hid}, gateShape = {all ? rowsAll : batch, hid};
        INDArray h = keep ? kept(1, hShape) : mgr.createUninitialized(forBackprop ? work : ArrayType.ACTIVATIONS, dataType, hShape, 'c');
        if (h0 == null) step(h, 0, batch).assign(0);
        else step(h, 0, batch).assign(h0.castTo(dataType));
        INDArray r = keep ? kept(2, gateShape) : mgr.createUninitialized(work, dataType, gateShape, 'c');
        INDArray z = keep ? kept(3, gateShape) : mgr.createUninitialized(work, dataType, gateShape, 'c');
        INDArray n = keep ? kept(4, gateShape) : mgr.createUninitialized(work, dataType, gateShape, 'c');
        INDArray hn = keep ? kept(5, gateShape) : mgr.createUninitialized(work, dataType, gateShape, 'c');
        INDArray gh = mgr.createUninitialized(work, dataType, new long[]{batch, 3 * hid}, 'c');
        for (int t = 0; t < steps; t++) {
            int s = all ? t : 0;
            INDArray hPrev = step(h, t, batch), hNext = step(h, t + 1, batch), gxt = step(gx, t, batch);
            INDArray rt = step(r, s, batch), zt = step(z, s, batch), nt = step(n, s, batch), hnt = step(hn, s, batch);
            Nd4j.gemm(hPrev, rw, gh, false, false, 1.0, 0.0); // h W_h, [B, 3H]
            gh.addiRowVector(rb);
            Transforms.sigmoid(rt.assign(gate(gxt, 0, hid)).addi(gate(gh, 0, hid)), false);
            Transforms.sigmoid(zt.assign(gate(gxt, 1, hid)).addi(gate(gh, 1, hid)), false);
            hnt.assign(gate(gh, 2, hid));
            Transforms.tanh(nt.assign(rt).muli(hnt).addi(gate(gxt, 2, hid)), false);
            hNext.assign(hPrev).subi(nt).muli(zt).addi(nt); // (1 - z) n + z h = n + z (h - n)
        }
        Forward f = new Forward(h, all ? r : null, all ? z : null, all ? n : null, all ? hn : null, all ? x : null, batch, steps, keep);
        if (keep) {
            trained = f;
            trainedInput = input;
        }
        return f;
    }

    /**
     * The forward pass on the kernel (after {@link #forward}'s checks and dropout). A training pass is kept for
     * backprop; any other pass overwrites the kernel's caches, so it drops what was kept.
     */
    private Pass kernelForward(INDArray h0, boolean training) {
        int batch = (int) input.size(0), steps = (int) input.size(2);
        long t0 = StepProfile.start();
        loadParams(training);
        FloatBuffer x = kernel.prepare(steps, batch);
        NdCopy.timeMajor(input, x);
        if (training && dropout != null) dropout.apply(x, (int) input.length());
        kernel.setInitialState(h0 == null ? null : NdCopy.read(h0));
        StepProfile.stop(StepProfile.Phase.COPIES, t0);
        kernel.forward();
        Pass p = new KernelPass(kernel, batch, steps, dataType);
        trained = training ? p : null;
        trainedInput = training ? input : null;
        return p;
    }

    /** Copies the parameters into the kernel unless an inference pass finds the ones it holds current. */
    private void loadParams(boolean training) {
        int hid = (int) layerConf().getNOut();
        if (kernel == null) kernel = new GruKernel((int) layerConf().getNIn(), hid);
        INDArray[] p = params(training);
        float[] stamp = NdCopy.stamp(p);
        if (!training && java.util.Arrays.equals(stamp, paramStamp)) return;
        loadInto(kernel, p);
        paramStamp = training ? null : stamp; // a training pass may have used noisy weights
    }

    /** W, RW, b, rb (with weight noise, if any, in training). */
    private INDArray[] params(boolean training) {
        LayerWorkspaceMgr mgr = LayerWorkspaceMgr.noWorkspaces();
        return new INDArray[]{getParamWithNoise(INPUT_WEIGHT_KEY, training, mgr), getParamWithNoise(RECURRENT_WEIGHT_KEY, training, mgr),
                getParamWithNoise(BIAS_KEY, training, mgr), getParamWithNoise(RECURRENT_BIAS_KEY, training, mgr)};
    }

    private static void loadInto(GruKernel k, INDArray[] p) {
        // 'f' order [n, 3H] is row-major [3H, n]: the kernel's layout
        NdCopy.readTransposed(p[0], k.wT);
        NdCopy.readTransposed(p[1], k.rwT);
        System.arraycopy(NdCopy.read(p[2]), 0, k.bias, 0, k.bias.length);
        System.arraycopy(NdCopy.read(p[3]), 0, k.rbias, 0, k.rbias.length);
        k.parametersChanged();
    }

    /** A kernel of its own holding this layer's current parameters (for {@link Predictor}). */
    GruKernel kernelCopy() {
        GruKernel k = new GruKernel((int) layerConf().getNIn(), (int) layerConf().getNOut());
        loadInto(k, new INDArray[]{getParam(INPUT_WEIGHT_KEY), getParam(RECURRENT_WEIGHT_KEY), getParam(BIAS_KEY), getParam(RECURRENT_BIAS_KEY)});
        return k;
    }

    @Override
    public INDArray activate(INDArray input, boolean training, LayerWorkspaceMgr workspaceMgr) {
        setInput(input, workspaceMgr);
        return activate(training, workspaceMgr);
    }

    @Override
    public INDArray activate(boolean training, LayerWorkspaceMgr workspaceMgr) {
        return forward(null, training, false, workspaceMgr).output(workspaceMgr);
    }

    @Override
    public INDArray rnnTimeStep(INDArray input, LayerWorkspaceMgr workspaceMgr) {
        setInput(input, workspaceMgr);
        Pass f = forward(stateMap.get(STATE_KEY_PREV_ACTIVATION), false, false, workspaceMgr);
        stateMap.put(STATE_KEY_PREV_ACTIVATION, f.last());
        return f.output(workspaceMgr);
    }

    @Override
    public INDArray rnnActivateUsingStoredState(INDArray input, boolean training, boolean storeLastForTBPTT, LayerWorkspaceMgr workspaceMgr) {
        setInput(input, workspaceMgr);
        Pass f = forward(tBpttStateMap.get(STATE_KEY_PREV_ACTIVATION), training, false, workspaceMgr);
        if (storeLastForTBPTT) tBpttStateMap.put(STATE_KEY_PREV_ACTIVATION, f.last());
        return f.output(workspaceMgr);
    }

    @Override
    public Pair<Gradient, INDArray> backpropGradient(INDArray epsilon, LayerWorkspaceMgr workspaceMgr) {
        return backprop(epsilon, false, workspaceMgr);
    }

    @Override
    public Pair<Gradient, INDArray> tbpttBackpropGradient(INDArray epsilon, int tbpttBackwardLength, LayerWorkspaceMgr workspaceMgr) {
        if (tbpttBackwardLength < input.size(2)) {
            throw new UnsupportedOperationException("GRU layer backpropagates through the whole segment: set tBPTTBackwardLength = tBPTTForwardLength");
        }
        return backprop(epsilon, true, workspaceMgr);
    }

    /**
     * Backpropagation through time. With h = n + z (hPrev - n), per step from the last: dh = dL/dh (from above and
     * from the next step); dn' = dh (1 - z)(1 - n^2); dz' = dh (hPrev - n) z (1 - z); dr' = dn' hn r (1 - r);
     * input-side gate gradients [dr', dz', dn'], recurrent-side [dr', dz', dn' r]; dhPrev = dh z + (recurrent-side) W_h^T.
     */
    private Pair<Gradient, INDArray> backprop(INDArray epsilon, boolean tbptt, LayerWorkspaceMgr mgr) {
        assertInputSet(true);
        // The training forward pass just made, kept: DL4J M2.1 calls backpropGradient (not tbpttBackpropGradient)
        // even in truncated BPTT, after a forward pass from the stored state; recomputing from the state a stock layer
        // would use is wrong there (DL4J's own LSTM starts from zeros), so the kept pass is the one to use. Without
        // one (no training forward pass on this input), recompute it as DL4J's layers do.
        Pass pass = trained != null && input == trainedInput && trained.batch() == input.size(0) && trained.steps() == input.size(2)
                ? trained : forward(tbptt ? stateMap.get(STATE_KEY_PREV_ACTIVATION) : null, true, true, mgr);
        trained = null;
        trainedInput = null;
        if (tbptt) tBpttStateMap.put(STATE_KEY_PREV_ACTIVATION, pass.last());
        if (pass instanceof KernelPass k) return kernelBackprop(k, epsilon, mgr);
        Forward f = (Forward) pass;
        int batch = f.batch(), steps = f.steps(), nIn = (int) layerConf().getNIn();
        long hid = layerConf().getNOut(), rows = (long) steps * batch;
        INDArray w = getParamWithNoise(INPUT_WEIGHT_KEY, true, mgr), rw = getParamWithNoise(RECURRENT_WEIGHT_KEY, true, mgr);

        INDArray eps = mgr.dup(ArrayType.BP_WORKING_MEM, epsilon.castTo(dataType).permute(2, 0, 1), 'c').reshape('c', rows, hid);
        INDArray dgx = mgr.createUninitialized(ArrayType.BP_WORKING_MEM, dataType, new long[]{rows, 3 * hid}, 'c');
        INDArray dgh = mgr.createUninitialized(ArrayType.BP_WORKING_MEM, dataType, new long[]{rows, 3 * hid}, 'c');
        INDArray dh = mgr.create(ArrayType.BP_WORKING_MEM, dataType, new long[]{batch, hid}, 'c');
        INDArray tmp = mgr.createUninitialized(ArrayType.BP_WORKING_MEM, dataType, new long[]{batch, hid}, 'c');
        for (int t = steps - 1; t >= 0; t--) {
            dh.addi(step(eps, t, batch));
            INDArray r = step(f.r(), t, batch), z = step(f.z(), t, batch), n = step(f.n(), t, batch), hn = step(f.hn(), t, batch);
            INDArray hPrev = step(f.h(), t, batch), dgxt = step(dgx, t, batch), dght = step(dgh, t, batch);
            INDArray dr = gate(dgxt, 0, hid), dz = gate(dgxt, 1, hid), dn = gate(dgxt, 2, hid);
            dn.assign(z).rsubi(1).muli(dh).muli(tmp.assign(n).muli(n).rsubi(1));
            dz.assign(hPrev).subi(n).muli(dh).muli(tmp.assign(z).rsubi(1).muli(z));
            dr.assign(dn).muli(hn).muli(tmp.assign(r).rsubi(1).muli(r));
            gate(dght, 0, hid).assign(dr);
            gate(dght, 1, hid).assign(dz);
            gate(dght, 2, hid).assign(dn).muli(r);
            dh.muli(z);
            Nd4j.gemm(dght, rw, dh, false, true, 1.0, 1.0);
        }

        Gradient g = new DefaultGradient(gradientsFlattened);
        INDArray gw = gradientViews.get(INPUT_WEIGHT_KEY), grw = gradientViews.get(RECURRENT_WEIGHT_KEY);
        INDArray gb = gradientViews.get(BIAS_KEY), grb = gradientViews.get(RECURRENT_BIAS_KEY);
        Nd4j.gemm(f.x(), dgx, gw, true, false, 1.0, 0.0);
        Nd4j.gemm(rows(f.h(), 0, steps, batch), dgh, grw, true, false, 1.0, 0.0);
        gb.assign(dgx.sum(true, 0));
        grb.assign(dgh.sum(true, 0));
        g.gradientForVariable().put(INPUT_WEIGHT_KEY, gw); // in parameter order
        g.gradientForVariable().put(RECURRENT_WEIGHT_KEY, grw);
        g.gradientForVariable().put(BIAS_KEY, gb);
        g.gradientForVariable().put(RECURRENT_BIAS_KEY, grb);

        INDArray dx = mgr.createUninitialized(ArrayType.ACTIVATION_GRAD, dataType, new long[]{steps, batch, nIn}, 'c');
        Nd4j.gemm(dgx, w, dx.reshape('c', rows, nIn), false, true, 1.0, 0.0);
        weightNoiseParams.clear();
        return new Pair<>(g, backpropDropOutIfPresent(dx.permute(1, 2, 0)));
    }

    /** Backprop on the kernel, from its pass {@code p} (still in its caches), into the layer's gradient views. */
    private Pair<Gradient, INDArray> kernelBackprop(KernelPass p, INDArray epsilon, LayerWorkspaceMgr mgr) {
        int batch = p.batch(), steps = p.steps(), nIn = (int) layerConf().getNIn(), hid = (int) layerConf().getNOut();
        // reused across steps, as FastLstmLayer's
        long t0 = StepProfile.start();
        float[] dh = dhBuf = dhBuf != null && dhBuf.length >= steps * batch * hid ? dhBuf : new float[steps * batch * hid];
        NdCopy.timeMajor(epsilon).get(0, dh, 0, steps * batch * hid);
        StepProfile.stop(StepProfile.Phase.COPIES, t0);
        // the first layer's input gradient, for one-hot input: DL4J drops it (an Embedding layer returns none either)
        FloatBuffer dx = p.k().backward(dh, !(getIndex() == 0 && p.k().oneHotInput()));
        t0 = StepProfile.start();
        Gradient g = new DefaultGradient(gradientsFlattened);
        INDArray gw = gradientViews.get(INPUT_WEIGHT_KEY), grw = gradientViews.get(RECURRENT_WEIGHT_KEY);
        INDArray gb = gradientViews.get(BIAS_KEY), grb = gradientViews.get(RECURRENT_BIAS_KEY);
        NdCopy.writeTransposed(gw, p.k().dWT, 3 * hid, nIn);
        NdCopy.writeTransposed(grw, p.k().dRWT, 3 * hid, hid);
        writeBias(gb, p.k().db);
        writeBias(grb, p.k().drb);
        g.gradientForVariable().put(INPUT_WEIGHT_KEY, gw); // in parameter order
        g.gradientForVariable().put(RECURRENT_WEIGHT_KEY, grw);
        g.gradientForVariable().put(BIAS_KEY, gb);
        g.gradientForVariable().put(RECURRENT_BIAS_KEY, grb);
        weightNoiseParams.clear();
        if (dx != null && dropout != null) dropout.backprop(dx, steps * batch * nIn);
        INDArray epsOut = dx == null ? null : NdCopy.timeMajorArray(dx, batch, nIn, steps, dataType, ArrayType.ACTIVATION_GRAD, mgr);
        StepProfile.stop(StepProfile.Phase.COPIES, t0);
        return new Pair<>(g, epsOut == null || dropout != null ? epsOut : backpropDropOutIfPresent(epsOut));
    }

    private static void writeBias(INDArray view, float[] values) {
        FloatBuffer dense = NdCopy.dense(view);
        if (dense != null) dense.put(0, values);
        else view.assign(HostArrays.detached(values, view.shape()));
    }

    @Override
    public boolean isPretrainLayer() {
        return false;
    }

    @Override
    public Type type() {
        return Type.RECURRENT;
    }
}
