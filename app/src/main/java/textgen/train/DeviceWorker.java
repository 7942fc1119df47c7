package textgen.train;

import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.DataSet;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import textgen.model.CarriedStateNetwork;

import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * One device of a {@link DeviceGroup}, as ParallelWrapper sees it (its {@code Trainer}): a single-thread executor,
 * bound to the device as ParallelWrapper binds its own threads, that owns one network (device 0 the run's own, the
 * others a replica built on that thread, so on that device) and runs every job on it in order: the shards it is fed,
 * parameter updates after averaging, and whatever the group asks of the network. Each job's outcome is its
 * {@link Future}; a failed shard is rethrown by {@link #waitTillRunning}.
 */
final class DeviceWorker implements org.deeplearning4j.parallelism.trainer.Trainer {
    private final int index;
    private final String uuid;
    private final ExecutorService thread;
    private final Future<CarriedStateNetwork> ready;
    // set by prepare() before ParallelWrapper feeds the shard; the executor hands them over to the job
    private boolean carry;
    private long seed;
    private Future<?> fitting; // the last shard fed; only the calling thread (ParallelWrapper's) touches it
    private volatile double score;
    private volatile long steps;

    /** Starts the device's thread and builds its network there: {@code master} itself on device 0, else a replica of it. */
    DeviceWorker(int index, String uuid, CarriedStateNetwork master) {
        this.index = index;
        this.uuid = uuid;
        this.thread = Executors.newSingleThreadExecutor(job -> {
            Thread t = new Thread(() -> {
                // what ParallelWrapper's own threads do: ND4J allocates this thread's arrays on its device
                Nd4j.getAffinityManager().unsafeSetDevice(index % Nd4j.getAffinityManager().getNumberOfDevices());
                job.run();
            }, "textgen device " + index);
            t.setDaemon(true);
            return t;
        });
        this.ready = thread.submit(() -> index == 0 ? master : CarriedStateNetwork.from(master));
    }

    /** Waits until the device's network is built; rethrows a failure to build it. */
    CarriedStateNetwork network() {
        return join(ready);
    }

    void prepare(boolean carry, long seed) {
        this.carry = carry;
        this.seed = seed;
    }

    double score() {
        return score;
    }

    long steps() {
        return steps;
    }

    /** Runs {@code f} on this device's network, on its thread, after the jobs already queued. */
    <T> Future<T> submit(Function<CarriedStateNetwork, T> f) {
        return thread.submit(() -> f.apply(ready.get()));
    }

    /** Queues one step on {@code dataSet}; a group feeds each device one shard per step, so {@link #waitTillRunning} waits for that one. */
    @Override
    public void feedDataSet(DataSet dataSet, long etlTime) {
        boolean carryNow = carry;
        long seedNow = seed;
        fitting = submit(net -> {
            Nd4j.getRandom().setSeed(seedNow); // this thread's generator: dropout masks
            org.nd4j.linalg.dataset.DataSet ds = (org.nd4j.linalg.dataset.DataSet) dataSet;
            if (carryNow) net.fitCarryingState(ds);
            else net.fit(ds);
            score = net.score();
            steps++; // only this thread writes it
            return null;
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
        return network();
    }

    @Override
    public void updateModel(Model model) {
        updateModelParams(model.params());
        INDArray state = ((MultiLayerNetwork) model).getUpdater().getStateViewArray();
        if (state != null) updateUpdaterParams(state);
    }

    /** True while a fed shard is being trained on. */
    @Override
    public boolean isRunning() {
        return fitting != null && !fitting.isDone();
    }

    @Override
    public String getUuid() {
        return uuid;
    }

    /** Frees the thread's workspaces and the replica after the jobs already queued, then stops the thread. */
    @Override
    public void shutdown() {
        thread.submit(() -> {
            Nd4j.getWorkspaceManager().destroyAllWorkspacesForCurrentThread();
            if (index != 0) {
                try {
                    ready.get().close();
                } catch (ExecutionException e) {
                    // no replica was built: nothing to free
                }
            }
            return null;
        });
        thread.shutdown();
        try {
            thread.awaitTermination(1, TimeUnit.MINUTES);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Waits until the shards fed so far are trained on; rethrows a failure of one of them. */
    @Override
    public void waitTillRunning() {
        if (fitting == null) return;
        try {
            fitting.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for device " + index, e);
        } catch (ExecutionException e) {
            throw new RuntimeException("device " + index + " failed: " + e.getCause(), e.getCause());
        }
    }

    /** Waits until the shard fed last is done, whatever its outcome. */
    void awaitIdle() {
        try {
            waitTillRunning();
        } catch (RuntimeException e) {
            // rethrowFailure reports it
        }
    }

    /** Rethrows, as it was thrown, the failure of the shard fed last, if it failed. */
    void rethrowFailure() {
        if (fitting != null && fitting.isDone()) join(fitting);
    }

    /** Failures are kept in each job's Future and rethrown to whoever waits for it. */
    @Override
    public void setUncaughtExceptionHandler(Thread.UncaughtExceptionHandler handler) {
    }

    /** The executor's thread is already running: nothing to start. */
    @Override
    public void start() {
    }

    /** ParallelWrapper hands every worker to a thread of its pool; this worker's jobs run on its own thread instead. */
    @Override
    public void run() {
    }

    @Override
    public boolean averagingRequired() {
        return true;
    }

    /** The outcome of {@code f}: its failure rethrown as it was thrown. */
    static <T> T join(Future<T> f) {
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
}
