package textgen.spark;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import textgen.checkpoint.Checkpoint;
import textgen.cli.TestCli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * {@code train --spark local[2]} through the real CLI in-process: what a run on one machine does (evaluation, samples,
 * checkpoints, resume, the divergence guard) holds on Spark, and bad settings are one-line errors. The standalone
 * cluster is SparkClusterIT's.
 */
class SparkTrainingTest {
    static final ObjectMapper JSON = new ObjectMapper();
    @TempDir
    Path dir;

    private Path text() throws IOException {
        Random r = new Random(9);
        String[] words = {"the ", "cat ", "sat ", "on ", "a ", "mat. ", "dog ", "ran\n"};
        StringBuilder t = new StringBuilder();
        while (t.length() < 20_000) t.append(words[r.nextInt(words.length)]);
        return Files.writeString(dir.resolve("text.txt"), t);
    }

    private static TestCli.Result ok(String... args) {
        TestCli.Result r = TestCli.run(args);
        assertEquals(0, r.code(), () -> String.join(" ", args) + "\n" + r.err() + r.out());
        return r;
    }

    private List<String> train(Path run, String... extra) throws IOException {
        List<String> args = new ArrayList<>(List.of("train", "--spark", "local[2]", "--corpus", text().toString(), "--run-dir", run.toString(),
                "--set", "model.layers=1", "--set", "model.hiddenSize=32", "--set", "training.batchSize=16", "--set", "training.tbpttLength=20",
                "--set", "training.learningRate=0.01", "--set", "training.evalEvery=10", "--set", "training.sampleLength=20",
                "--set", "training.spark.localSteps=4"));
        args.addAll(List.of(extra));
        return args;
    }

    @Test
    void twoWorkersTrainConsecutiveStreamsReadingTheCorpusFromASharedDirectory() throws IOException {
        Path run = dir.resolve("run"), shared = dir.resolve("shared");
        List<String> args = train(run, "--max-iterations", "40", "--set", "training.spark.corpusDir=" + shared.toUri(), "--json");
        TestCli.Result r = ok(args.toArray(String[]::new));
        JsonNode j = JSON.readTree(r.lastLine());
        assertEquals(40, j.get("iterations").asLong());
        assertEquals("[40,40]", j.get("device_steps").toString(), "both workers took every step");
        assertTrue(j.get("round_seconds").get("worker_steps").asDouble() > 0, j.toString());
        assertTrue(r.out().contains("rounds (median seconds): round "), r.out());
        double uniform = Math.log(12);
        assertTrue(j.get("best_val_loss").asDouble() < uniform - 0.5, "learned: " + j);
        try (Stream<Path> copies = Files.list(shared)) {
            assertEquals(1, copies.filter(p -> p.toString().endsWith(".tokens")).count(), "the encoded corpus was copied for the workers");
        }

        Checkpoint.Loaded l = Checkpoint.read(run.resolve("latest.zip"), true);
        assertEquals("local[2]", l.config().training().sparkMaster());
        assertEquals(40, l.state().iteration());
        assertEquals(40, l.network().getIterationCount());
        l.carried().values().forEach(m -> m.values().forEach(a -> assertEquals(16, a.size(0), "all 16 streams' state, from both workers")));
        ok("sample", "--model", run.toString(), "--prime", "the ", "--length", "40", "--seed", "1");
        JsonNode p = JSON.readTree(ok("perplexity", "--model", run.toString(), "--text", dir.resolve("text.txt").toString(), "--json").lastLine());
        assertEquals(l.state().valLoss(), p.get("nats").asDouble(), 0.3, p.toString());
    }

    @Test
    void aResumedRunIsBitIdenticalAndMayMoveToOtherWorkersOrOffSpark() throws IOException {
        Path whole = dir.resolve("whole"), split = dir.resolve("split");
        ok(train(whole, "--max-iterations", "24").toArray(String[]::new));
        // stops at 14: off the evaluation grid and in the middle of a round of 4
        ok(train(split, "--max-iterations", "14").toArray(String[]::new));
        ok("train", "--resume", split.toString(), "--max-iterations", "24");
        Checkpoint.Loaded a = Checkpoint.read(whole.resolve("latest.zip"), true), b = Checkpoint.read(split.resolve("latest.zip"), true);
        assertEquals(24, b.state().iteration());
        assertEquals(a.network().params(), b.network().params(), "parameters after 24 iterations");
        assertEquals(a.network().getUpdater().getStateViewArray(), b.network().getUpdater().getStateViewArray(), "Adam state");
        a.carried().forEach((layer, m) -> m.forEach((k, v) -> assertEquals(v, b.carried().get(layer).get(k), "carried " + layer + "/" + k)));

        JsonNode four = JSON.readTree(ok("train", "--resume", split.toString(), "--max-iterations", "32", "--spark", "local[4]",
                "--set", "training.spark.workers=4", "--json").lastLine());
        assertEquals("[8,8,8,8]", four.get("device_steps").toString());
        JsonNode off = JSON.readTree(ok("train", "--resume", split.toString(), "--max-iterations", "36", "--set", "training.spark.master=",
                "--json").lastLine());
        assertEquals("[4]", off.get("device_steps").toString(), "on this machine alone: " + off);
        assertNull(Checkpoint.read(split.resolve("latest.zip"), false).config().training().sparkMaster());
    }

    @Test
    void divergenceRollsBackAndRandomWindowsTrainOn() throws IOException {
        Path run = dir.resolve("diverge");
        List<String> args = train(run, "--max-iterations", "24", "--set", "training.learningRate=10", "--set", "training.divergenceLrCut=0.001",
                "--set", "training.divergenceFactor=1.5", "--set", "training.sampling=random", "--set", "training.evalEvery=4",
                "--set", "training.spark.localSteps=2", "--json");
        TestCli.Result r = ok(args.toArray(String[]::new));
        assertTrue(r.out().contains("diverged at iteration"), r.out());
        Checkpoint.Loaded l = Checkpoint.read(run.resolve("latest.zip"), false);
        assertEquals(24, l.state().iteration());
        assertTrue(l.state().rollbacks() >= 1 && l.state().lrScale() <= 0.001, l.state().toString());
        assertTrue(Double.isFinite(l.state().valLoss()), l.state().toString());
    }

    @Test
    void badSparkSettingsAreOneLineConfigErrors() throws IOException {
        List<List<String>> cases = List.of(
                List.of("training.spark.localSteps 0 is out of range", "--set", "training.spark.localSteps=0"),
                List.of("does not split evenly over training.spark.workers 3", "--set", "training.spark.workers=3"),
                List.of("exclude each other", "--devices", "2"),
                List.of("cannot start Spark on training.spark.master nope://x", "--spark", "nope://x"));
        for (List<String> c : cases) {
            Path run = dir.resolve("bad");
            List<String> args = train(run, c.subList(1, c.size()).toArray(String[]::new));
            if (c.contains("nope://x")) args.subList(1, 3).clear(); // this case's --spark replaces local[2]
            TestCli.Result r = TestCli.run(args.toArray(String[]::new));
            assertEquals(2, r.code(), c + "\n" + r.err());
            assertTrue(r.err().contains(c.get(0)), c + "\n" + r.err());
            assertEquals(1, r.err().strip().lines().count(), "one line: " + r.err());
            assertFalse(Files.exists(run), "no run directory for " + c);
        }
    }
}
