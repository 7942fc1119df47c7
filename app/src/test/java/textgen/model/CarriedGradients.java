package textgen.model;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import textgen.train.StreamStates;

import java.util.Map;

/** Gradients and scores of a network from a given carried state (null: zeros), for finite-difference checks. */
final class CarriedGradients {
    private CarriedGradients() {
    }

    /** The gradient (summed over the minibatch, as DL4J returns it) of {@code ds} starting from {@code state}. */
    static INDArray gradientFrom(CarriedStateNetwork net, Map<Integer, Map<String, INDArray>> state, DataSet ds) {
        if (state == null) net.resetTrainingState();
        else net.restoreTrainingState(StreamStates.copy(state));
        net.setInput(ds.getFeatures());
        net.setLabels(ds.getLabels());
        net.computeGradientAndScore();
        return net.gradient().gradient().dup();
    }

    /** The score (the minibatch's mean loss) of {@code ds} with {@code params}, starting from {@code state}. */
    static double scoreFrom(CarriedStateNetwork net, INDArray params, Map<Integer, Map<String, INDArray>> state, DataSet ds) {
        net.setParams(params);
        gradientFrom(net, state, ds);
        return net.score();
    }
}
