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
     * configs/shakespeare.yaml, shortened: 600 iterations (about 1 million characters) of a 2 x 128 model. Uniform guessing scores ln 65 = 4.17
     * nats/char, the best unigram model 3.35 and the best bigram model 2.48 on this validation split.
     */
    @Test
    void shakespeareLearnsBeyondCharacterPairs() throws Exception {
        assumeTrue(Files.exists(SHAKESPEARE), "needs ../shared/corpora/tinyshakespeare.txt beside the checkout");
        TestCli.Result r = TestCli.run("train", "--config", "../configs/shakespeare.yaml", "--run-dir", dir.resolve("run").toString(),
                "--max-iterations", "600", "--set", "model.hiddenSize=128", "--set", "training.tbpttLength=50",
                "--set", "training.evalEvery=600", "--set", "training.sampleLength=0", "--json");
        assertEquals(0, r.code(), r.err());
        double val = JSON.readTree(r.lastLine()).get("best_val_loss").asDouble();
        assertTrue(val < 2.4, "validation loss " + val + " nats/char must beat the bigram model's 2.48");
    }

    /**
     * The quick-start demo, shortened to 400 iterations (not minutes: a time limit made the run, and the result, depend
     * on the machine's load; 403 iterations in 2 minutes once scored 5.3%). Measured at 400: val 0.408, 8.3% exact (5.3% at a neighbouring checkpoint), so the bounds are 0.44 and 3%.
     * Numbers in words and digits. Uniform guessing scores about 3.3 nats/char; a model
     * that learned the words but not their digits about 0.45 (the number is free, about 9 nats a line, and so are its
     * roughly 4 digits, over about 40 characters); guessing a held-out number's digits exactly is about 1 in 10,000.
     */
    @Test
    void demoLearnsToReadNumbers() throws Exception {
        TestCli.Result r = TestCli.run("demo", "--minutes", "10", "--max-iterations", "400", "--show", "0", "--run-dir", dir.resolve("demo").toString(), "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode j = JSON.readTree(r.lastLine());
        assertTrue(j.get("best_val_loss").asDouble() < 0.44, "validation loss: " + j);
        assertTrue(j.get("exact_match").asDouble() >= 0.03, "held-out numbers read exactly: " + j);
    }

    /**
     * configs/addition.yaml's recipe on 2-digit problems (the Keras addition task): 40,000 problems, 650 iterations of a
     * 2 x 96 model at a constant learning rate (about 90 s here), then greedy completion of 300 held-out problems.
     * Measured: 91% exact (33% after 450 iterations); a model that has not learned to add gets about 1% (a 2- or 3-digit
     * sum guessed from its length). Not the config's cosine schedule: ending at iteration 650 it reached 15% (the
     * config's 6,000 iterations leave the learning rate high through the jump from guessing to adding).
     */
    @Test
    void additionCompletesHeldOutProblemsExactly() throws Exception {
        Path train = dir.resolve("add.txt"), held = dir.resolve("add.tsv");
        TestCli.Result c = TestCli.run("corpus", "addition", "--count", "40000", "--max-digits", "2", "--seed", "3",
                "--out", train.toString(), "--holdout", "300", "--holdout-out", held.toString());
        assertEquals(0, c.code(), c.err());
        TestCli.Result r = TestCli.run("train", "--config", "../configs/addition.yaml", "--corpus", train.toString(),
                "--run-dir", dir.resolve("add").toString(), "--max-iterations", "650", "--set", "model.hiddenSize=96",
                "--set", "training.batchSize=64", "--set", "training.tbpttLength=32", "--set", "training.learningRate=0.006",
                "--set", "training.lrSchedule=step", "--set", "training.lrDecay=1", "--set", "training.seed=42", "--set", "training.evalEvery=650");
        assertEquals(0, r.code(), r.err());
        TestCli.Result s = TestCli.run("sample", "--model", dir.resolve("add").toString(), "--prompts", held.toString(),
                "--greedy", "--stop", "\\n", "--length", "5", "--json");
        assertEquals(0, s.code(), s.err());
        double exact = JSON.readTree(s.lastLine()).get("exact_match").asDouble();
        assertTrue(exact >= 0.6, "held-out 2-digit problems completed exactly: " + exact);
    }
}
