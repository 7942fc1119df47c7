package textgen.train;

import org.deeplearning4j.datasets.iterator.ExistingDataSetIterator;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.WorkspaceMode;
import org.deeplearning4j.parallelism.ParallelWrapper;
import org.deeplearning4j.parallelism.factory.TrainerContext;
import org.nd4j.linalg.dataset.DataSet;
import textgen.model.CarriedStateNetwork;

import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Future;
import java.util.function.Function;

/**
 * N devices training one network with DL4J's {@link ParallelWrapper} in its AVERAGING mode, averaging after every
 * step: shard i of a minibatch goes to device i, each device takes one optimizer step on its shard, then
 * ParallelWrapper averages the parameters and the Adam state of all devices and writes the average back to every one.
 * Device 0 trains the group's own network ({@code master}), so after each step it holds the averaged parameters.
 *
 * <p>What ParallelWrapper is given here, in place of its {@code DefaultTrainerContext}: workers of textgen's own
 * ({@link DeviceWorker}) that keep their replica ({@link CarriedStateNetwork#from}: the same configuration with the
 * fast CPU layers, parameters and Adam state copied from device 0, built on the worker's thread and so on its
 * device) for the group's life, fit with or without the carried state, and run every other operation on a replica
 * (learning rate, state resets) on the replica's own thread. (ParallelWrapper's own workers fit with plain
 * {@code fit}, which clears the state, and are rebuilt whenever a {@code fit} call ends.) ParallelWrapper's
 * {@code fit} ends by shutting its workers down; the subclass {@link Wrapper} keeps them until {@link #close()}, so
 * one {@code fit} call per minibatch costs no thread or replica set-up.
 */
final class DeviceGroup implements AutoCloseable {
    /** Between the dropout seeds of neighbouring devices (the golden-ratio increment of SplittableRandom). */
    private static final long SEED_STRIDE = 0x9E3779B97F4A7C15L;

    private final CarriedStateNetwork master;
    private final DeviceWorker[] workers;
    private final Wrapper wrapper;

    /** Starts {@code devices} devices training {@code master}, device 0 on {@code master} itself. */
    DeviceGroup(CarriedStateNetwork master, int devices) {
        this.master = master;
        this.workers = new DeviceWorker[devices];
        this.wrapper = new Wrapper(master, devices, new Context());
        try {
            // a fit over nothing makes ParallelWrapper create its workers; each builds its network on its own thread
            wrapper.fit(new ExistingDataSetIterator(List.<DataSet>of()));
            for (DeviceWorker w : workers) w.network();
        } catch (RuntimeException | Error e) {
            wrapper.finish();
            throw e;
        }
    }

    CarriedStateNetwork master() {
        return master;
    }

    int size() {
        return workers.length;
    }

    /** One step on every device, shard i on device i; returns the mean of the devices' scores. */
    double step(DataSet[] shards, boolean carry, long seed) {
        if (shards.length != workers.length) throw new IllegalArgumentException(shards.length + " shards for " + workers.length + " devices");
        for (int i = 0; i < workers.length; i++) workers[i].prepare(carry, seed + i * SEED_STRIDE);
        try {
            wrapper.fit(new ExistingDataSetIterator(Arrays.asList(shards)));
        } catch (RuntimeException e) {
            for (DeviceWorker w : workers) w.awaitIdle(); // ParallelWrapper stops waiting at the first failure
            for (DeviceWorker w : workers) w.rethrowFailure();
            throw e;
        }
        double score = 0;
        for (DeviceWorker w : workers) score += w.score();
        return score / workers.length;
    }

    /** Runs {@code f} on device {@code device}'s network, on its thread, after the jobs already queued there. */
    <T> Future<T> submit(int device, Function<CarriedStateNetwork, T> f) {
        return workers[device].submit(f);
    }

    /** Runs {@code f} on every device's network, each on its own thread, all at once; returns the results in device order. */
    <T> List<T> onEach(Function<CarriedStateNetwork, T> f) {
        List<Future<T>> futures = Arrays.stream(workers).map(w -> w.submit(f)).toList();
        return futures.stream().map(DeviceWorker::join).toList();
    }

    /** Optimizer steps each device has run in this group. */
    long[] steps() {
        return Arrays.stream(workers).mapToLong(DeviceWorker::steps).toArray();
    }

    /** The network each device trains (device 0: {@code master}). */
    List<CarriedStateNetwork> networks() {
        return Arrays.stream(workers).map(DeviceWorker::network).toList();
    }

    /** Stops the devices' threads and frees the replicas; {@code master} stays usable. */
    @Override
    public void close() {
        wrapper.finish();
    }

    /** ParallelWrapper, AVERAGING every step, with our workers, kept alive from one {@code fit} call to the next. */
    private static final class Wrapper extends ParallelWrapper {
        private boolean finishing;

        Wrapper(CarriedStateNetwork master, int devices, TrainerContext context) {
            super(master, devices, 0); // no prefetch thread: the shards of one minibatch are already in memory
            this.trainerContext = context;
            this.averagingFrequency = 1;
            this.averageUpdaters = true;
            this.workspaceMode = WorkspaceMode.ENABLED;
            this.isMQ = false;
            init();
        }

        /** ParallelWrapper.fit() ends with close(), which would stop the workers: they stay until {@link #finish()}. */
        @Override
        public void close() throws Exception {
            if (finishing) super.close();
        }

        void finish() {
            finishing = true;
            shutdown();
        }
    }

    /** Creates the workers ParallelWrapper feeds; its averaging, not this context, combines them. */
    private final class Context implements TrainerContext {
        @Override
        public void init(Model model, Object... args) {
        }

        @Override
        public org.deeplearning4j.parallelism.trainer.Trainer create(String uuid, int threadId, Model model, int rootDevice, boolean useMDS,
                                                                     ParallelWrapper wrapper, WorkspaceMode mode, int averagingFrequency) {
            DeviceWorker w = new DeviceWorker(threadId, uuid + "_device_" + threadId, master);
            workers[threadId] = w;
            return w;
        }

        @Override
        public void finalizeRound(Model originalModel, Model... models) {
            // ParallelWrapper averages parameters and updater state itself after every step (averagingFrequency 1)
        }

        @Override
        public void finalizeTraining(Model originalModel, Model... models) {
            // device 0 trains originalModel itself: it already holds the averaged parameters
        }
    }
}
