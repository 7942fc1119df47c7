package textgen.model;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.api.layers.RecurrentLayer;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.schedule.ISchedule;

import java.util.HashMap;
import java.util.Map;

/**
 * A {@link MultiLayerNetwork} whose truncated-BPTT training can carry the LSTM state from one minibatch to the next.
 *
 * <p>DL4J's {@code doTruncatedBPTT} calls {@link #rnnClearPreviousState()} before and after every DataSet, so stock
 * DL4J starts every minibatch from a zero state. {@link #fitCarryingState} suppresses exactly those two calls: the TBPTT
 * forward pass then starts from the state the previous minibatch ended in (kept by the layers in their TBPTT state map;
 * gradients do not flow across the boundary, as in char-rnn and torch-rnn). {@link #resetTrainingState()} clears it,
 * e.g. at an epoch boundary.
 */
public class CarriedStateNetwork extends MultiLayerNetwork {
    private boolean carrying;
    private WeightDrop weightDrop; // null: off

    /** Weight drop ({@code model.recurrentDropout}) for every later optimizer step; null turns it off. */
    public void setWeightDrop(WeightDrop weightDrop) {
        this.weightDrop = weightDrop;
    }

    public WeightDrop weightDrop() {
        return weightDrop;
    }

    /**
     * The forward and backward pass of one optimizer step: in M2.1 only {@code BaseOptimizer.gradientAndScore} calls
     * this overload (evaluation, sampling and scoring never do; gradient checks call the no-argument one), and after
     * it returns, the listeners' {@code onGradientCalculation} and then the updater (gradient clipping, then Adam).
     * With {@link WeightDrop} the pass runs on masked recurrent weights, which are put back before it returns, and
     * their gradient is masked to match.
     */
    @Override
    public void computeGradientAndScore(LayerWorkspaceMgr workspaceMgr) {
        if (weightDrop == null) {
            super.computeGradientAndScore(workspaceMgr);
            return;
        }
        WeightDrop.Step step = weightDrop.apply(this, getIterationCount());
        try {
            super.computeGradientAndScore(workspaceMgr);
            step.scaleGradients();
        } finally {
            step.restore();
        }
    }

    public CarriedStateNetwork(MultiLayerConfiguration conf) {
        super(conf);
    }

    /** DL4J's initialization, then, on the CPU, the {@link FusedAdamUpdater} in place of DL4J's when it applies. */
    @Override
    public void init(INDArray parameters, boolean cloneParametersArray) {
        boolean first = !isInitCalled();
        super.init(parameters, cloneParametersArray);
        if (first) fuseUpdater();
    }

    private void fuseUpdater() {
        if (FusedAdamUpdater.enabled()) FusedAdamUpdater.install(this);
    }

    // DL4J replaces the updater when a learning rate is set (NetworkUtils.refreshUpdater): fuse the new one again

    @Override
    public void setLearningRate(double newLr) {
        super.setLearningRate(newLr);
        fuseUpdater();
    }

    @Override
    public void setLearningRate(ISchedule newLr) {
        super.setLearningRate(newLr);
        fuseUpdater();
    }

    @Override
    public void setLearningRate(int layerNumber, double newLr) {
        super.setLearningRate(layerNumber, newLr);
        fuseUpdater();
    }

    @Override
    public void setLearningRate(int layerNumber, ISchedule newLr) {
        super.setLearningRate(layerNumber, newLr);
        fuseUpdater();
    }

    /** One optimizer step on {@code ds}, starting from the state the previous call ended in. */
    public void fitCarryingState(DataSet ds) {
        carrying = true;
        try {
            fit(ds);
        } finally {
            carrying = false;
        }
    }

    @Override
    public void rnnClearPreviousState() {
        if (!carrying) super.rnnClearPreviousState();
    }

    /** Starts the next {@link #fitCarryingState} from a zero state. */
    public void resetTrainingState() {
        super.rnnClearPreviousState();
    }

    /** Zeroes the carried state of the given rows (streams) only, in both the TBPTT map and the map backprop re-runs from. */
    public void resetRows(int[] rows) {
        if (rows.length == 0) return;
        Map<Integer, Map<String, INDArray>> state = trainingState();
        if (state.values().stream().allMatch(Map::isEmpty)) return;
        for (Map<String, INDArray> m : state.values()) {
            for (INDArray a : m.values()) {
                for (int r : rows) a.getRow(r).assign(0);
            }
        }
        restoreTrainingState(state);
    }

    /** The carried training state of every recurrent layer (layer index -> state map), to set aside around evaluation. */
    public Map<Integer, Map<String, INDArray>> trainingState() {
        Map<Integer, Map<String, INDArray>> state = new HashMap<>();
        Layer[] ls = getLayers();
        for (int i = 0; i < ls.length; i++) {
            if (ls[i] instanceof RecurrentLayer r) {
                Map<String, INDArray> copy = new HashMap<>();
                r.rnnGetTBPTTState().forEach((k, v) -> copy.put(k, v.dup()));
                state.put(i, copy);
            }
        }
        return state;
    }

    /** Restores a state taken by {@link #trainingState()}: both the TBPTT map and the map backprop re-runs from. */
    public void restoreTrainingState(Map<Integer, Map<String, INDArray>> state) {
        super.rnnClearPreviousState();
        Layer[] ls = getLayers();
        state.forEach((i, s) -> {
            RecurrentLayer r = (RecurrentLayer) ls[i];
            r.rnnSetTBPTTState(s);
            r.rnnSetPreviousState(s);
        });
    }

    /** A copy of a network's configuration, parameters and updater state, with the LSTM implementation for this backend. */
    public static CarriedStateNetwork from(MultiLayerNetwork restored) {
        return from(restored, NetworkFactory.useFastLstm());
    }

    /** A copy of a network's configuration, parameters, updater state (and weight drop), with fast or stock LSTM layers. */
    public static CarriedStateNetwork from(MultiLayerNetwork restored, boolean fastLstm) {
        CarriedStateNetwork net = new CarriedStateNetwork(NetworkFactory.withTextgenLayers(restored.getLayerWiseConfigurations(), fastLstm));
        net.init(restored.params().dup(), false);
        if (restored instanceof CarriedStateNetwork c) net.setWeightDrop(c.weightDrop);
        if (restored.getUpdater() != null && restored.getUpdater().getStateViewArray() != null) {
            net.getUpdater().setStateViewArray(net, restored.getUpdater().getStateViewArray().dup(), false);
        }
        return net;
    }
}
