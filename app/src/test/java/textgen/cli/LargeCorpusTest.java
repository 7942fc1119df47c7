package textgen.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.zip.GZIPOutputStream;
import java.util.zip.ZipFile;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Memory does not grow with the corpus: a child JVM with a 128 MB heap trains on a generated folder corpus several
 * times larger than that heap (the old whole-string path needed about 17 bytes per character), and scores a text.
 * The size is -Dtextgen.largeCorpusMB (default 384).
 */
class LargeCorpusTest {
    private static final int MB = Integer.getInteger("textgen.largeCorpusMB", 384);
    private static final String[] WORDS = {"the", "cat", "sat", "on", "a", "mat", "and", "dog", "ran", "far", "away", "from", "home"};

    @TempDir
    Path dir;

    private Process start(String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx128m",
                "-cp", System.getProperty("java.class.path"), "textgen.cli.Main"));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true);
        pb.environment().put("OMP_NUM_THREADS", "1");
        pb.environment().put("TEXTGEN_CACHE", dir.resolve("cache").toString());
        return pb.start();
    }

    private static String run(Process p, int seconds) throws Exception {
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(seconds, TimeUnit.SECONDS), out);
        assertEquals(0, p.exitValue(), out);
        return out;
    }

    private static void generate(Writer w, long bytes, Random r) throws IOException {
        StringBuilder line = new StringBuilder();
        for (long n = 0; n < bytes; ) {
            line.setLength(0);
            int words = 4 + r.nextInt(10);
            for (int i = 0; i < words; i++) line.append(i == 0 ? "" : " ").append(WORDS[r.nextInt(WORDS.length)]);
            line.append(".\n");
            w.append(line);
            n += line.length();
        }
    }

    @Test
    void trainsAndScoresOnACorpusLargerThanTheHeap() throws Exception {
        Path corpus = Files.createDirectories(dir.resolve("corpus/part"));
        Random r = new Random(1);
        for (int f = 0; f < 4; f++) {
            try (Writer w = Files.newBufferedWriter(corpus.resolve("part-" + f + ".txt"))) {
                generate(w, (long) MB << 18, r); // a quarter each
            }
        }
        try (Writer w = new BufferedWriter(new OutputStreamWriter(new GZIPOutputStream(Files.newOutputStream(dir.resolve("corpus/z.txt.gz"))),
                StandardCharsets.UTF_8))) {
            generate(w, 100_000, r);
        }
        try (Writer w = Files.newBufferedWriter(dir.resolve("val.txt"))) {
            generate(w, 3_000, r);
        }
        Files.writeString(dir.resolve("c.yaml"), "corpus:\n  path: corpus\n  validationPath: val.txt\nmodel:\n  layers: 1\n  hiddenSize: 16\n"
                + "training:\n  batchSize: 8\n  tbpttLength: 16\n  evalEvery: 2\n  sampleLength: 0\n");
        long t0 = System.nanoTime();
        String out = run(start("train", "--config", "c.yaml", "--run-dir", "run", "--max-iterations", "4"), 600);
        double seconds = (System.nanoTime() - t0) / 1e9;
        System.out.printf("LargeCorpusTest: %d MB trained in a 128 MB heap in %.1f s%n", MB, seconds);
        try (ZipFile z = new ZipFile(dir.resolve("run/latest.zip").toFile())) {
            JsonNode meta = new ObjectMapper().readTree(z.getInputStream(z.getEntry("textgen.json")));
            assertEquals(5, meta.path("corpusFiles").asInt(), meta.toString());
            assertTrue(meta.path("corpusCodePoints").asLong() >= (long) MB << 20, meta.toString());
        }
        String score = run(start("perplexity", "--model", "run", "--text", "val.txt"), 300);
        assertTrue(score.contains("perplexity"), score);
        assertTrue(out.contains("iteration") || out.contains("val"), out);
    }
}
