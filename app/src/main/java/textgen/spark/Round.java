package textgen.spark;

import org.apache.spark.api.java.function.Function;
import org.apache.spark.broadcast.Broadcast;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import textgen.config.ConfigLoader;
import textgen.config.RunConfig;
import textgen.corpus.BatchSource;
import textgen.model.CarriedStateNetwork;
import textgen.model.WeightDrop;

import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * One averaging round, as broadcast to every worker: the network (configuration with its learning rate and counters,
 * parameters, Adam state), the run's config, where the training ids are, and which minibatches the round covers.
 * {@link Task} runs a worker's part; its result depends on nothing else (not on the executor, the attempt or the
 * time), so a task Spark runs again after losing an executor returns the same.
 */
record Round(String networkJson, float[] params, float[] updaterState, String configYaml, String corpusUri, long first, long end,
             int vocabSize, int workers, int epoch, int k0, int steps, boolean carry, long[] seeds) implements Serializable {

    /** A worker's own part of a round: its index, the rows of its streams each step restarts, its streams' carried state. */
    record Part(int worker, int[][] resets, List<State> carried) implements Serializable {
    }

    /** What a worker returns: its parameters, Adam state, each step's score, its streams' carried state, the iteration count. */
    record Result(int worker, float[] params, float[] updaterState, double[] scores, List<State> carried, int iterationCount,
                  long setupNanos, long stepNanos) implements Serializable {
    }

    /** One carried-state array ({@code rows} x {@code cols}) of one layer, as plain floats. */
    record State(int layer, String key, int rows, int cols, float[] data) implements Serializable {
        static List<State> of(Map<Integer, Map<String, INDArray>> state) {
            List<State> out = new ArrayList<>();
            state.forEach((layer, m) -> m.forEach((key, a) ->
                    out.add(new State(layer, key, (int) a.size(0), (int) a.size(1), a.dup('c').data().asFloat()))));
            out.sort(java.util.Comparator.comparing(State::layer).thenComparing(State::key));
            return out;
        }

        static Map<Integer, Map<String, INDArray>> toMap(List<State> states) {
            Map<Integer, Map<String, INDArray>> out = new HashMap<>();
            for (State s : states) {
                out.computeIfAbsent(s.layer, l -> new HashMap<>()).put(s.key, Nd4j.createFromArray(s.data).reshape('c', s.rows, s.cols));
            }
            return out;
        }
    }

    /** A worker's part of a round, on an executor. */
    static final class Task implements Function<Part, Result> {
        private final Broadcast<Round> round;

        Task(Broadcast<Round> round) {
            this.round = round;
        }

        @Override
        public Result call(Part part) {
            return round.value().run(part);
        }
    }

    /** Runs {@code part}: the round's steps on this worker's streams, from the round's network. */
    Result run(Part part) {
        long t0 = System.nanoTime(), t1 = 0;
        RunConfig config = ConfigLoader.fromStoredYaml(configYaml, "the run's config");
        RunConfig.TrainingConfig tc = config.training();
        CarriedStateNetwork net = new CarriedStateNetwork(MultiLayerConfiguration.fromJson(networkJson));
        net.init(Nd4j.createFromArray(params).reshape(1, params.length), false);
        if (updaterState.length > 0) {
            net.getUpdater().setStateViewArray(net, Nd4j.createFromArray(updaterState).reshape(1, updaterState.length), false);
        }
        net.setWeightDrop(WeightDrop.of(config.model(), tc.seed()));
        if (carry && !part.carried().isEmpty()) net.restoreTrainingState(State.toMap(part.carried()));
        double[] scores = new double[steps];
        try (HadoopTokenIds ids = HadoopTokenIds.open(corpusUri, first, end)) {
            BatchSource source = new BatchSource(ids, vocabSize, tc.batchSize(), tc.tbpttLength(), tc.sampling(), tc.seed(),
                    config.model().embedding());
            t1 = System.nanoTime();
            for (int j = 0; j < steps; j++) {
                if (part.resets()[j].length > 0) net.resetRows(part.resets()[j]);
                DataSet batch = source.shard(epoch, k0 + j, workers, part.worker());
                Nd4j.getRandom().setSeed(seeds[j]);
                if (carry) net.fitCarryingState(batch);
                else net.fit(batch);
                scores[j] = net.score();
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        INDArray state = net.getUpdater().getStateViewArray();
        return new Result(part.worker(), net.params().toFloatVector(), state == null ? new float[0] : state.toFloatVector(), scores,
                carry ? State.of(net.trainingState()) : List.of(), net.getIterationCount(), t1 - t0, System.nanoTime() - t1);
    }
}
