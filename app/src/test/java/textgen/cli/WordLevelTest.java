package textgen.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.ZipFile;

import static org.junit.jupiter.api.Assertions.*;

/** A word-level model through the real CLI: train with embeddings, inspect, sample, score. */
class WordLevelTest {
    static final ObjectMapper JSON = new ObjectMapper();
    @TempDir
    static Path dir;
    static Path config, run;
    static Cli.Result trained;

    static final String TEXT = """
            The cat sat on the mat.
            The dog sat on the log.
            A bird sang in the tree!
            """;

    @BeforeAll
    static void train() throws IOException {
        Files.writeString(dir.resolve("words.txt"), TEXT.repeat(60) + "One zebra.\n");
        config = Files.writeString(dir.resolve("words.yaml"), """
                corpus:
                  path: words.txt
                  tokenizer: word
                  lowercase: true
                  minCount: 2
                model:
                  input: embedding
                  embeddingSize: 16
                  layers: 1
                  hiddenSize: 32
                training:
                  batchSize: 8
                  tbpttLength: 10
                  learningRate: 0.02
                  evalEvery: 100
                  sampleLength: 12
                """);
        run = dir.resolve("run");
        trained = Cli.run("train", "--config", config.toString(), "--run-dir", run.toString(), "--max-iterations", "200", "--json");
        assertEquals(0, trained.code(), trained.err());
    }

    @Test
    void trainsOnWordsAndStoresAWordVocabulary() throws IOException {
        assertTrue(trained.out().contains("validation words, vocabulary 16"), trained.out());
        assertTrue(trained.out().contains("nats/word") && trained.out().contains("words/s"), trained.out());
        JsonNode r = JSON.readTree(trained.lastLine());
        // 15 words and marks (the zebra line's "one" and "zebra" occur once: <unk>); uniform guessing is ln 16 = 2.77
        assertTrue(r.get("best_val_loss").asDouble() < 0.8, "a repetitive text is learned well below uniform: " + r);
        try (ZipFile zip = new ZipFile(run.resolve("best.zip").toFile())) {
            JsonNode v = JSON.readTree(zip.getInputStream(zip.getEntry("vocabulary.json")));
            assertEquals("word", v.get("type").asText());
            assertTrue(v.get("lowercase").asBoolean());
            assertEquals("<unk>", v.get("tokens").get(0).asText());
            assertEquals(16, v.get("tokens").size());
        }
        Cli.Result inspect = Cli.run("inspect", run.toString());
        assertEquals(0, inspect.code(), inspect.err());
        assertTrue(inspect.out().contains("vocabulary 16 words (lowercased)") && inspect.out().contains("nats/word"), inspect.out());
    }

    @Test
    void samplesWordsAfterAPrimeAndNamesUnknownPrimeWords() throws IOException {
        Cli.Result s = Cli.run("sample", "--model", run.toString(), "--prime", "The dog", "--length", "6", "--greedy", "--json");
        assertEquals(0, s.code(), s.err());
        String text = JSON.readTree(s.lastLine()).get("text").asText();
        assertEquals(" sat on the log.\n", text, "greedy continuation of a memorised line, words joined as written");

        Cli.Result unknown = Cli.run("sample", "--model", run.toString(), "--prime", "The emu and the gnu", "--length", "3");
        assertEquals(2, unknown.code());
        assertTrue(unknown.err().contains("prime text has 3 word(s) not in the model's vocabulary: 'emu', 'and', 'gnu'"), unknown.err());
        assertEquals(0, Cli.run("sample", "--model", run.toString(), "--prime", "The emu", "--unknown", "skip", "--length", "3").code());
        assertEquals(0, Cli.run("sample", "--model", run.toString(), "--prime", "The emu", "--unknown", "unk", "--length", "3").code());
    }

    @Test
    void perplexityIsPerWordWithTheUnkRate() throws IOException {
        Path text = Files.writeString(dir.resolve("held.txt"), "The cat sat on the log.\nThe emu sat on the mat.\n");
        Cli.Result p = Cli.run("perplexity", "--model", run.toString(), "--text", text.toString(), "--json");
        assertEquals(0, p.code(), p.err());
        JsonNode o = JSON.readTree(p.lastLine());
        assertEquals("word", o.get("unit").asText());
        assertEquals(15, o.get("tokens").asLong(), "16 tokens, the first not predicted");
        assertEquals(1 / 15.0, o.get("unk_rate").asDouble(), 1e-9, "emu");
        assertTrue(o.get("perplexity").asDouble() < 6, o.toString());
        Cli.Result plain = Cli.run("perplexity", "--model", run.toString(), "--text", text.toString());
        assertTrue(plain.out().contains("15 words scored") && plain.out().contains("nats/word") && plain.out().contains("<unk> 6.67% of words"),
                plain.out());
        Cli.Result strict = Cli.run("perplexity", "--model", run.toString(), "--text", text.toString(), "--unknown", "error");
        assertEquals(2, strict.code());
        assertTrue(strict.err().contains("'emu'"), strict.err());
    }

    @Test
    void oneHotOverALargeWordVocabularyIsRefused() throws IOException {
        StringBuilder many = new StringBuilder();
        for (int i = 0; i < 2500; i++) many.append("w").append(i).append(i % 10 == 9 ? "\n" : " ");
        Path big = Files.writeString(dir.resolve("big.txt"), many.toString());
        Cli.Result r = Cli.run("train", "--corpus", big.toString(), "--set", "corpus.tokenizer=word", "--run-dir", dir.resolve("big").toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("a word vocabulary of 2,502 tokens with model.input onehot") && r.err().contains("model.input: embedding"),
                r.err());
        assertFalse(Files.exists(dir.resolve("big")), "refused before the run directory is made");
        Cli.Result summary = Cli.run("summary", "--config", config.toString());
        assertEquals(0, summary.code(), summary.err());
        assertTrue(summary.out().contains("vocabulary 16 words") && summary.out().contains("EmbeddingSequence"), summary.out());
    }
}
