package textgen.model;

import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.gradient.DefaultGradient;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.layers.recurrent.SimpleRnn;
import org.deeplearning4j.nn.params.SimpleRnnParamInitializer;
import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.common.primitives.Pair;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.broadcast.BroadcastCopyOp;
import org.nd4j.linalg.api.shape.Shape;
import org.nd4j.linalg.factory.Nd4j;

import static org.nd4j.linalg.indexing.NDArrayIndex.all;
import static org.nd4j.linalg.indexing.NDArrayIndex.point;

/**
 * DL4J's SimpleRnn layer whose backward pass starts from the state its forward pass started in.
 *
 * <p>In M2.1, {@code MultiLayerNetwork.computeGradientAndScore} runs truncated BPTT's forward pass from the stored
 * (carried) state ({@link #rnnActivateUsingStoredState}) and then calls {@code backpropGradient}, and the stock layer's
 * backward pass re-runs its forward pass from a zero state: under {@link CarriedStateNetwork} (consecutive sampling)
 * its gradient belonged to another loss than the one computed. This layer remembers the state each training forward
 * pass started in; when it is not zero, backprop re-runs the forward pass from it and also gives the recurrent weights
 * the gradient of the first step's recurrent term, {@code h0^T dL/dz_0}. Gradients do not flow into the carried state
 * (as in char-rnn and torch-rnn). From a zero state (random sampling, {@code activate}) it is the stock layer, as are
 * {@code rnnTimeStep} and every forward pass. Same parameters, state keys and state maps as the stock layer.
 */
public class CarriedSimpleRnnLayer extends SimpleRnn {
    /** The state the last training forward pass from the stored state started in (a detached copy), and the input it read. */
    private INDArray startState;
    private INDArray startInput;

    public CarriedSimpleRnnLayer(NeuralNetConfiguration conf, DataType dataType) {
        super(conf, dataType);
    }

    private void forgetStart() {
        startState = null;
        startInput = null;
    }

    @Override
    public INDArray activate(boolean training, LayerWorkspaceMgr workspaceMgr) {
        forgetStart(); // starts from zeros, as the stock backward pass does
        return super.activate(training, workspaceMgr);
    }

    @Override
    public INDArray rnnTimeStep(INDArray input, LayerWorkspaceMgr workspaceMgr) {
        forgetStart();
        return super.rnnTimeStep(input, workspaceMgr);
    }

    @Override
    public INDArray rnnActivateUsingStoredState(INDArray input, boolean training, boolean storeLastForTBPTT, LayerWorkspaceMgr workspaceMgr) {
        INDArray start = tBpttStateMap.get(STATE_KEY_PREV_ACTIVATION);
        INDArray out = super.rnnActivateUsingStoredState(input, training, storeLastForTBPTT, workspaceMgr);
        forgetStart();
        if (training && start != null) {
            try (MemoryWorkspace ws = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
                startState = start.castTo(dataType).dup('c');
            }
            startInput = this.input; // after input dropout, which backprop reuses
        }
        return out;
    }

    @Override
    public Pair<Gradient, INDArray> backpropGradient(INDArray epsilon, LayerWorkspaceMgr workspaceMgr) {
        return tbpttBackpropGradient(epsilon, -1, workspaceMgr);
    }

    @Override
    public Pair<Gradient, INDArray> tbpttBackpropGradient(INDArray epsilon, int tbpttBackLength, LayerWorkspaceMgr workspaceMgr) {
        INDArray h0 = startState != null && startInput == input ? startState : null;
        forgetStart();
        if (h0 == null) return super.tbpttBackpropGradient(epsilon, tbpttBackLength, workspaceMgr);
        return backpropFrom(h0, epsilon, tbpttBackLength, workspaceMgr);
    }

    /**
     * The stock backward pass (DL4J M2.1's {@code SimpleRnn.tbpttBackpropGradient}, without layer normalisation and
     * masks, which textgen never uses) over a forward pass re-run from {@code h0}.
     */
    private Pair<Gradient, INDArray> backpropFrom(INDArray h0, INDArray epsilon, int tbpttBackLength, LayerWorkspaceMgr mgr) {
        assertInputSet(true);
        if (hasLayerNorm() || maskArray != null) {
            throw new UnsupportedOperationException("textgen's SimpleRnn layer does not support layer normalisation or masks with a carried state " + layerId());
        }
        if (epsilon.ordering() != 'f' || !Shape.hasDefaultStridesForShape(epsilon)) epsilon = epsilon.dup('f');
        epsilon = permuteIfNWC(epsilon);
        INDArray in = permuteIfNWC(input.castTo(dataType));
        if (in.ordering() != 'f' || Shape.strideDescendingCAscendingF(in)) in = mgr.dup(ArrayType.BP_WORKING_MEM, in, 'f');
        long batch = in.size(0), steps = in.size(2), nOut = layerConf().getNOut();
        if (h0.size(0) != batch || h0.size(1) != nOut) {
            throw new IllegalStateException("carried SimpleRnn state has shape " + java.util.Arrays.toString(h0.shape())
                    + ", the input " + batch + " rows of " + nOut + " units " + layerId());
        }
        INDArray w = getParamWithNoise(SimpleRnnParamInitializer.WEIGHT_KEY, true, mgr);
        INDArray rw = getParamWithNoise(SimpleRnnParamInitializer.RECURRENT_WEIGHT_KEY, true, mgr);
        INDArray b = getParamWithNoise(SimpleRnnParamInitializer.BIAS_KEY, true, mgr);
        IActivation act = layerConf().getActivationFn();

        // forward, as the stock activateHelper: z_t = x_t W + b + a_{t-1} RW with a_{-1} = h0; a_t = act(z_t)
        INDArray a = mgr.createUninitialized(ArrayType.BP_WORKING_MEM, dataType, new long[]{batch, nOut, steps}, 'f');
        INDArray z = mgr.createUninitialized(ArrayType.BP_WORKING_MEM, dataType, new long[]{batch, nOut, steps}, 'f');
        Nd4j.getExecutioner().exec(new BroadcastCopyOp(z, b, z, 1));
        INDArray prev = h0;
        for (long t = 0; t < steps; t++) {
            INDArray zt = z.get(all(), all(), point(t)), at = a.get(all(), all(), point(t));
            Nd4j.gemm(in.get(all(), all(), point(t)), w, zt, false, false, 1.0, 1.0);
            Nd4j.gemm(prev, rw, zt, false, false, 1.0, 1.0);
            act.getActivation(at.assign(zt), true);
            prev = at;
        }

        // backward: dL/dz_t = act'(z_t) (eps_t + dL/dz_{t+1} RW^T); dRW += a_{t-1}^T dL/dz_t, with a_{-1} = h0
        INDArray wg = gradientViews.get(SimpleRnnParamInitializer.WEIGHT_KEY);
        INDArray rwg = gradientViews.get(SimpleRnnParamInitializer.RECURRENT_WEIGHT_KEY);
        INDArray bg = gradientViews.get(SimpleRnnParamInitializer.BIAS_KEY);
        gradientsFlattened.assign(0);
        INDArray epsOut = mgr.create(ArrayType.ACTIVATION_GRAD, dataType, in.shape(), 'f');
        long end = tbpttBackLength > 0 ? Math.max(0, steps - tbpttBackLength) : 0;
        INDArray dldzNext = null;
        for (long t = steps - 1; t >= end; t--) {
            INDArray dlda = epsilon.get(all(), all(), point(t)).dup();
            if (dldzNext != null) {
                Nd4j.gemm(dldzNext, rw, dlda, false, true, 1.0, 1.0);
                Nd4j.gemm(a.get(all(), all(), point(t)), dldzNext, rwg, true, false, 1.0, 1.0);
            }
            INDArray dldz = act.backprop(z.get(all(), all(), point(t)).dup(), dlda).getFirst();
            bg.addi(dldz.sum(0));
            Nd4j.gemm(in.get(all(), all(), point(t)), dldz, wg, true, false, 1.0, 1.0);
            Nd4j.gemm(dldz, w, epsOut.get(all(), all(), point(t)), false, true, 1.0, 0.0);
            dldzNext = dldz;
        }
        if (end == 0 && dldzNext != null) Nd4j.gemm(h0, dldzNext, rwg, true, false, 1.0, 1.0); // the term the stock layer lacks

        weightNoiseParams.clear();
        Gradient grad = new DefaultGradient(gradientsFlattened);
        grad.gradientForVariable().put(SimpleRnnParamInitializer.WEIGHT_KEY, wg);
        grad.gradientForVariable().put(SimpleRnnParamInitializer.RECURRENT_WEIGHT_KEY, rwg);
        grad.gradientForVariable().put(SimpleRnnParamInitializer.BIAS_KEY, bg);
        return new Pair<>(grad, permuteIfNWC(backpropDropOutIfPresent(epsOut)));
    }
}
