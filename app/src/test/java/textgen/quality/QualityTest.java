package textgen.quality;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import textgen.cli.TestCli;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Short real training runs whose measured quality an untrained or broken model cannot reach. Bounds and timings
 * measured here (2 cores) are in README.md.
 */
class QualityTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final Path SHAKESPEARE = Path.of("../../shared/corpora/tinyshakespeare.txt");

    @TempDir
    Path dir;

    /**
     * configs/shakespeare.yaml, shortened: 150 iterations of a 2 x 128 model. Uniform guessing scores ln 65 = 4.17
     * nats/char, the best unigram model 3.35 and the best bigram model 2.48 on this validation split.
     */
    @Test
    void shakespeareLearnsBeyondCharacterPairs() throws Exception {
        assumeTrue(Files.exists(SHAKESPEARE), "needs ../shared/corpora/tinyshakespeare.txt beside the checkout");
        TestCli.Result r = TestCli.run("train", "--config", "../configs/shakespeare.yaml", "--run-dir", dir.resolve("run").toString(),
                "--max-iterations", "150", "--set", "model.hiddenSize=128", "--set", "training.tbpttLength=50",
                "--set", "training.learningRate=0.004", "--set", "training.evalEvery=150", "--set", "training.sampleLength=0", "--json");
        assertEquals(0, r.code(), r.err());
        double val = JSON.readTree(r.lastLine()).get("best_val_loss").asDouble();
        assertTrue(val < 2.35, "validation loss " + val + " nats/char must beat the bigram model's 2.48");
    }

    /** The quick-start demo: two-digit addition learned from text, judged on problems it never saw. */
    @Test
    void demoLearnsTwoDigitAddition() throws Exception {
        TestCli.Result r = TestCli.run("demo", "--minutes", "1.5", "--show", "0", "--run-dir", dir.resolve("demo").toString(), "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode j = JSON.readTree(r.lastLine());
        assertTrue(j.get("exact_match").asDouble() >= 0.5, "exact match on held-out problems: " + j);
    }
}
