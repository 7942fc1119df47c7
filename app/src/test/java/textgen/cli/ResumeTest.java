package textgen.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.api.ndarray.INDArray;
import textgen.checkpoint.Checkpoint;
import textgen.checkpoint.RunDirectory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/** Exact resume, retention, divergence guard, fine-tuning and inspect, through the real CLI in-process. */
class ResumeTest {
    static final ObjectMapper JSON = new ObjectMapper();
    @TempDir
    static Path dir;
    static Path corpus, config;

    @BeforeAll
    static void files() throws IOException {
        corpus = Files.writeString(dir.resolve("text.txt"), CliEndToEndTest.TEXT.repeat(30));
        config = Files.writeString(dir.resolve("c.yaml"), """
                corpus:
                  path: text.txt
                  validationFraction: 0.1
                model:
                  layers: 2
                  hiddenSize: 24
                  dropout: 0.2
                training:
                  batchSize: 8
                  tbpttLength: 12
                  learningRate: 0.01
                  evalEvery: 4
                  sampleLength: 0
                  maxEpochs: 1000
                """);
    }

    static Cli.Result ok(String... args) {
        Cli.Result r = Cli.run(args);
        assertEquals(0, r.code(), () -> String.join(" ", args) + "\n" + r.err() + r.out());
        return r;
    }

    static INDArray params(Path zip) {
        return Checkpoint.read(zip, true).network().params();
    }

    /**
     * With model.recurrentDropout > 0 too: the weight-drop masks depend on (seed, iteration, layer) only, so a resumed
     * run draws the same. Batches of 16 and 17 rows run in one part per core (CpuKernels.rowParts, unequal parts at
     * 17): the two runs agree bit for bit whatever the threads did.
     */
    @ParameterizedTest
    @CsvSource({"lstm, consecutive, 0, 8", "lstm, random, 0, 8", "simple, consecutive, 0, 8", "lstm, consecutive, 0.25, 8",
            "gru, random, 0.3, 8", "lstm, consecutive, 0, 16", "gru, consecutive, 0, 17"})
    void resumedRunIsBitIdenticalToAnUninterruptedOne(String cell, String sampling, double recurrentDropout, int batch) throws IOException {
        String name = cell + "-" + sampling + "-" + recurrentDropout + "-" + batch;
        Path whole = dir.resolve("whole-" + name), split = dir.resolve("split-" + name);
        String rd = "model.recurrentDropout=" + recurrentDropout, bs = "training.batchSize=" + batch;
        ok("train", "--config", config.toString(), "--run-dir", whole.toString(), "--max-iterations", "14",
                "--set", "training.sampling=" + sampling, "--set", "model.cell=" + cell, "--set", rd, "--set", bs);
        // stops mid-epoch, off the evaluation grid (6 is not a multiple of 4), then resumes twice
        ok("train", "--config", config.toString(), "--run-dir", split.toString(), "--max-iterations", "6",
                "--set", "training.sampling=" + sampling, "--set", "model.cell=" + cell, "--set", rd, "--set", bs);
        ok("train", "--resume", split.toString(), "--max-iterations", "9");
        Cli.Result last = ok("train", "--resume", split.toString(), "--max-iterations", "14", "--json");
        JsonNode j = JSON.readTree(last.lastLine());
        assertEquals(14, j.get("iterations").asLong());
        Checkpoint.Loaded a = Checkpoint.read(whole.resolve("latest.zip"), true), b = Checkpoint.read(split.resolve("latest.zip"), true);
        assertEquals(a.network().params(), b.network().params(), "parameters after 14 iterations");
        assertEquals(a.network().getUpdater().getStateViewArray(), b.network().getUpdater().getStateViewArray(), "Adam state");
        assertEquals(a.state().tokensSeen(), b.state().tokensSeen());
        assertEquals(a.state().valLoss(), b.state().valLoss(), 0.0);
        assertEquals(a.carried().keySet(), b.carried().keySet());
        a.carried().forEach((l, m) -> m.forEach((k, v) -> assertEquals(v, b.carried().get(l).get(k), "carried " + l + "/" + k)));
        if (cell.equals("simple")) assertInstanceOf(textgen.model.CarriedSimpleRnnLayer.class, b.network().getLayer(0), "textgen's simple layer after resume");
        if (sampling.equals("consecutive")) assertEquals(2, a.carried().size(), "consecutive mode saves the carried state");
        else assertTrue(a.carried().isEmpty());

        // the resumed run continues the same metrics files: one header, every evaluation of every session, and the
        // evaluations both runs made agree
        var wholeRows = textgen.report.Metrics.read(whole);
        var splitRows = textgen.report.Metrics.read(split);
        assertEquals(java.util.List.of(4L, 8L, 12L, 14L), wholeRows.stream().map(textgen.report.Metrics.Row::iteration).toList());
        assertEquals(java.util.List.of(4L, 6L, 8L, 9L, 12L, 14L), splitRows.stream().map(textgen.report.Metrics.Row::iteration).toList());
        for (var w : wholeRows) {
            var sp = splitRows.stream().filter(r -> r.iteration() == w.iteration()).findFirst().orElseThrow();
            assertEquals(w.valLoss(), sp.valLoss(), 0.0, "validation loss at " + w.iteration());
            assertEquals(w.charsSeen(), sp.charsSeen());
        }
        java.util.List<String> csv = Files.readAllLines(split.resolve("metrics.csv"));
        assertEquals(7, csv.size());
        assertTrue(csv.get(0).startsWith("iteration,") && csv.stream().filter(l -> l.startsWith("iteration,")).count() == 1);
    }

    /**
     * model.recurrentDropout: the same run twice is bit-identical; 0 trains exactly as a config without the key and
     * 0.25 differently; the checkpoints (written from the network validation just scored) hold no dropped weight.
     */
    @Test
    void weightDropRunsRepeatAndLeaveNoDroppedWeight() throws IOException {
        Map<String, INDArray> params = new HashMap<>();
        for (String run : List.of("wd-a", "wd-b", "wd-zero", "wd-default")) {
            List<String> args = new ArrayList<>(List.of("train", "--config", config.toString(), "--run-dir", dir.resolve(run).toString(),
                    "--max-iterations", "10"));
            if (!run.equals("wd-default")) args.addAll(List.of("--set", "model.recurrentDropout=" + (run.equals("wd-zero") ? "0" : "0.25")));
            Cli.Result r = ok(args.toArray(String[]::new));
            if (run.equals("wd-a")) assertTrue(r.out().contains("recurrent dropout (weight drop) 0.25"), r.out());
            params.put(run, params(dir.resolve(run).resolve("latest.zip")));
        }
        assertEquals(params.get("wd-a"), params.get("wd-b"), "same config and seed: bit-identical parameters");
        assertEquals(params.get("wd-default"), params.get("wd-zero"), "recurrentDropout 0 is no weight drop");
        assertNotEquals(params.get("wd-default"), params.get("wd-a"));
        for (Path zip : List.of(dir.resolve("wd-a/latest.zip"), dir.resolve("wd-a/best.zip"))) {
            Checkpoint.Loaded l = Checkpoint.read(zip, true);
            assertEquals(0.25, l.config().model().recurrentDropout());
            for (int i = 0; i < 2; i++) {
                INDArray rw = l.network().getLayer(i).getParam("RW");
                assertEquals(0, rw.eq(0).castTo(org.nd4j.linalg.api.buffer.DataType.INT32).sumNumber().intValue(), zip + " layer " + i);
            }
        }
    }

    @Test
    void resumeRefusesChangesThatWouldMakeItAnotherRun() throws IOException {
        Path run = dir.resolve("refuse");
        ok("train", "--config", config.toString(), "--run-dir", run.toString(), "--max-iterations", "4");
        byte[] before = Files.readAllBytes(run.resolve("latest.zip"));
        for (String[] args : List.of(
                new String[]{"train", "--resume", run.toString(), "--set", "model.hiddenSize=32"},
                new String[]{"train", "--resume", run.toString(), "--config", config.toString()},
                new String[]{"train", "--resume", run.toString(), "--run-dir", dir.resolve("x").toString()},
                new String[]{"train", "--resume", dir.resolve("nothing-here").toString()},
                new String[]{"train", "--config", config.toString(), "--run-dir", run.toString(), "--max-iterations", "4"})) {
            Cli.Result r = Cli.run(args);
            assertEquals(2, r.code(), String.join(" ", args) + ": " + r.err());
            assertEquals(1, r.err().strip().lines().count(), r.err());
        }
        assertArrayEquals(before, Files.readAllBytes(run.resolve("latest.zip")));
        // the corpus changed under the run
        Path moved = dir.resolve("changing.txt");
        Files.writeString(moved, CliEndToEndTest.TEXT.repeat(30));
        Path run2 = dir.resolve("changing");
        ok("train", "--config", config.toString(), "--corpus", moved.toString(), "--run-dir", run2.toString(), "--max-iterations", "4");
        Files.writeString(moved, CliEndToEndTest.TEXT.repeat(31));
        Cli.Result r = Cli.run("train", "--resume", run2.toString(), "--max-iterations", "8");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("has changed since the run started"), r.err());
    }

    @Test
    void keepsTheLastKAndTheBestWithAnIndex() throws IOException {
        Path run = dir.resolve("keep");
        ok("train", "--config", config.toString(), "--run-dir", run.toString(), "--max-iterations", "22",
                "--set", "training.keepLast=2", "--set", "training.evalEvery=2");
        RunDirectory.Index index = RunDirectory.readIndex(run);
        Set<String> onDisk;
        try (Stream<Path> s = Files.list(run)) {
            onDisk = s.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("iter-")).collect(Collectors.toSet());
        }
        Set<String> listed = index.checkpoints().stream().map(RunDirectory.Entry::file).collect(Collectors.toSet());
        assertEquals(listed, onDisk, "the index lists exactly the checkpoints on disk");
        assertTrue(listed.contains(index.best()));
        assertTrue(onDisk.size() == 2 || onDisk.size() == 3, onDisk.toString());
        List<RunDirectory.Entry> cps = index.checkpoints();
        assertEquals(22, cps.get(cps.size() - 1).iteration());
        assertEquals(20, cps.get(cps.size() - 2).iteration());
        assertTrue(cps.get(cps.size() - 1).file().matches("iter-00000022-val\\d\\.\\d{4}\\.zip"), cps.toString());
        double bestVal = cps.stream().mapToDouble(RunDirectory.Entry::valLoss).min().orElseThrow();
        assertEquals(Checkpoint.read(run.resolve("best.zip"), false).state().valLoss(), bestVal, 0.0);
        assertEquals(params(run.resolve(cps.get(cps.size() - 1).file())), params(run.resolve("latest.zip")));

        Cli.Result r = ok("inspect", run.toString());
        assertTrue(r.out().contains("iter-00000022") && r.out().contains("best") && r.out().contains("SHA-256 ")
                && r.out().contains("seed") && r.out().contains("DL4J 1.0.0-M2.1"), r.out());
        JsonNode j = JSON.readTree(ok("inspect", run.resolve("best.zip").toString(), "--json").lastLine());
        assertEquals(64, j.path("checkpoint").path("corpusSha256").asText().length());
        assertEquals(Files.readString(corpus).length(), j.path("checkpoint").path("corpusCodePoints").asLong());
        // the layer table (Keras's summary) in both forms, adding up to the network's parameters
        assertTrue(r.out().contains("Layer (type)") && r.out().contains("(LSTM)") && r.out().contains("Total params: "), r.out());
        long sum = 0;
        for (JsonNode layer : j.path("layers")) sum += layer.path("parameters").asLong();
        assertEquals(j.path("parameters").asLong(), sum);
        assertEquals("RnnOutputLayer", j.path("layers").get(j.path("layers").size() - 1).path("type").asText());
    }

    @Test
    void timeBasedCheckpointsComeBetweenEvaluations() throws IOException {
        Path run = dir.resolve("timed");
        ok("train", "--config", config.toString(), "--run-dir", run.toString(), "--max-iterations", "5",
                "--set", "training.evalEvery=1000", "--set", "training.checkpointMinutes=0.000001", "--set", "training.keepLast=10");
        List<RunDirectory.Entry> cps = RunDirectory.readIndex(run).checkpoints();
        assertEquals(List.of(1L, 2L, 3L, 4L, 5L), cps.stream().map(RunDirectory.Entry::iteration).toList());
        assertEquals("iter-00000001.zip", cps.get(0).file(), "no validation loss in the name of a time-based checkpoint");
        assertTrue(Double.isNaN(cps.get(0).valLoss()));
        assertTrue(Double.isFinite(cps.get(4).valLoss()), "the final checkpoint is evaluated");
    }

    @Test
    void divergenceRollsBackCutsTheLearningRateAndGivesUpWithExitOne() throws IOException {
        // Adam at lr 10 explodes at once; each rollback cuts it 1000-fold, so the second attempt (lr 0.01) trains
        Path run = dir.resolve("diverge-recovers");
        Cli.Result r = ok("train", "--config", config.toString(), "--run-dir", run.toString(), "--max-iterations", "40",
                "--set", "training.learningRate=10", "--set", "training.divergenceLrCut=0.001", "--set", "training.divergenceFactor=1.5",
                "--set", "training.sampling=random");
        assertTrue(r.out().contains("diverged at iteration"), r.out());
        Checkpoint.Loaded l = Checkpoint.read(run.resolve("latest.zip"), false);
        assertEquals(40, l.state().iteration());
        assertTrue(l.state().rollbacks() >= 1 && l.state().lrScale() <= 0.001, l.state().toString());
        assertTrue(Double.isFinite(l.state().valLoss()) && l.state().valLoss() < Math.log(20), l.state().toString());

        Path run2 = dir.resolve("diverge-gives-up");
        Cli.Result bad = Cli.run("train", "--config", config.toString(), "--run-dir", run2.toString(), "--max-iterations", "40",
                "--set", "training.learningRate=10", "--set", "training.divergenceLrCut=0.9", "--set", "training.divergenceFactor=1.5",
                "--set", "training.maxRollbacks=2", "--set", "training.sampling=random");
        assertEquals(1, bad.code(), bad.out() + bad.err());
        assertEquals(1, bad.err().strip().lines().count(), bad.err());
        assertTrue(bad.err().contains("training diverged") && bad.err().contains("2 rollback(s)"), bad.err());
    }

    @Test
    void fineTuningKeepsTheVocabularyAndNamesCharactersItLacks() throws IOException {
        Path base = dir.resolve("base");
        ok("train", "--config", config.toString(), "--run-dir", base.toString(), "--max-iterations", "4");
        Path other = Files.writeString(dir.resolve("other.txt"), "The cat sat on the log. Zebra!\n".repeat(60));
        Cli.Result r = Cli.run("train", "--config", config.toString(), "--corpus", other.toString(), "--init-from", base.toString(),
                "--run-dir", dir.resolve("tuned-refused").toString(), "--max-iterations", "4");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("'Z'") && r.err().contains("'!'") && r.err().contains("--unknown skip"), r.err());
        assertFalse(Files.exists(dir.resolve("tuned-refused")), "nothing created on a refused run");

        Path tuned = dir.resolve("tuned");
        ok("train", "--config", config.toString(), "--corpus", other.toString(), "--init-from", base.resolve("latest.zip").toString(),
                "--unknown", "skip", "--set", "model.hiddenSize=99", "--run-dir", tuned.toString(), "--max-iterations", "4");
        Checkpoint.Loaded before = Checkpoint.read(base.resolve("latest.zip"), false), after = Checkpoint.read(tuned.resolve("latest.zip"), false);
        assertEquals(before.vocabulary(), after.vocabulary());
        assertEquals(24, after.config().model().hiddenSize(), "the checkpoint's sizes win");
        assertEquals(4, after.state().iteration(), "a fine-tuning run counts from zero");
        assertNotEquals(before.network().params(), after.network().params());
    }
}
