package textgen.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.zip.GZIPOutputStream;

import static org.junit.jupiter.api.Assertions.*;

/** The CLI on a folder corpus: train, inspect (what was read), --resume (the cached encoding reused), perplexity, --init-from. */
class FolderCorpusTest {
    @TempDir
    Path dir;

    private static Cli.Result ok(String... args) {
        Cli.Result r = Cli.run(args);
        assertEquals(0, r.code(), String.join(" ", args) + "\n" + r.err() + r.out());
        return r;
    }

    @Test
    void trainInspectResumeScoreAndFineTuneOnAFolder() throws Exception {
        Path corpus = Files.createDirectories(dir.resolve("corpus/b"));
        String a = "The cat sat on the mat.\n".repeat(40), b = "The dog sat on the log.".repeat(30), c = "A cat and a dog.\n".repeat(30);
        Files.writeString(dir.resolve("corpus/a.txt"), a);
        Files.writeString(corpus.resolve("b.txt"), b);
        try (OutputStream o = new GZIPOutputStream(Files.newOutputStream(dir.resolve("corpus/c.txt.gz")))) {
            o.write(c.getBytes(StandardCharsets.UTF_8));
        }
        String joined = a + b + "\n" + c; // a.txt, b/b.txt (no final line break: one is inserted), c.txt.gz
        String run = dir.resolve("run").toString();
        String[] small = {"--set", "model.layers=1", "--set", "model.hiddenSize=8", "--set", "training.batchSize=4", "--set", "training.tbpttLength=8",
                "--set", "training.evalEvery=2", "--set", "training.sampleLength=0"};
        String[] train = concat(new String[]{"train", "--corpus", dir.resolve("corpus").toString(), "--run-dir", run, "--max-iterations", "2"}, small);
        ok(train);

        String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(joined.getBytes(StandardCharsets.UTF_8)));
        String inspect = ok("inspect", run).out();
        assertTrue(inspect.contains("3 file(s) of " + String.format(java.util.Locale.ROOT, "%,d", Files.size(dir.resolve("corpus/a.txt"))
                + Files.size(corpus.resolve("b.txt")) + Files.size(dir.resolve("corpus/c.txt.gz"))) + " bytes"), inspect);
        assertTrue(inspect.contains("SHA-256 " + sha), inspect);

        // the cached encoding is what --resume reads: not written again
        Path cache = Path.of(System.getenv("TEXTGEN_CACHE"), "corpora");
        Path tokens;
        try (var s = Files.list(cache)) {
            tokens = s.filter(p -> p.getFileName().toString().startsWith(sha) && p.toString().endsWith(".tokens")).findFirst().orElseThrow();
        }
        FileTime made = Files.getLastModifiedTime(tokens);
        ok("train", "--resume", run, "--max-iterations", "4");
        assertEquals(made, Files.getLastModifiedTime(tokens));

        // the same text as one file shares the cached encoding, but its checkpoints say what it read: 1 file
        Path single = Files.writeString(dir.resolve("joined.txt"), joined);
        String singleRun = dir.resolve("single").toString();
        ok(concat(new String[]{"train", "--corpus", single.toString(), "--run-dir", singleRun, "--max-iterations", "2"}, small));
        assertEquals(made, Files.getLastModifiedTime(tokens));
        String single1 = ok("inspect", singleRun).out();
        assertTrue(single1.contains("1 file(s) of " + String.format(java.util.Locale.ROOT, "%,d", Files.size(single)) + " bytes"), single1);
        assertTrue(single1.contains("SHA-256 " + sha), single1);

        String score = ok("perplexity", "--model", run, "--text", dir.resolve("corpus").toString() + "/*.txt").out();
        assertTrue(score.contains(String.format(java.util.Locale.ROOT, "%,d characters scored", a.length() - 1)), score);

        // --init-from: the checkpoint's vocabulary on another folder, characters it lacks skipped
        Path other = Files.createDirectories(dir.resolve("other"));
        Files.writeString(other.resolve("x.txt"), "The cat sat on the log; the dog sat on the mat!\n".repeat(30));
        ok(concat(new String[]{"train", "--init-from", run, "--unknown", "skip", "--corpus", other.toString(), "--run-dir",
                dir.resolve("tuned").toString(), "--max-iterations", "2"}, small));
    }

    private static String[] concat(String[] a, String[] b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
