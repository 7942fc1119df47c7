package textgen.train;

import org.deeplearning4j.datasets.iterator.ExistingDataSetIterator;
import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.conf.WorkspaceMode;
import org.deeplearning4j.parallelism.ParallelWrapper;
import org.deeplearning4j.parallelism.factory.TrainerContext;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.DataSet;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import textgen.TextgenException;
import textgen.corpus.BatchSource;
import textgen.model.Backend;
import textgen.model.CarriedStateNetwork;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.function.Function;

/**
 * Synchronous data-parallel training with DL4J's {@link ParallelWrapper} in its AVERAGING mode, averaging after every
 * step: every minibatch of B rows is cut into N shards of B/N rows ({@link BatchSource#shards}), ParallelWrapper feeds
 * shard i to device i, each device takes one optimizer step on its shard, then ParallelWrapper averages the parameters
 * and the Adam state of all devices and writes the average back to every one. Device 0 trains the run's own network
 * ({@link #network()}), so after each step it holds the averaged parameters that evaluation and checkpoints use.
 *
 * <p>Shard i is always the same rows, and in consecutive mode rows are streams, so each device carries the hidden
 * state of its own B/N streams from minibatch to minibatch, exactly as one network carries all B: the carried state
 * is never averaged or mixed. (ParallelWrapper's own workers would break this: they fit with plain {@code fit}, which
 * clears the state, and its worker replicas are rebuilt whenever a {@code fit} call ends.)
 *
 * <p>What ParallelWrapper is given here, in place of its {@code DefaultTrainerContext}: workers of textgen's own
 * ({@link Worker}) that keep their replica ({@link CarriedStateNetwork#from}: the same configuration with the fast
 * CPU layers, parameters and Adam state copied from device 0, built on the worker's thread and so on its device) for
 * the whole run, fit with or without the carried state, and run every other operation on a replica (learning rate,
 * state resets) on the replica's own thread. ParallelWrapper's {@code fit} ends by shutting its workers down; the
 * subclass {@link Wrapper} keeps them until {@link #close()}, so one {@code fit} call per minibatch costs no thread or
 * replica set-up.
 *
 * <p>How close to one big minibatch: the averaged Adam first moment is exactly the big minibatch's (it is linear in
 * the gradient, and the mean of the shards' gradients is the big minibatch's gradient: DL4J's loss is a mean over
 * rows); the second moment becomes the mean of the shards' squared gradients, at least the square of their mean; and
 * the parameters move by the mean of N Adam steps instead of one. Element-wise gradient clipping applies per shard.
 * With plain SGD and no clipping it is exactly one big minibatch (ParallelStepRunnerTest checks that).
 */
final class ParallelStepRunner implements StepRunner {
    /** Between the dropout seeds of neighbouring devices (the golden-ratio increment of SplittableRandom). */
    private static final long SEED_STRIDE = 0x9E3779B97F4A7C15L;

    private final CarriedStateNetwork master;
    private final int devices;
    private final int shardRows;
    private final Worker[] workers;
    private final Wrapper wrapper;

    /** Trains {@code master} on {@code devices} devices, each taking batchSize / devices rows of every minibatch. */
    ParallelStepRunner(CarriedStateNetwork master, int devices, int batchSize) {
        if (devices < 2) throw new IllegalArgumentException("data-parallel training needs at least 2 devices, not " + devices);
        if (batchSize % devices != 0) throw new IllegalArgumentException(batchSize + " rows do not split over " + devices + " devices");
        this.master = master;
        this.devices = devices;
        this.shardRows = batchSize / devices;
        this.workers = new Worker[devices];
        this.wrapper = new Wrapper(master, devices, new Context());
        try {
            // a fit over nothing makes ParallelWrapper create its workers; each builds its replica on its own thread
            wrapper.fit(new ExistingDataSetIterator(List.<org.nd4j.linalg.dataset.DataSet>of()));
            for (Worker w : workers) w.awaitReady();
        } catch (RuntimeException | Error e) {
            wrapper.finish();
            throw e;
        }
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

    @Override
    public CarriedStateNetwork network() {
        return master;
    }

    @Override
    public org.nd4j.linalg.dataset.DataSet[] batch(BatchSource source, int epoch, int k) {
        return source.shards(epoch, k, devices);
    }

    @Override
    public double step(org.nd4j.linalg.dataset.DataSet[] shards, boolean carry, long seed) {
        if (shards.length != devices) throw new IllegalArgumentException(shards.length + " shards for " + devices + " devices");
        for (int i = 0; i < devices; i++) workers[i].prepare(carry, seed + i * SEED_STRIDE);
        try {
            wrapper.fit(new ExistingDataSetIterator(Arrays.asList(shards)));
        } catch (RuntimeException e) {
            for (Worker w : workers) w.awaitIdle(); // ParallelWrapper stops waiting at the first failure
            for (Worker w : workers) w.rethrowFailure();
            throw e;
        }
        double score = 0;
        for (Worker w : workers) score += w.score();
        return score / devices;
    }

    @Override
    public void setLearningRate(double lr) {
        onEach(net -> {
            net.setLearningRate(lr);
            return null;
        });
    }

    @Override
    public void incrementEpochCount() {
        onEach(net -> {
            net.incrementEpochCount();
            return null;
        });
    }

    @Override
    public void resetTrainingState() {
        onEach(net -> {
            net.resetTrainingState();
            return null;
        });
    }

    @Override
    public void resetRows(int[] rows) {
        if (rows.length == 0) return;
        List<CompletableFuture<Void>> done = new ArrayList<>();
        for (int i = 0; i < devices; i++) {
            int from = i * shardRows, to = from + shardRows;
            int[] local = Arrays.stream(rows).filter(r -> r >= from && r < to).map(r -> r - from).toArray();
            if (local.length > 0) done.add(workers[i].submit(net -> {
                net.resetRows(local);
                return null;
            }));
        }
        done.forEach(ParallelStepRunner::join);
    }

    @Override
    public Map<Integer, Map<String, INDArray>> trainingState() {
        List<Map<Integer, Map<String, INDArray>>> parts = onEach(CarriedStateNetwork::trainingState);
        Map<Integer, Map<String, INDArray>> all = new HashMap<>();
        parts.get(0).forEach((layer, first) -> {
            Map<String, INDArray> joined = new HashMap<>();
            for (String key : first.keySet()) {
                INDArray[] rows = parts.stream().map(p -> p.get(layer).get(key)).toArray(INDArray[]::new);
                joined.put(key, Nd4j.concat(0, rows));
            }
            all.put(layer, joined);
        });
        return all;
    }

    @Override
    public void restoreTrainingState(Map<Integer, Map<String, INDArray>> state) {
        List<CompletableFuture<Void>> done = new ArrayList<>();
        for (int i = 0; i < devices; i++) {
            Map<Integer, Map<String, INDArray>> shard = new HashMap<>();
            int device = i;
            state.forEach((layer, m) -> {
                Map<String, INDArray> part = new HashMap<>();
                m.forEach((key, a) -> {
                    if (a.size(0) != (long) shardRows * devices) {
                        throw new IllegalStateException("carried state of " + a.size(0) + " rows for " + shardRows * devices + " streams");
                    }
                    long from = (long) device * shardRows;
                    part.put(key, a.get(NDArrayIndex.interval(from, from + shardRows), NDArrayIndex.all()).dup());
                });
                shard.put(layer, part);
            });
            done.add(workers[i].submit(net -> {
                net.restoreTrainingState(shard);
                return null;
            }));
        }
        done.forEach(ParallelStepRunner::join);
    }

    @Override
    public long[] stepsPerDevice() {
        return Arrays.stream(workers).mapToLong(Worker::steps).toArray();
    }

    /** The network each device trains (device 0: {@link #network()}), for tests. */
    List<CarriedStateNetwork> replicas() {
        return Arrays.stream(workers).map(w -> w.net).toList();
    }

    @Override
    public void close() {
        wrapper.finish();
    }

    /** Runs {@code f} on every device's network, each on its own thread, all at once; returns the results in device order. */
    private <T> List<T> onEach(Function<CarriedStateNetwork, T> f) {
        List<CompletableFuture<T>> futures = new ArrayList<>();
        for (Worker w : workers) futures.add(w.submit(f));
        return futures.stream().map(ParallelStepRunner::join).toList();
    }

    private static <T> T join(CompletableFuture<T> f) {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for a device", e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) throw r;
            if (e.getCause() instanceof Error err) throw err;
            throw new IllegalStateException(e.getCause());
        }
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
            Worker w = new Worker(threadId, uuid + "_device_" + threadId);
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

    /**
     * One device: a thread (from ParallelWrapper's pool, which binds it to its device) that owns one network, device
     * 0 the run's own, the others a replica built on the thread, and runs every job on that network in order.
     */
    private final class Worker implements org.deeplearning4j.parallelism.trainer.Trainer {
        private final int index;
        private final String uuid;
        private final BlockingQueue<Runnable> jobs = new LinkedBlockingQueue<>();
        private final CountDownLatch ready = new CountDownLatch(1);
        private final CountDownLatch stopped = new CountDownLatch(1);
        private final Runnable stop = () -> {
        };
        private volatile CarriedStateNetwork net;
        private volatile Thread.UncaughtExceptionHandler handler;
        // set by prepare() before ParallelWrapper feeds the shard; the queue hands them over to the worker thread
        private boolean carry;
        private long seed;
        // guarded by this
        private int running;
        private Throwable failure;
        private double score;
        private long steps;

        Worker(int index, String uuid) {
            this.index = index;
            this.uuid = uuid;
        }

        @Override
        public void run() {
            try {
                net = index == 0 ? master : CarriedStateNetwork.from(master);
                ready.countDown();
                while (true) {
                    Runnable job = jobs.take();
                    if (job == stop) break;
                    job.run();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (RuntimeException | Error e) {
                synchronized (this) {
                    failure = e;
                }
            } finally {
                ready.countDown();
                Nd4j.getWorkspaceManager().destroyAllWorkspacesForCurrentThread();
                if (index != 0 && net != null) net.close();
                stopped.countDown();
            }
        }

        void awaitReady() {
            try {
                ready.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while device " + index + " was starting", e);
            }
            rethrowFailure();
        }

        synchronized void rethrowFailure() {
            if (failure instanceof RuntimeException r) throw r;
            if (failure instanceof Error e) throw e;
        }

        void prepare(boolean carry, long seed) {
            this.carry = carry;
            this.seed = seed;
        }

        synchronized double score() {
            return score;
        }

        synchronized long steps() {
            return steps;
        }

        /** Runs {@code f} on this device's network, on its thread, after the jobs already queued. */
        <T> CompletableFuture<T> submit(Function<CarriedStateNetwork, T> f) {
            if (stopped.getCount() == 0) throw new IllegalStateException("device " + index + " has stopped");
            CompletableFuture<T> result = new CompletableFuture<>();
            jobs.add(() -> {
                try {
                    result.complete(f.apply(net));
                } catch (RuntimeException | Error e) {
                    result.completeExceptionally(e);
                }
            });
            return result;
        }

        @Override
        public void feedDataSet(DataSet dataSet, long etlTime) {
            boolean carryNow = carry;
            long seedNow = seed;
            synchronized (this) {
                running++;
            }
            jobs.add(() -> {
                try {
                    Nd4j.getRandom().setSeed(seedNow); // this thread's generator: dropout masks
                    org.nd4j.linalg.dataset.DataSet ds = (org.nd4j.linalg.dataset.DataSet) dataSet;
                    if (carryNow) net.fitCarryingState(ds);
                    else net.fit(ds);
                    double s = net.score();
                    synchronized (this) {
                        score = s;
                        steps++;
                    }
                } catch (RuntimeException | Error e) {
                    synchronized (this) {
                        failure = e;
                    }
                } finally {
                    synchronized (this) {
                        running--;
                        notifyAll();
                    }
                }
            });
        }

        @Override
        public void feedMultiDataSet(MultiDataSet dataSet, long etlTime) {
            if (dataSet.numFeatureArrays() != 1 || dataSet.numLabelsArrays() != 1) {
                throw new IllegalArgumentException("a MultiLayerNetwork trains on one input and one output array");
            }
            feedDataSet(new org.nd4j.linalg.dataset.DataSet(dataSet.getFeatures(0), dataSet.getLabels(0)), etlTime);
        }

        @Override
        public void updateModelParams(INDArray params) {
            INDArray copy = params.dup();
            join(submit(n -> {
                n.setParams(copy);
                return null;
            }));
        }

        @Override
        public void updateUpdaterParams(INDArray params) {
            INDArray copy = params.dup();
            join(submit(n -> {
                n.getUpdater().getStateViewArray().assign(copy);
                return null;
            }));
        }

        @Override
        public Model getModel() {
            return net;
        }

        @Override
        public void updateModel(Model model) {
            updateModelParams(model.params());
            INDArray state = ((org.deeplearning4j.nn.multilayer.MultiLayerNetwork) model).getUpdater().getStateViewArray();
            if (state != null) updateUpdaterParams(state);
        }

        /** True while a fed DataSet is being trained on. */
        @Override
        public synchronized boolean isRunning() {
            return running > 0;
        }

        @Override
        public String getUuid() {
            return uuid;
        }

        /** Stops the thread after the jobs already queued (ParallelWrapper has handed every worker to a pool thread). */
        @Override
        public void shutdown() {
            jobs.add(stop);
            try {
                stopped.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        /** Waits until the DataSets fed so far are trained on; rethrows a failure of one of them. */
        @Override
        public void waitTillRunning() {
            awaitIdle();
            synchronized (this) {
                if (failure != null) throw new RuntimeException("device " + index + " failed: " + failure, failure);
            }
        }

        synchronized void awaitIdle() {
            while (running > 0) {
                try {
                    wait();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("interrupted while waiting for device " + index, e);
                }
            }
        }

        @Override
        public void setUncaughtExceptionHandler(Thread.UncaughtExceptionHandler handler) {
            this.handler = handler;
        }

        /** On a thread of its own (ParallelWrapper runs workers on its pool instead). */
        @Override
        public void start() {
            Thread t = new Thread(this, "textgen device " + index);
            t.setDaemon(true);
            if (handler != null) t.setUncaughtExceptionHandler(handler);
            t.start();
        }

        @Override
        public boolean averagingRequired() {
            return true;
        }
    }
}
