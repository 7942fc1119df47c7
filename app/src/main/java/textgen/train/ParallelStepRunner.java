package textgen.train;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import textgen.corpus.BatchSource;
import textgen.model.CarriedStateNetwork;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Future;

/**
 * Synchronous data-parallel training on a {@link DeviceGroup} (DL4J's ParallelWrapper, averaging after every step):
 * every minibatch of B rows is cut into N shards of B/N rows ({@link BatchSource#shards}), device i takes one
 * optimizer step on shard i, then the parameters and the Adam state of all devices are averaged. Device 0 trains the
 * network given to {@link #train}, so after each step it holds the averaged parameters that evaluation and
 * checkpoints use. {@link #train} with another network (a rollback) starts a new group on it.
 *
 * <p>Shard i is always the same rows, and in consecutive mode rows are streams, so each device carries the hidden
 * state of its own B/N streams from minibatch to minibatch, exactly as one network carries all B: the carried state
 * is never averaged or mixed.
 *
 * <p>How close to one big minibatch: the averaged Adam first moment is exactly the big minibatch's (it is linear in
 * the gradient, and the mean of the shards' gradients is the big minibatch's gradient: DL4J's loss is a mean over
 * rows); the second moment becomes the mean of the shards' squared gradients, at least the square of their mean; and
 * the parameters move by the mean of N Adam steps instead of one. Element-wise gradient clipping applies per shard.
 * With plain SGD and no clipping it is exactly one big minibatch (ParallelStepRunnerTest checks that).
 */
final class ParallelStepRunner implements StepRunner {
    private final int devices;
    private final int shardRows;
    private final long[] stepsBefore; // of the groups already closed
    private DeviceGroup group;

    /** {@code devices} devices, each taking batchSize / devices rows of every minibatch ({@link StepRunner#of} checks both). */
    ParallelStepRunner(int devices, int batchSize) {
        this.devices = devices;
        this.shardRows = batchSize / devices;
        this.stepsBefore = new long[devices];
    }

    @Override
    public void train(CarriedStateNetwork net) {
        close();
        group = new DeviceGroup(net, devices);
    }

    @Override
    public CarriedStateNetwork network() {
        return group().master();
    }

    @Override
    public DataSet[] batch(BatchSource source, int epoch, int k) {
        return source.shards(epoch, k, devices);
    }

    @Override
    public double step(DataSet[] shards, boolean carry, long seed) {
        return group().step(shards, carry, seed);
    }

    @Override
    public void setLearningRate(double lr) {
        group().onEach(net -> {
            net.setLearningRate(lr);
            return null;
        });
    }

    @Override
    public void incrementEpochCount() {
        group().onEach(net -> {
            net.incrementEpochCount();
            return null;
        });
    }

    @Override
    public void resetTrainingState() {
        group().onEach(net -> {
            net.resetTrainingState();
            return null;
        });
    }

    @Override
    public void resetRows(int[] rows) {
        if (rows.length == 0) return;
        List<Future<Void>> done = new ArrayList<>();
        for (int i = 0; i < devices; i++) {
            int from = i * shardRows, to = from + shardRows;
            int[] local = Arrays.stream(rows).filter(r -> r >= from && r < to).map(r -> r - from).toArray();
            if (local.length > 0) done.add(group().submit(i, net -> {
                net.resetRows(local);
                return null;
            }));
        }
        done.forEach(DeviceWorker::join);
    }

    @Override
    public Map<Integer, Map<String, INDArray>> trainingState() {
        return StreamStates.join(group().onEach(CarriedStateNetwork::trainingState));
    }

    @Override
    public void restoreTrainingState(Map<Integer, Map<String, INDArray>> state) {
        List<Future<Void>> done = new ArrayList<>();
        for (int i = 0; i < devices; i++) {
            long from = (long) i * shardRows;
            Map<Integer, Map<String, INDArray>> shard = StreamStates.rows(state, from, from + shardRows, (long) shardRows * devices);
            done.add(group().submit(i, net -> {
                net.restoreTrainingState(shard);
                return null;
            }));
        }
        done.forEach(DeviceWorker::join);
    }

    @Override
    public long[] stepsPerDevice() {
        long[] steps = stepsBefore.clone();
        if (group != null) {
            long[] now = group.steps();
            for (int d = 0; d < devices; d++) steps[d] += now[d];
        }
        return steps;
    }

    /** The network each device trains (device 0: {@link #network()}), for tests. */
    List<CarriedStateNetwork> replicas() {
        return group().networks();
    }

    @Override
    public void close() {
        if (group == null) return;
        long[] steps = group.steps();
        for (int d = 0; d < devices; d++) stepsBefore[d] += steps[d];
        DeviceGroup closing = group;
        group = null; // a group that fails to stop is not closed twice
        closing.close();
    }

    private DeviceGroup group() {
        if (group == null) throw new IllegalStateException("no network to train: call train(net) first");
        return group;
    }
}
