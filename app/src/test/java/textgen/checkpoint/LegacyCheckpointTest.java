package textgen.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import textgen.cli.TestCli;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

import static org.junit.jupiter.api.Assertions.*;

/**
 * A run directory written before the issue-16 restructuring (resources/legacy-checkpoint, see its README) still
 * loads, samples and scores exactly as the code that wrote it did, and resumes as it did (to float rounding).
 */
class LegacyCheckpointTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Where the corpus was when the run was made: the checkpoint's config names it. */
    private static final Path CORPUS = Path.of("/tmp/textgen-legacy-fixture/corpus.txt");
    private static final String CHECKPOINT = "iter-00000006-val3.9309.zip";

    @TempDir
    Path tmp;

    private static Path fixture(String name) throws URISyntaxException {
        return Path.of(LegacyCheckpointTest.class.getResource("/legacy-checkpoint/" + name).toURI());
    }

    private static TestCli.Result ok(String... args) {
        TestCli.Result r = TestCli.run(args);
        assertEquals(0, r.code(), () -> String.join(" ", args) + "\n" + r.err() + r.out());
        return r;
    }

    @Test
    void samplesAndScoresAsBefore() throws Exception {
        Path ckpt = fixture(CHECKPOINT);
        String expected = Files.readString(fixture("expected-sample.txt"));
        assertEquals(expected.strip(), ok("sample", "--model", ckpt.toString(), "--length", "60", "--seed", "7", "--prime", "ROMEO").out().strip());
        JsonNode p = JSON.readTree(ok("perplexity", "--model", ckpt.toString(), "--text", fixture("corpus.txt").toString(), "--json").lastLine());
        assertEquals(2999, p.get("tokens").asLong());
        assertEquals(3.930951190702259, p.get("nats").asDouble(), 1e-6);
    }

    @Test
    void resumesAsBefore() throws Exception {
        byte[] text = Files.readAllBytes(fixture("corpus.txt"));
        Files.createDirectories(CORPUS.getParent());
        if (!Files.exists(CORPUS) || !java.util.Arrays.equals(Files.readAllBytes(CORPUS), text)) Files.write(CORPUS, text);
        Path run = Files.createDirectory(tmp.resolve("run"));
        for (String f : new String[]{CHECKPOINT, "checkpoints.json", "config.yaml"}) Files.copy(fixture(f), run.resolve(f));
        Files.copy(run.resolve(CHECKPOINT), run.resolve(RunDirectory.LATEST), StandardCopyOption.COPY_ATTRIBUTES);
        Files.copy(run.resolve(CHECKPOINT), run.resolve(RunDirectory.BEST), StandardCopyOption.COPY_ATTRIBUTES);
        JsonNode r = JSON.readTree(ok("train", "--resume", run.toString(), "--max-iterations", "9", "--json").lastLine());
        assertEquals(9, r.get("iterations").asLong());
        // bit for bit until 2026-12-02 (3.920418351968883); since then the first layer's one-hot input takes lookups
        // and its weight gradient sums the same terms in another order, so the same resume agrees to float rounding
        // (bit-identical resume within one version of textgen is ResumeTest's)
        assertEquals(3.920418351968883, r.get("best_val_loss").asDouble(), 1e-8, "resumed as the code that wrote it");
    }
}
