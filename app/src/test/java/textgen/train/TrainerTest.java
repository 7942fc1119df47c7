package textgen.train;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import textgen.TextgenException;
import textgen.checkpoint.Checkpoint;
import textgen.checkpoint.RunDirectory;
import textgen.config.RunConfig;
import textgen.corpus.BatchSource;
import textgen.corpus.Corpus;
import textgen.model.CarriedStateNetwork;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The training loop driven through a step runner whose losses a test scripts (the steps themselves are real, on a tiny
 * network), so each of the divergence guard's outcomes happens at a known iteration.
 */
class TrainerTest {
    @TempDir
    Path dir;

    private static final String TEXT = "the cat sat on the mat. the dog sat on the log. ".repeat(30);

    private static RunConfig config(int maxRollbacks) {
        return RunConfig.defaults().with("model.layers", 1).with("model.hiddenSize", 8).with("training.batchSize", 4)
                .with("training.tbpttLength", 8).with("training.evalEvery", 2).with("training.sampleLength", 0)
                .with("training.maxIterations", 8).with("training.maxRollbacks", maxRollbacks).with("training.learningRate", 0.01);
    }

    /** A real single-device runner whose reported loss is replaced by a scripted one at chosen iterations, as often as scripted. */
    private static final class ScriptedRunner implements StepRunner {
        final StepRunner real;
        final Map<Long, List<Double>> script;

        ScriptedRunner(Map<Long, List<Double>> script) {
            this.real = StepRunner.of(1, 4);
            this.script = script;
        }

        @Override
        public double step(DataSet[] batch, boolean carry, long seed) {
            long iteration = real.network().getIterationCount() + 1;
            double loss = real.step(batch, carry, seed);
            List<Double> planned = script.get(iteration);
            return planned == null || planned.isEmpty() ? loss : planned.remove(0) * 8; // the loop divides by tbpttLength
        }

        @Override public void train(CarriedStateNetwork net) { real.train(net); }
        @Override public CarriedStateNetwork network() { return real.network(); }
        @Override public DataSet[] batch(BatchSource source, int epoch, int k) { return real.batch(source, epoch, k); }
        @Override public void setLearningRate(double lr) { real.setLearningRate(lr); }
        @Override public void incrementEpochCount() { real.incrementEpochCount(); }
        @Override public void resetTrainingState() { real.resetTrainingState(); }
        @Override public void resetRows(int[] rows) { real.resetRows(rows); }
        @Override public Map<Integer, Map<String, INDArray>> trainingState() { return real.trainingState(); }
        @Override public void restoreTrainingState(Map<Integer, Map<String, INDArray>> state) { real.restoreTrainingState(state); }
        @Override public long[] stepsPerDevice() { return real.stepsPerDevice(); }
        @Override public void close() { real.close(); }
    }

    private record Outcome(Trainer.Result result, List<Trainer.Rollback> rollbacks) {
    }

    /** Trains {@link #config} with the loss at iteration i replaced by script[i] (each entry used once, in order). */
    private Outcome train(RunConfig cfg, Map<Long, List<Double>> script) {
        Corpus corpus = Corpus.split(TEXT, 0.1, "test text", Corpus.sha256(TEXT));
        Trainer trainer = new Trainer(cfg, corpus, () -> false, new ScriptedRunner(script));
        List<Trainer.Rollback> rollbacks = new ArrayList<>();
        TrainingListener watcher = new TrainingListener() {
            @Override
            public void onRollback(Trainer.Rollback r) {
                rollbacks.add(r);
            }
        };
        try (RunDirectory d = RunDirectory.create(dir.resolve("run"))) {
            List<TrainingListener> listeners = List.of(new CheckpointWriter(d, corpus.vocabulary(), cfg, Checkpoint.Provenance.of(corpus)), watcher);
            return new Outcome(trainer.run(d, Trainer.Start.FRESH, listeners), rollbacks);
        }
    }

    private static Map<Long, List<Double>> script(long iteration, Double... losses) {
        Map<Long, List<Double>> m = new HashMap<>();
        m.put(iteration, new ArrayList<>(List.of(losses)));
        return m;
    }

    @Test
    void aSingleHighLossContinues() {
        Outcome o = train(config(3), script(5, 10.0));
        assertEquals(List.of(), o.rollbacks(), "one batch at 10 nats moves the short mean a fifth of the way: no divergence");
        assertEquals(8, o.result().iterations());
    }

    @Test
    void aNonFiniteLossRollsBackToTheLatestCheckpointWithTheLearningRateCut() {
        Outcome o = train(config(3), script(5, Double.NaN));
        assertEquals(1, o.rollbacks().size());
        Trainer.Rollback rb = o.rollbacks().get(0);
        assertEquals(5, rb.iteration());
        assertEquals(4, rb.toIteration(), "the checkpoint of iteration 4 (evalEvery 2)");
        assertEquals(0.005, rb.newLearningRate(), 1e-12, "cut by divergenceLrCut 0.5");
        assertEquals(8, o.result().iterations(), "then training goes on to the end");
    }

    @Test
    void whenTheRestoredCheckpointDivergesAgainItStepsBackOneMore() {
        Outcome o = train(config(3), script(5, Double.NaN, Double.NaN));
        assertEquals(List.of(4L, 2L), o.rollbacks().stream().map(Trainer.Rollback::toIteration).toList(),
                "the second divergence came before a newer checkpoint than 4: back to 2");
        assertEquals(0.0025, o.rollbacks().get(1).newLearningRate(), 1e-12, "cut twice");
        assertEquals(8, o.result().iterations());
    }

    @Test
    void afterMaxRollbacksItGivesUp() {
        TextgenException e = assertThrows(TextgenException.class, () -> train(config(1), script(5, Double.NaN, Double.NaN)));
        assertEquals(TextgenException.RUNTIME, e.exitCode());
        assertTrue(e.getMessage().startsWith("training diverged at iteration 5: loss NaN") && e.getMessage().contains("giving up"), e.getMessage());
    }

    @Test
    void guardVerdicts() {
        DivergenceGuard g = new DivergenceGuard(4, 2);
        assertEquals(DivergenceGuard.Verdict.CONTINUE, g.check(2.0, Double.NaN, Double.NaN, 0), "no reference yet");
        assertEquals(DivergenceGuard.Verdict.CONTINUE, g.check(9.0, 2.0, 2.0, 0), "short mean 3.4: below 4 x 2");
        assertEquals(DivergenceGuard.Verdict.ROLL_BACK, g.check(40.0, 2.0, 2.0, 0), "short mean 9.6: above 4 x 2 and 2 + 1");
        assertEquals(DivergenceGuard.Verdict.ROLL_BACK, g.check(Double.POSITIVE_INFINITY, 2.0, 2.0, 1));
        assertEquals(DivergenceGuard.Verdict.GIVE_UP, g.check(Double.NaN, 2.0, 2.0, 2), "the third divergence with maxRollbacks 2");
        assertEquals(DivergenceGuard.Verdict.CONTINUE, g.check(0.9, 0.1, 0.1, 0), "4 x 0.1 but less than 1 nat above: a memorised text");
        assertEquals(Long.MAX_VALUE, g.restoreBefore(10));
        g.restored(10);
        assertEquals(10, g.restoreBefore(10), "nothing saved since restoring 10: the one before it");
        assertEquals(Long.MAX_VALUE, g.restoreBefore(12));
    }
}
