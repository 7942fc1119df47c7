package textgen.train;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import textgen.corpus.BatchSource;
import textgen.model.CarriedStateNetwork;

import java.util.Map;

/**
 * Takes a run's optimizer steps: on one network ({@link Single}), or data-parallel on several devices
 * ({@link ParallelStepRunner}). The {@link Trainer} loop is the same for both: it sets the learning rate, resets and
 * restores the carried state (all {@code batchSize} streams, whichever device holds them) and asks for one step per
 * minibatch. Evaluation and checkpoints use {@link #network()}, which holds the run's parameters and Adam state.
 */
interface StepRunner extends AutoCloseable {
    /** {@code net} trained on {@code devices} devices, each taking batchSize / devices rows of every minibatch. */
    static StepRunner of(CarriedStateNetwork net, int devices, int batchSize) {
        return devices == 1 ? new Single(net) : new ParallelStepRunner(net, devices, batchSize);
    }

    /** The network evaluation, sampling and checkpoints use: after every step it holds the run's parameters and updater state. */
    CarriedStateNetwork network();

    /** Minibatch {@code k} of epoch {@code epoch}, as {@link #step} takes it: whole, or one shard per device. */
    DataSet[] batch(BatchSource source, int epoch, int k);

    /**
     * One optimizer step on a minibatch from {@link #batch}, starting from the carried state ({@code carry},
     * consecutive sampling) or from zero; dropout masks are drawn from {@code seed}. Returns the score: the loss summed
     * over time steps, averaged over the minibatch's rows.
     */
    double step(DataSet[] batch, boolean carry, long seed);

    void setLearningRate(double lr);

    void incrementEpochCount();

    /** The next step starts every stream from a zero state. */
    void resetTrainingState();

    /** Zeroes the carried state of these streams (rows of the minibatch). */
    void resetRows(int[] rows);

    /** The carried state of all streams: layer index -> state key -> [batchSize, hidden]. */
    Map<Integer, Map<String, INDArray>> trainingState();

    /** Restores a state taken by {@link #trainingState()} (an empty map: zero state). */
    void restoreTrainingState(Map<Integer, Map<String, INDArray>> state);

    /** Optimizer steps each device has run so far (one entry per device). */
    long[] stepsPerDevice();

    /** Stops the devices' worker threads, if any; the network stays usable. */
    @Override
    void close();

    /** One device: the network itself, on the calling thread. */
    final class Single implements StepRunner {
        private final CarriedStateNetwork net;
        private long steps;

        Single(CarriedStateNetwork net) {
            this.net = net;
        }

        @Override
        public CarriedStateNetwork network() {
            return net;
        }

        @Override
        public DataSet[] batch(BatchSource source, int epoch, int k) {
            return new DataSet[]{source.batch(epoch, k)};
        }

        @Override
        public double step(DataSet[] batch, boolean carry, long seed) {
            Nd4j.getRandom().setSeed(seed);
            if (carry) net.fitCarryingState(batch[0]);
            else net.fit(batch[0]);
            steps++;
            return net.score();
        }

        @Override
        public void setLearningRate(double lr) {
            net.setLearningRate(lr);
        }

        @Override
        public void incrementEpochCount() {
            net.incrementEpochCount();
        }

        @Override
        public void resetTrainingState() {
            net.resetTrainingState();
        }

        @Override
        public void resetRows(int[] rows) {
            net.resetRows(rows);
        }

        @Override
        public Map<Integer, Map<String, INDArray>> trainingState() {
            return net.trainingState();
        }

        @Override
        public void restoreTrainingState(Map<Integer, Map<String, INDArray>> state) {
            net.restoreTrainingState(state);
        }

        @Override
        public long[] stepsPerDevice() {
            return new long[]{steps};
        }

        @Override
        public void close() {
        }
    }
}
