package textgen.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import textgen.checkpoint.Checkpoint;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** The real CLI, in-process: train a tiny model once, then sample and score with it. */
class CliEndToEndTest {
    static final ObjectMapper JSON = new ObjectMapper();
    @TempDir
    static Path dir;
    static Path corpus, run;
    static JsonNode trained;

    static final String TEXT = """
            ROMEO:
            The cat sat on the mat.
            JULIET:
            The dog sat on the log.
            """;

    @BeforeAll
    static void train() throws IOException {
        corpus = Files.writeString(dir.resolve("tiny.txt"), TEXT.repeat(40));
        Path config = Files.writeString(dir.resolve("tiny.yaml"), """
                corpus:
                  path: tiny.txt
                  validationFraction: 0.1
                model:
                  layers: 1
                  hiddenSize: 64
                training:
                  batchSize: 16
                  tbpttLength: 20
                  learningRate: 0.02
                  evalEvery: 30
                  sampleLength: 30
                  maxEpochs: 100
                """);
        run = dir.resolve("run");
        Cli.Result r = Cli.run("train", "--config", config.toString(), "--run-dir", run.toString(), "--max-iterations", "150", "--json");
        assertEquals(0, r.code(), r.err());
        trained = JSON.readTree(r.lastLine());
    }

    @Test
    void trainWritesRunDirectoryAndJsonSummary() throws IOException {
        for (String k : new String[]{"best_val_loss", "final_val_loss", "iterations", "epochs", "chars_per_second", "seconds", "checkpoint"}) {
            assertTrue(trained.has(k), k);
        }
        assertEquals(150, trained.get("iterations").asLong());
        double vocab = Math.log(new String(TEXT).codePoints().distinct().count());
        assertTrue(trained.get("best_val_loss").asDouble() < vocab * 0.5,
                "a tiny repetitive text is learned well below uniform: " + trained);
        assertTrue(Files.exists(run.resolve("best.zip")) && Files.exists(run.resolve("latest.zip")));
        assertTrue(Files.readString(run.resolve("config.yaml")).contains("hiddenSize: 64"));
        assertTrue(Files.readString(run.resolve("samples.txt")).contains("=== iteration 30"));
        assertEquals(150, Checkpoint.read(run.resolve("latest.zip"), false).state().iteration());
    }

    @Test
    void evaluationsGoToMetricsFilesAndTheLossChart() throws IOException {
        List<String> jsonl = Files.readAllLines(run.resolve("metrics.jsonl"));
        List<String> csv = Files.readAllLines(run.resolve("metrics.csv"));
        assertEquals(5, jsonl.size(), "evaluations at 30, 60, 90, 120, 150");
        assertEquals(List.of("iteration", "epoch", "chars_seen", "train_loss", "val_loss", "val_bpc", "learning_rate",
                "chars_per_second", "elapsed_seconds", "time"), List.of(csv.get(0).split(",")));
        assertEquals(6, csv.size());
        JsonNode last = JSON.readTree(jsonl.get(4));
        assertEquals(150, last.get("iteration").asLong());
        assertEquals(150L * 16 * 20, last.get("chars_seen").asLong());
        assertEquals(trained.get("final_val_loss").asDouble(), last.get("val_loss").asDouble(), 1e-4);
        assertEquals(last.get("val_loss").asDouble() / Math.log(2), last.get("val_bpc").asDouble(), 1e-4);
        assertEquals(0.02, last.get("learning_rate").asDouble(), 1e-12);
        assertTrue(last.get("chars_per_second").asDouble() > 0 && last.get("elapsed_seconds").asDouble() > 0);
        java.time.Instant.parse(last.get("time").asText());
        String[] cells = csv.get(5).split(",");
        assertEquals("150", cells[0]);
        assertEquals(last.get("val_loss").asDouble(), Double.parseDouble(cells[4]), 0);

        java.awt.image.BufferedImage png = javax.imageio.ImageIO.read(run.resolve("loss.png").toFile());
        assertNotNull(png, "loss.png is a PNG");
        assertEquals(960, png.getWidth());
        assertFalse(Files.exists(run.resolve("loss.png.tmp")));

        Path chart = dir.resolve("two-runs.png");
        Cli.Result r = Cli.run("plot", run.toString(), run.toString(), "-o", chart.toString());
        assertEquals(0, r.code(), r.err());
        assertNotNull(javax.imageio.ImageIO.read(chart.toFile()));
        Cli.Result notRun = Cli.run("plot", dir.toString(), "-o", chart.toString());
        assertEquals(2, notRun.code());
        assertTrue(notRun.err().contains("metrics.jsonl not found"), notRun.err());
        assertEquals(2, Cli.run("plot", run.toString(), "-o", dir.resolve("x.jpg").toString()).code());
    }

    @Test
    void summaryPrintsTheLayersOfAConfigWithoutTraining() throws IOException {
        Cli.Result r = Cli.run("summary", "--corpus", corpus.toString(), "--set", "model.layers=2", "--set", "model.hiddenSize=10");
        assertEquals(0, r.code(), r.err());
        long v = TEXT.codePoints().distinct().count();
        // LSTM: 4 x (in x 10 + 10 x 10 + 10); output: 10 x V + V
        long lstm1 = 4 * (v * 10 + 100 + 10), lstm2 = 4 * (10 * 10 + 100 + 10), output = 10 * v + v;
        String table = r.out();
        assertTrue(table.contains("vocabulary " + v), table);
        assertTrue(table.contains(String.format(java.util.Locale.ROOT, "%,d", lstm1)) && table.contains(String.format(java.util.Locale.ROOT, "%,d", lstm2)), table);
        assertTrue(table.contains(String.format(java.util.Locale.ROOT, "Total params: %,d", lstm1 + lstm2 + output)), table);
        assertEquals(2, Cli.run("summary", "--corpus", dir.resolve("missing.txt").toString()).code());
    }

    @Test
    void simpleRnnCellTrainsSamplesAndScores() throws IOException {
        Path simple = dir.resolve("simple");
        Cli.Result r = Cli.run("train", "--corpus", corpus.toString(), "--run-dir", simple.toString(), "--max-iterations", "150",
                "--set", "model.cell=simple", "--set", "model.activation=relu", "--set", "model.layers=1", "--set", "model.hiddenSize=64",
                "--set", "training.batchSize=16", "--set", "training.tbpttLength=20", "--set", "training.learningRate=0.005",
                "--set", "training.evalEvery=50", "--set", "training.sampleLength=0", "--set", "training.sampling=random", "--json");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("model: 1 x SimpleRnn(64, relu)"), r.out());
        assertFalse(r.err().contains("warning"), r.err());
        double best = JSON.readTree(r.lastLine()).get("best_val_loss").asDouble();
        double uniform = Math.log(TEXT.codePoints().distinct().count());
        assertTrue(best < 0.5 * uniform, "a plain ReLU RNN learns the tiny text too: " + best + " vs uniform " + uniform);
        Cli.Result s = Cli.run("sample", "--model", simple.toString(), "--prime", "The ", "--length", "40", "--seed", "3");
        assertEquals(0, s.code(), s.err());
        Path text = Files.writeString(dir.resolve("simple-held-out.txt"), "The cat sat on the mat.\n");
        Cli.Result p = Cli.run("perplexity", "--model", simple.toString(), "--text", text.toString(), "--json");
        assertEquals(0, p.code(), p.err());
        assertTrue(Cli.run("inspect", simple.toString()).out().contains("SimpleRnn"));
        Cli.Result consecutive = Cli.run("train", "--corpus", corpus.toString(), "--run-dir", dir.resolve("simple2").toString(),
                "--max-iterations", "1", "--set", "model.cell=simple", "--set", "model.activation=relu", "--set", "model.hiddenSize=8");
        assertTrue(consecutive.err().contains("warning: a ReLU cell"), consecutive.err());
    }

    @Test
    void embeddingInputTrainsSamplesScoresAndSummarises() throws IOException {
        Path run = dir.resolve("embedding");
        Cli.Result r = Cli.run("train", "--corpus", corpus.toString(), "--run-dir", run.toString(), "--max-iterations", "150",
                "--set", "model.input=embedding", "--set", "model.embeddingSize=16", "--set", "model.layers=1", "--set", "model.hiddenSize=64",
                "--set", "training.batchSize=16", "--set", "training.tbpttLength=20", "--set", "training.learningRate=0.02",
                "--set", "training.evalEvery=50", "--set", "training.sampleLength=20", "--json");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("model: Embedding(16) -> 1 x LSTM(64)"), r.out());
        double best = JSON.readTree(r.lastLine()).get("best_val_loss").asDouble();
        assertTrue(best < trained.get("best_val_loss").asDouble() * 2 + 0.1, "learns about as well as one-hot input: " + best);
        Cli.Result s = Cli.run("sample", "--model", run.toString(), "--prime", "The d", "--length", "20", "--greedy");
        assertEquals(0, s.code(), s.err());
        assertTrue(s.out().startsWith("The dog sat on the"), "greedy completion of the memorised text: " + s.out());
        Path text = Files.writeString(dir.resolve("embedding-held-out.txt"), "The cat sat on the mat.\n");
        JsonNode p = JSON.readTree(Cli.run("perplexity", "--model", run.toString(), "--text", text.toString(), "--json").lastLine());
        assertTrue(p.get("nats").asDouble() < 1.0, p.toString());
        Cli.Result summary = Cli.run("summary", "--corpus", corpus.toString(), "--set", "model.input=embedding", "--set", "model.embeddingSize=16");
        long v = TEXT.codePoints().distinct().count();
        assertTrue(summary.out().contains("(EmbeddingSequenceLayer)") && summary.out().contains(String.format(java.util.Locale.ROOT, "%,d", v * 16)),
                summary.out());
    }

    @Test
    void refusesToOverwriteARun() {
        Cli.Result r = Cli.run("train", "--corpus", corpus.toString(), "--run-dir", run.toString(), "--max-iterations", "1");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("already holds a run"), r.err());
    }

    @Test
    void sampleIsReproducibleAndStreamsPrimeFirst() {
        Cli.Result a = Cli.run("sample", "--model", run.toString(), "--prime", "ROMEO:\n", "--length", "60", "--seed", "5");
        Cli.Result b = Cli.run("sample", "--model", run.resolve("best.zip").toString(), "--prime", "ROMEO:\n", "--length", "60", "--seed", "5");
        assertEquals(0, a.code(), a.err());
        assertEquals(a.out(), b.out());
        assertTrue(a.out().startsWith("ROMEO:\n"));
        Cli.Result greedy = Cli.run("sample", "--model", run.toString(), "--prime", "The d", "--length", "20", "--greedy");
        assertTrue(greedy.out().startsWith("The dog sat on the "), greedy.out());
        Cli.Result two = Cli.run("sample", "--model", run.toString(), "--count", "2", "--length", "30", "--seed", "1", "--json");
        assertEquals(2, two.out().strip().split("\n").length);
        JsonNode first = assertDoesNotThrow(() -> JSON.readTree(two.out().strip().split("\n")[0]));
        assertEquals(30, first.get("tokens").asInt(), "every character drawn is counted");
        assertEquals(30, first.get("text").asText().codePointCount(0, first.get("text").asText().length()));
        assertTrue(first.get("seconds").asDouble() > 0, two.out());
        Cli.Result stopped = Cli.run("sample", "--model", run.toString(), "--prime", "The d", "--length", "20", "--greedy",
                "--stop", "sat", "--json");
        JsonNode s = assertDoesNotThrow(() -> JSON.readTree(stopped.lastLine()));
        assertEquals("og ", s.get("text").asText(), stopped.out());
        assertEquals(6, s.get("tokens").asInt(), "the stop string's characters were drawn too");
    }

    @Test
    void unknownPrimeCharactersAreNamedOrSkipped() {
        Cli.Result r = Cli.run("sample", "--model", run.toString(), "--prime", "The Zebra", "--length", "5");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("'Z' (U+005A)") && r.err().contains("'b' (U+0062)") && r.err().contains("--unknown skip"), r.err());
        assertEquals(1, r.err().strip().split("\n").length);
        assertFalse(r.err().contains("at textgen."));
        Cli.Result s = Cli.run("sample", "--model", run.toString(), "--prime", "The Zebra", "--length", "5", "--unknown", "skip");
        assertEquals(0, s.code(), s.err());
    }

    @Test
    void promptsGiveOneCompletionPerLineAndExactMatch() throws IOException {
        Path prompts = Files.writeString(dir.resolve("prompts.txt"), "The cat sat on the\t mat.\nThe dog sat on the\t log.\nJULIET:\n");
        Cli.Result r = Cli.run("sample", "--model", run.toString(), "--prompts", prompts.toString(), "--greedy", "--stop", "\\n", "--length", "30");
        assertEquals(0, r.code(), r.err());
        String[] lines = r.out().split("\n", -1);
        assertEquals(4, lines.length, r.out()); // three completions and the final newline
        assertEquals(" mat.", lines[0]);
        Cli.Result j = Cli.run("sample", "--model", run.toString(), "--prompts", prompts.toString(), "--greedy", "--stop", "\\n", "--json");
        JsonNode summary = assertDoesNotThrow(() -> JSON.readTree(j.lastLine()));
        assertEquals(3, summary.get("prompts").asInt());
        assertEquals(2, summary.get("with_expected").asInt());
        assertEquals(1.0, summary.get("exact_match").asDouble(), j.out());
    }

    @Test
    void perplexityReportsNatsBitsAndPerplexity() throws IOException {
        Path text = Files.writeString(dir.resolve("held.txt"), TEXT);
        Cli.Result r = Cli.run("perplexity", "--model", run.toString(), "--text", text.toString(), "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode j = JSON.readTree(r.lastLine());
        assertEquals(TEXT.length() - 1, j.get("tokens").asLong());
        assertEquals(j.get("nats").asDouble() / Math.log(2), j.get("bits").asDouble(), 1e-9);
        assertEquals(Math.exp(j.get("nats").asDouble()), j.get("perplexity").asDouble(), 1e-9);
        assertTrue(j.get("nats").asDouble() < 1.0, r.out());
        assertTrue(j.get("seconds").asDouble() > 0, r.out());
        Cli.Result plain = Cli.run("perplexity", "--model", run.toString(), "--text", text.toString());
        assertTrue(plain.out().contains("bits/char") && plain.out().contains("perplexity"), plain.out());
    }

    @Test
    void usageErrorsAreOneLineWithExitCode2() throws IOException {
        Path missing = dir.resolve("missing.zip");
        String[][] cases = {
                {"train", "--frobnicate"},
                {"train", "--corpus", corpus.toString(), "--set", "model.hiddenSize=0"},
                {"train", "--corpus", corpus.toString(), "--set", "model.colour=red"},
                {"train", "--corpus", dir.resolve("nope.txt").toString()},
                {"train", "--corpus", corpus.toString(), "--max-iterations", "ten"},
                {"sample", "--model", missing.toString()},
                {"sample", "--model", run.toString(), "--temperature", "0"},
                {"sample", "--model", run.toString(), "--top-p", "1.5"},
                {"sample", "--model", run.toString(), "--top-k", "0"},
                {"sample", "--model", run.toString(), "--length", "-3"},
                {"sample", "--model", run.toString(), "--prime", "a", "--prime-file", "x"},
                {"sample"},
                {"perplexity", "--model", run.toString(), "--text", dir.toString()},
                {"perplexity", "--model", corpus.toString(), "--text", corpus.toString()},
        };
        for (String[] args : cases) {
            Cli.Result r = Cli.run(args);
            String what = String.join(" ", args);
            assertEquals(2, r.code(), what + " -> " + r.err());
            assertEquals(1, r.err().strip().split("\n").length, what + " -> " + r.err());
            assertFalse(r.err().contains("\tat "), what);
        }
        Cli.Result traced = Cli.run("sample", "--model", missing.toString(), "--stacktrace");
        assertTrue(traced.err().contains("\tat "), "--stacktrace shows the trace");
    }
}
