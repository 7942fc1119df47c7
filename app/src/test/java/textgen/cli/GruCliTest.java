package textgen.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import textgen.checkpoint.Checkpoint;
import textgen.model.GruLayer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * model.cell: gru through the real CLI, in-process: train (consecutive and random, one-hot and embedding), resume
 * bit-identically, sample, score, inspect, fine-tune, two devices, summary.
 */
class GruCliTest {
    static final ObjectMapper JSON = new ObjectMapper();
    @TempDir
    static Path dir;
    static Path corpus, config;

    @BeforeAll
    static void files() throws IOException {
        corpus = Files.writeString(dir.resolve("tiny.txt"), CliEndToEndTest.TEXT.repeat(40));
        config = Files.writeString(dir.resolve("gru.yaml"), """
                corpus:
                  path: tiny.txt
                  validationFraction: 0.1
                model:
                  cell: gru
                  layers: 2
                  hiddenSize: 24
                  dropout: 0.1
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

    @Test
    void resumedRunIsBitIdenticalAndItsCheckpointSamplesScoresAndFineTunes() throws IOException {
        Path whole = dir.resolve("whole"), split = dir.resolve("split");
        Cli.Result first = ok("train", "--config", config.toString(), "--run-dir", whole.toString(), "--max-iterations", "10");
        assertTrue(first.out().contains("model: 2 x GRU(24)"), first.out());
        ok("train", "--config", config.toString(), "--run-dir", split.toString(), "--max-iterations", "6"); // off the evaluation grid
        JsonNode j = JSON.readTree(ok("train", "--resume", split.toString(), "--max-iterations", "10", "--json").lastLine());
        assertEquals(10, j.get("iterations").asLong());
        Checkpoint.Loaded a = Checkpoint.read(whole.resolve("latest.zip"), true), b = Checkpoint.read(split.resolve("latest.zip"), true);
        assertInstanceOf(GruLayer.class, b.network().getLayer(0));
        assertEquals(a.network().params(), b.network().params(), "parameters after 10 iterations");
        assertEquals(a.network().getUpdater().getStateViewArray(), b.network().getUpdater().getStateViewArray(), "Adam state");
        assertEquals(a.state().valLoss(), b.state().valLoss(), 0.0);
        assertEquals(List.of(0, 1), List.copyOf(new java.util.TreeSet<>(b.carried().keySet())), "both GRU layers carry their state");
        for (int layer : a.carried().keySet()) {
            assertEquals(a.carried().get(layer), b.carried().get(layer), "carried state of layer " + layer);
            assertEquals(8, b.carried().get(layer).get(GruLayer.STATE_KEY_PREV_ACTIVATION).size(0));
        }

        Cli.Result s1 = ok("sample", "--model", split.toString(), "--prime", "The ", "--length", "30", "--seed", "3");
        Cli.Result s2 = ok("sample", "--model", split.toString(), "--prime", "The ", "--length", "30", "--seed", "3");
        assertTrue(s1.out().startsWith("The "), s1.out());
        assertEquals(s1.out(), s2.out(), "same seed, same sample");
        JsonNode p = JSON.readTree(ok("perplexity", "--model", split.toString(), "--text", corpus.toString(), "--json").lastLine());
        double uniform = Math.log(CliEndToEndTest.TEXT.codePoints().distinct().count());
        assertTrue(p.get("nats").asDouble() > 0 && p.get("nats").asDouble() < uniform, p.toString());

        Cli.Result inspect = ok("inspect", split.toString());
        assertTrue(inspect.out().contains("2 x GRU(24)") && inspect.out().contains("(GRU)"), inspect.out());

        Cli.Result tuned = ok("train", "--config", config.toString(), "--run-dir", dir.resolve("tuned").toString(), "--init-from",
                split.resolve("latest.zip").toString(), "--max-iterations", "2");
        assertTrue(tuned.out().contains("fine-tuning from") && tuned.out().contains("2 x GRU(24)"), tuned.out());
    }

    @Test
    void learnsTheTinyTextOnTwoDevices() throws IOException {
        Path run = dir.resolve("two");
        JsonNode j = JSON.readTree(ok("train", "--config", config.toString(), "--run-dir", run.toString(), "--max-iterations", "120",
                "--devices", "2", "--set", "model.layers=1", "--set", "model.hiddenSize=64", "--set", "model.dropout=0",
                "--set", "training.batchSize=16", "--set", "training.tbpttLength=20", "--set", "training.learningRate=0.02",
                "--set", "training.evalEvery=40", "--json").lastLine());
        assertEquals(List.of(120L, 120L), List.of(j.get("device_steps").get(0).asLong(), j.get("device_steps").get(1).asLong()), j.toString());
        double uniform = Math.log(CliEndToEndTest.TEXT.codePoints().distinct().count());
        assertTrue(j.get("best_val_loss").asDouble() < uniform * 0.5, "learned well below uniform (" + uniform + "): " + j);
        Checkpoint.Loaded l = Checkpoint.read(run.resolve("latest.zip"), false);
        assertEquals(16, l.carried().get(0).get(GruLayer.STATE_KEY_PREV_ACTIVATION).size(0), "the streams of both devices");
        Cli.Result s = ok("sample", "--model", run.toString(), "--prime", "The d", "--length", "20", "--greedy");
        assertTrue(s.out().startsWith("The dog sat on the"), "greedy completion of the memorised text: " + s.out());
    }

    @Test
    void trainsOnRandomWindowsThroughAnEmbedding() throws IOException {
        Path run = dir.resolve("embedding");
        Cli.Result r = ok("train", "--config", config.toString(), "--run-dir", run.toString(), "--max-iterations", "8",
                "--set", "model.input=embedding", "--set", "model.embeddingSize=8", "--set", "training.sampling=random", "--json");
        assertTrue(r.out().contains("model: Embedding(8) -> 2 x GRU(24)"), r.out());
        assertEquals(8, JSON.readTree(r.lastLine()).get("iterations").asLong());
        assertTrue(Checkpoint.read(run.resolve("latest.zip"), false).carried().isEmpty(), "random windows carry no state");
        ok("sample", "--model", run.toString(), "--prime", "The ", "--length", "20", "--seed", "1");
        JsonNode p = JSON.readTree(ok("perplexity", "--model", run.toString(), "--text", corpus.toString(), "--json").lastLine());
        assertTrue(Double.isFinite(p.get("nats").asDouble()), p.toString());
    }

    /**
     * The closest textgen model to the Keras guide's Embedding(1000, 64) -> GRU(256) -> SimpleRNN(128) -> Dense(10):
     * a vocabulary of 1000 words, embedding 64, 1 x GRU(256); Keras counts that GRU as 247,296 parameters.
     */
    @Test
    void summaryCountsAGruAsKerasDoes() throws IOException {
        StringBuilder words = new StringBuilder();
        for (int i = 0; i < 1200; i++) {
            words.append((char) ('a' + i / 676)).append((char) ('a' + i / 26 % 26)).append((char) ('a' + i % 26)).append(i % 12 == 11 ? "\n" : " ");
        }
        Path text = Files.writeString(dir.resolve("words.txt"), words.toString().repeat(2));
        Cli.Result r = ok("summary", "--corpus", text.toString(), "--set", "corpus.tokenizer=word", "--set", "corpus.maxVocabulary=1000",
                "--set", "model.input=embedding", "--set", "model.embeddingSize=64", "--set", "model.cell=gru",
                "--set", "model.layers=1", "--set", "model.hiddenSize=256");
        assertTrue(r.out().contains("vocabulary 1,000 words"), r.out());
        for (String s : List.of("64,000", "(GRU)", "247,296", "257,000", "Total params: 568,296")) assertTrue(r.out().contains(s), s + "\n" + r.out());
    }
}
