package textgen.spark;

import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import textgen.TextgenException;
import textgen.config.ConfigLoader;
import textgen.config.RunConfig;
import textgen.corpus.BatchSource;
import textgen.corpus.Corpus;
import textgen.corpus.EncodedTokens;
import textgen.model.CarriedStateNetwork;
import textgen.train.StepRunner;
import textgen.train.StreamStates;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Data-parallel training on a Spark cluster by parameter averaging, as DL4J's {@code ParameterAveragingTrainingMaster}
 * does: every round broadcasts the network (parameters, Adam state, configuration with its learning rate and
 * counters), each of {@code training.spark.workers} tasks takes up to {@code training.spark.localSteps} optimizer
 * steps on its own streams, and the driver averages the parameters and the Adam state of all tasks. The driver's
 * network (evaluation, samples, checkpoints) holds the average after every round.
 *
 * <p>Worker i owns rows [i*B/W, (i+1)*B/W) of every minibatch ({@link BatchSource#shard}): in consecutive mode the same
 * streams all run long, so their carried hidden state goes out with the round and comes back with the result, never
 * averaged. Workers read their rows' tokens themselves from the encoded corpus ({@link HadoopTokenIds}); the driver
 * sends no corpus data. The results are collected and summed in worker order, so a round's outcome does not depend on
 * the order tasks finish in (a tree aggregation would add in any order: not bit-reproducible).
 */
final class SparkStepRunner implements StepRunner {
    private final RunConfig.TrainingConfig tc;
    private final String configYaml;
    private final java.nio.file.Path corpusFile;
    private String corpusUri;
    private final long first, end;
    private final int vocabSize, workers, rows;
    private final long[] steps;
    private JavaSparkContext context;
    private CarriedStateNetwork net;
    private Map<Integer, Map<String, INDArray>> carried = Map.of();

    SparkStepRunner(RunConfig config, Corpus corpus) {
        this.tc = config.training();
        this.configYaml = ConfigLoader.toYaml(config);
        if (!(corpus.train() instanceof EncodedTokens ids)) {
            throw new IllegalStateException("Spark workers read an encoded corpus file; this corpus is in memory");
        }
        this.corpusFile = ids.file();
        this.corpusUri = ids.file().toAbsolutePath().toUri().toString();
        this.first = ids.first();
        this.end = ids.first() + ids.size();
        this.vocabSize = corpus.vocabulary().size();
        this.workers = tc.sparkWorkers();
        this.rows = tc.batchSize() / workers;
        this.steps = new long[workers];
        // before the trainer creates anything on disk: a master that cannot be reached is a usage error, with no run left behind
        this.context = start();
        try {
            if (tc.sparkCorpusDir() != null && !tc.sparkCorpusDir().isBlank()) corpusUri = SparkCluster.publish(corpusFile, tc.sparkCorpusDir());
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    @Override
    public void train(CarriedStateNetwork net) {
        this.net = net;
        if (context == null) context = start();
    }

    /**
     * The driver, in this JVM (client mode), or the one spark-submit started. Other Spark settings come from
     * spark-submit or {@code -Dspark.*} properties (JAVA_OPTS), as Spark reads them.
     */
    private JavaSparkContext start() {
        SparkConf conf = new SparkConf().setMaster(tc.sparkMaster()).setAppName("textgen train");
        conf.setIfMissing("spark.ui.enabled", "false"); // no web UI port for a command-line run
        // the kernels' threads are the executor's cores; ND4J's own OpenMP threads would only compete with them
        conf.setIfMissing("spark.executorEnv.OMP_NUM_THREADS", "1");
        // an executor runs one task per core at once: each task's kernels get that core (the default, all cores, put
        // two executors' four threads on two cores in bench/spark and doubled the steps' time)
        conf.setIfMissing("spark.executor.extraJavaOptions", "-Dtextgen.threads=" + conf.get("spark.task.cpus", "1"));
        if (tc.sparkShipJars() && !conf.contains("spark.jars")) {
            List<String> jars = SparkCluster.applicationJars();
            if (!jars.isEmpty()) conf.set("spark.jars", String.join(",", jars));
        }
        SparkCluster.checkReachable(tc.sparkMaster());
        JavaSparkContext started;
        try {
            started = new JavaSparkContext(conf);
        } catch (Exception e) { // SparkException (checked, undeclared): a master URL Spark cannot parse
            throw TextgenException.usage("cannot start Spark on training.spark.master " + tc.sparkMaster() + ": " + TextgenException.oneLine(e), e);
        }
        SparkCluster.awaitExecutor(started, tc.sparkMaster(), tc.sparkExecutorTimeoutSeconds()); // stops it when it gives up
        return started;
    }

    @Override
    public CarriedStateNetwork network() {
        return net;
    }

    @Override
    public int localSteps() {
        return tc.sparkLocalSteps();
    }

    @Override
    public DataSet[] batch(BatchSource source, int epoch, int k) {
        throw new UnsupportedOperationException("Spark workers read their own minibatches");
    }

    @Override
    public double step(DataSet[] batch, boolean carry, long seed) {
        throw new UnsupportedOperationException("Spark workers read their own minibatches");
    }

    @Override
    public double[] steps(BatchSource source, int epoch, int k0, int n, boolean carry, long[] seeds, int[][] resets) {
        long t0 = System.nanoTime();
        INDArray stateView = net.getUpdater().getStateViewArray();
        Round round = new Round(net.getLayerWiseConfigurations().toJson(), net.params().toFloatVector(),
                stateView == null ? new float[0] : stateView.toFloatVector(), configYaml, corpusUri, first, end, vocabSize, workers,
                epoch, k0, n, carry, seeds);
        List<Round.Part> parts = new ArrayList<>();
        for (int i = 0; i < workers; i++) parts.add(new Round.Part(i, localRows(resets, i), carry ? Round.State.of(StreamStates.rows(carried, (long) i * rows, (long) (i + 1) * rows, (long) workers * rows)) : List.of()));
        Broadcast<Round> b = context.broadcast(round);
        long t1 = System.nanoTime();
        List<Round.Result> results;
        try {
            results = SparkCluster.await(context, context.parallelize(parts, workers).map(new Round.Task(b)).collectAsync(),
                    tc.sparkMaster(), tc.sparkExecutorTimeoutSeconds(), corpusUri);
        } finally {
            b.destroy();
        }
        long t2 = System.nanoTime();
        Round.Result[] byWorker = new Round.Result[workers];
        for (Round.Result r : results) byWorker[r.worker()] = r;
        net.setParams(Nd4j.createFromArray(mean(byWorker, Round.Result::params)).reshape(1, round.params().length));
        if (stateView != null) stateView.assign(Nd4j.createFromArray(mean(byWorker, Round.Result::updaterState)).reshape(stateView.shape()));
        net.getLayerWiseConfigurations().setIterationCount(byWorker[0].iterationCount());
        if (carry) carried = byWorker[0].carried().isEmpty() ? Map.of()
                : StreamStates.join(Arrays.stream(byWorker).map(r -> Round.State.toMap(r.carried())).toList());
        double[] scores = new double[n];
        for (Round.Result r : byWorker) {
            for (int j = 0; j < n; j++) scores[j] += r.scores()[j] / workers;
            steps[r.worker()] += n;
        }
        Round.Result slowest = Arrays.stream(byWorker).max(java.util.Comparator.comparingLong(r -> r.setupNanos() + r.stepNanos())).orElseThrow();
        if (timings.size() < 100_000) timings.add(new double[]{System.nanoTime() - t0, t1 - t0, slowest.setupNanos(), slowest.stepNanos(),
                t2 - t1 - slowest.setupNanos() - slowest.stepNanos(), System.nanoTime() - t2});
        return scores;
    }

    /** Per round, in nanoseconds: the whole round, then {@link #PARTS}. */
    private final List<double[]> timings = new ArrayList<>();
    private static final String[] PARTS = {"round", "broadcast", "worker_setup", "worker_steps", "scheduling_and_transfer", "averaging"};

    /**
     * The median round and its parts: the driver's copy and broadcast of the network; the slowest worker's set-up
     * (network from the broadcast, corpus opened) and optimizer steps; the rest of the job (task scheduling, fetching
     * the broadcast, sending results back); the driver's averaging.
     */
    @Override
    public Map<String, Double> roundSeconds() {
        Map<String, Double> out = new java.util.LinkedHashMap<>();
        if (timings.isEmpty()) return out;
        for (int i = 0; i < PARTS.length; i++) {
            int part = i;
            double[] v = timings.stream().mapToDouble(t -> t[part]).sorted().toArray();
            out.put(PARTS[i], v[v.length / 2] / 1e9);
        }
        return out;
    }

    /** The element-wise mean of each worker's array, added in worker order (in double, then rounded once). */
    private static float[] mean(Round.Result[] results, java.util.function.Function<Round.Result, float[]> of) {
        double[] sum = new double[of.apply(results[0]).length];
        for (Round.Result r : results) {
            float[] a = of.apply(r);
            for (int i = 0; i < sum.length; i++) sum[i] += a[i];
        }
        float[] out = new float[sum.length];
        for (int i = 0; i < sum.length; i++) out[i] = (float) (sum[i] / results.length);
        return out;
    }

    /** Worker {@code w}'s rows of each step's restarted streams, renumbered from its first row. */
    private int[][] localRows(int[][] resets, int w) {
        int[][] out = new int[resets.length][];
        int from = w * rows, to = from + rows;
        for (int j = 0; j < resets.length; j++) out[j] = Arrays.stream(resets[j]).filter(r -> r >= from && r < to).map(r -> r - from).toArray();
        return out;
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
        carried = Map.of();
    }

    @Override
    public void resetRows(int[] rowsToReset) {
        for (Map<String, INDArray> m : carried.values()) {
            for (INDArray a : m.values()) for (int r : rowsToReset) a.getRow(r).assign(0);
        }
    }

    @Override
    public Map<Integer, Map<String, INDArray>> trainingState() {
        return StreamStates.copy(carried);
    }

    @Override
    public void restoreTrainingState(Map<Integer, Map<String, INDArray>> state) {
        carried = StreamStates.copy(state);
    }

    @Override
    public long[] stepsPerDevice() {
        return steps.clone();
    }

    @Override
    public void close() {
        if (context != null) context.stop();
        context = null;
    }
}
