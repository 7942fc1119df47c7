package textgen.spark;

import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.learning.config.Sgd;
import textgen.TestModels;
import textgen.config.RunConfig;
import textgen.corpus.BatchSource;
import textgen.corpus.Corpus;
import textgen.model.CarriedStateNetwork;
import textgen.model.NetworkFactory;
import textgen.train.StepRunner;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Parameter averaging on Spark ({@code local[2]}: the driver and two task threads in this JVM; a real standalone
 * cluster is SparkClusterIT's) against one network on the whole minibatch.
 */
class SparkStepRunnerTest {
    private static final int H = 12, B = 8, T = 6;
    @TempDir
    static Path dir;
    private static Corpus corpus;

    @BeforeAll
    static void writeCorpus() throws Exception {
        Random r = new Random(5);
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < 4000; i++) text.append("abcdefg \n".charAt(r.nextInt(9)));
        Path file = dir.resolve("text.txt");
        Files.writeString(file, text);
        corpus = Corpus.load(RunConfig.defaults().with("corpus.path", file.toString()).corpus());
    }

    private static RunConfig config(int localSteps) {
        // no gradient clipping: clipping applies per worker, so with it the two would differ
        return RunConfig.defaults().with("model.layers", 2).with("model.hiddenSize", H).with("training.batchSize", B)
                .with("training.tbpttLength", T).with("training.stateResetProbability", 0).with("training.gradientClip", 0)
                .with("training.seed", 7).with("training.spark.master", "local[2]").with("training.spark.workers", 2)
                .with("training.spark.localSteps", localSteps);
    }

    private static CarriedStateNetwork network(RunConfig config, boolean sgd) {
        MultiLayerConfiguration conf = NetworkFactory.configuration(config.model(), config.training(), corpus.vocabulary().size());
        if (sgd) conf.getConfs().forEach(c -> {
            if (c.getLayer() instanceof BaseLayer l) l.setIUpdater(new Sgd(0.5));
        });
        CarriedStateNetwork net = new CarriedStateNetwork(conf);
        net.init();
        return net;
    }

    private static BatchSource source(RunConfig config) {
        RunConfig.TrainingConfig tc = config.training();
        return new BatchSource(corpus.train(), corpus.vocabulary().size(), tc.batchSize(), tc.tbpttLength(), tc.sampling(), tc.seed(), false);
    }

    /** Bytes read through Hadoop's local (file://) filesystem in this JVM, where local[2]'s tasks run. */
    private static long bytesRead() {
        return org.apache.hadoop.fs.FileSystem.getStatistics("file", org.apache.hadoop.fs.LocalFileSystem.class).getBytesRead();
    }

    private static double maxDiff(INDArray a, INDArray b) {
        return a.sub(b).amaxNumber().doubleValue();
    }

    @Test
    void sgdOnTwoWorkersOneLocalStepTakesTheSameStepsAsOneNetworkOnTheWholeMinibatch() {
        RunConfig config = config(1);
        BatchSource source = source(config);
        CarriedStateNetwork one = network(config, true);
        INDArray init = one.params().dup();
        CarriedStateNetwork driver = CarriedStateNetwork.from(one);
        try (StepRunner single = StepRunner.of(1, B); StepRunner spark = new SparkStepRunner(config, corpus)) {
            single.train(one);
            spark.train(driver);
            for (StepRunner r : List.of(single, spark)) r.resetTrainingState();
            long bytesBefore = bytesRead();
            for (int k = 0; k < 6; k++) {
                // at k = 3 streams 1 (worker 0) and 6 (worker 1) restart from zero, as training.stateResetProbability does
                int[][] resets = {k == 3 ? new int[]{1, 6} : new int[0]};
                double s1 = single.steps(source, 0, k, 1, true, new long[]{99 + k}, resets)[0];
                double s2 = spark.steps(source, 0, k, 1, true, new long[]{99 + k}, resets)[0];
                assertEquals(s1, s2, 1e-4 * s1, "minibatch " + k + ": the mean of the workers' losses is the whole minibatch's");
            }
            assertTrue(maxDiff(one.params(), init) > 1e-2, "training moved the parameters");
            // each worker read its 4 streams' windows (T + 1 tokens each, 6 steps): bytes of the id area, not the corpus
            long windows = 2L * 6 * 4 * (T + 1) * ((textgen.corpus.EncodedTokens) corpus.train()).width();
            assertTrue(bytesRead() - bytesBefore <= windows + 2L * 6 * textgen.corpus.EncodedTokens.HEADER,
                    "read " + (bytesRead() - bytesBefore) + " bytes, the windows are " + windows + " of " + corpus.train().size());
            assertTrue(maxDiff(one.params(), driver.params()) < 1e-5, "parameters after 6 steps differ by " + maxDiff(one.params(), driver.params()));
            Map<Integer, Map<String, INDArray>> a = single.trainingState(), b = spark.trainingState();
            assertEquals(a.keySet(), b.keySet());
            a.forEach((layer, m) -> m.forEach((key, v) -> {
                assertArrayEquals(new long[]{B, H}, b.get(layer).get(key).shape());
                assertTrue(maxDiff(v, b.get(layer).get(key)) < 1e-5, "carried " + layer + "/" + key + " travelled with the rounds");
            }));
            assertArrayEquals(new long[]{6, 6}, spark.stepsPerDevice(), "both workers trained every step");
            assertEquals(6, driver.getIterationCount());
        }
    }

    /** A corpus file the workers cannot open (here: deleted after the driver mapped it) is a one-line usage error naming it. */
    @Test
    void workersThatCannotReadTheCorpusAreAUsageError() throws Exception {
        Path file = dir.resolve("gone.txt");
        Files.writeString(file, "abcdefg hijk\n".repeat(300));
        Corpus gone = Corpus.load(RunConfig.defaults().with("corpus.path", file.toString()).corpus());
        RunConfig config = config(1);
        try (SparkStepRunner spark = new SparkStepRunner(config, gone)) {
            spark.train(network(config, false));
            Files.delete(((textgen.corpus.EncodedTokens) gone.train()).file());
            textgen.TextgenException e = assertThrows(textgen.TextgenException.class,
                    () -> spark.steps(null, 0, 0, 1, true, new long[]{1}, new int[1][0]));
            assertEquals(textgen.TextgenException.USAGE, e.exitCode());
            assertTrue(e.getMessage().startsWith("Spark workers cannot read the encoded corpus file:"), e.getMessage());
            assertTrue(e.getMessage().contains("training.spark.corpusDir"), e.getMessage());
        }
    }

    @Test
    void roundsOfAdamStepsArePureFunctionsOfTheirInputs() {
        RunConfig config = config(3);
        BatchSource source = source(config);
        CarriedStateNetwork first = network(config, false), second = CarriedStateNetwork.from(first);
        INDArray init = first.params().dup();
        double[] scores1, scores2;
        try (StepRunner spark = new SparkStepRunner(config, corpus)) {
            spark.train(first);
            spark.resetTrainingState();
            scores1 = spark.steps(source, 0, 0, 3, true, new long[]{1, 2, 3}, new int[3][0]);
            spark.steps(source, 0, 3, 3, true, new long[]{4, 5, 6}, new int[3][0]);
            spark.train(second);
            spark.resetTrainingState();
            scores2 = spark.steps(source, 0, 0, 3, true, new long[]{1, 2, 3}, new int[3][0]);
            spark.steps(source, 0, 3, 3, true, new long[]{4, 5, 6}, new int[3][0]);
            assertArrayEquals(new long[]{12, 12}, spark.stepsPerDevice(), "two rounds of three steps, twice, on each worker");
        }
        assertArrayEquals(scores1, scores2);
        assertTrue(maxDiff(first.params(), init) > 1e-3, "training moved the parameters");
        assertEquals(first.params(), second.params(), "the same rounds give bit-identical parameters");
        assertEquals(first.getUpdater().getStateViewArray(), second.getUpdater().getStateViewArray(), "and Adam state");
        assertEquals(6, first.getIterationCount());
    }
}
