package textgen.train;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import textgen.TextgenException;
import textgen.corpus.BatchSource;
import textgen.model.Backend;
import textgen.model.CarriedStateNetwork;

import java.util.Map;

/**
 * Takes a run's optimizer steps, and owns everything about devices: on one network ({@link Single}), or data-parallel
 * on several devices ({@link ParallelStepRunner}). The {@link Trainer} holds one runner for the whole run and points
 * it at the network to train ({@link #train}: at the start and after every rollback); its loop is the same for any
 * number of devices: it sets the learning rate, resets and restores the carried state (all {@code batchSize} streams,
 * whichever device holds them) and asks for one step per minibatch. Evaluation and checkpoints use
 * {@link #network()}, which holds the run's parameters and Adam state.
 */
public interface StepRunner extends AutoCloseable {
    /** The runner {@code config} asks for: on a Spark cluster ({@link ClusterTraining}), on devices, or on one network. */
    static StepRunner of(textgen.config.RunConfig config, textgen.corpus.Corpus corpus) {
        if (config.training().spark()) return ClusterTraining.load().runner(config, corpus);
        return of(config.training().devices(), config.training().batchSize());
    }

    /**
     * A runner for {@code devices} devices, each taking batchSize / devices rows of every minibatch: the one place that
     * checks those numbers. Nothing starts until {@link #train}.
     */
    static StepRunner of(int devices, int batchSize) {
        if (devices == 1) return new Single();
        if (devices < 2) throw new IllegalArgumentException("data-parallel training needs at least 2 devices, not " + devices);
        if (batchSize % devices != 0) throw new IllegalArgumentException(batchSize + " rows do not split over " + devices + " devices");
        return new ParallelStepRunner(devices, batchSize);
    }

    /**
     * How many devices this machine offers: GPUs on CUDA (as ND4J's affinity manager counts them), cores on the CPU
     * backend, where each device is a worker thread.
     */
    static int available() {
        return "cpu".equals(Backend.configuredBackend()) ? Runtime.getRuntime().availableProcessors()
                : Nd4j.getAffinityManager().getNumberOfDevices();
    }

    /** A usage error when {@code training.devices} asks for more devices than {@link #available()}. */
    static void check(int devices) {
        if (devices <= 1) return;
        int available = available();
        if (devices > available) {
            boolean cpu = "cpu".equals(Backend.configuredBackend());
            throw TextgenException.usage("training.devices " + devices + " is more than this machine has: " + available
                    + (cpu ? " CPU core(s) (on the CPU backend each device is a worker thread)" : " GPU(s) visible to CUDA"));
        }
    }

    /**
     * Trains {@code net} from now on (a new network, or one restored after a rollback), on every device: with several,
     * device 0 trains {@code net} itself and the others replicas of it, started afresh.
     */
    void train(CarriedStateNetwork net);

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

    /**
     * Optimizer steps {@link #steps} may take at once: 1, or a cluster runner's local steps between two averagings
     * (the trainer never asks for more, nor across an epoch's end, an evaluation or the iteration limit).
     */
    default int localSteps() {
        return 1;
    }

    /**
     * Steps on minibatches {@code k0 .. k0+n-1} of {@code epoch}, in order: before step j the streams
     * {@code resets[j]} restart from zero, and its dropout masks come from {@code seeds[j]}. Returns each step's score
     * (as {@link #step}). Runners that train here take them one by one; a cluster runner takes them as one round.
     */
    default double[] steps(BatchSource source, int epoch, int k0, int n, boolean carry, long[] seeds, int[][] resets) {
        double[] scores = new double[n];
        for (int j = 0; j < n; j++) {
            if (resets[j].length > 0) resetRows(resets[j]);
            scores[j] = step(batch(source, epoch, k0 + j), carry, seeds[j]);
        }
        return scores;
    }

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

    /** Optimizer steps each device has run over this runner's life, whatever networks it trained (one entry per device). */
    long[] stepsPerDevice();

    /** Where a cluster runner's rounds spent their time: part -> median seconds per round, in a stable order (empty: no rounds). */
    default Map<String, Double> roundSeconds() {
        return Map.of();
    }

    /** Stops the devices' worker threads, if any; the network stays usable, and {@link #train} starts them again. */
    @Override
    void close();

    /** One device: the network itself, on the calling thread. */
    final class Single implements StepRunner {
        private CarriedStateNetwork net;
        private long steps;

        @Override
        public void train(CarriedStateNetwork net) {
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
