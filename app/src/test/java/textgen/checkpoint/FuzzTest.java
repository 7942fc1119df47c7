package textgen.checkpoint;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import textgen.TestModels;
import textgen.TextgenException;
import textgen.config.ConfigLoader;
import textgen.config.RunConfig;
import textgen.corpus.BatchSource;
import textgen.corpus.Vocabulary;
import textgen.model.CarriedStateNetwork;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Random and mutated configs and checkpoints: the loaders either accept the input or throw textgen's own one-line
 * error, never anything else, never hang (each loop is bounded in time) and never exhaust memory (the JVM's heap is
 * 2 GiB; a size field believed blindly would ask for more).
 */
class FuzzTest {
    @TempDir
    Path dir;

    private static final String[] YAML_BITS = {"model:", "training:", "corpus:", "  layers: ", "  hiddenSize: ", "  batchSize: ",
            "  tbpttLength: ", "  learningRate: ", "  sampling: ", "  path: ", "  validationFraction: ", "  seed: ", "&a ", "*a", "!!str ",
            "!!binary ", "!!python/object ", "[", "]", "{", "}", "- ", "? ", ": ", "'", "\"", "|", ">", "#", "%YAML 1.1\n", "---\n",
            "...\n", "\t", "\n", "  ", "9999999999999999999999", "-1", "0", "1e308", "NaN", ".inf", "null", "~", "true", "0x10", "1_000",
            "consecutive", "random", "\u00e9", "\u0000", "\uFEFF", "<<: *a\n"};

    @Test
    void configLoaderOnlyEverThrowsItsOwnError() {
        String valid = "corpus:\n  path: c.txt\n  validationFraction: 0.1\nmodel:\n  layers: 2\n  hiddenSize: 64\n  dropout: 0.1\n"
                + "training:\n  batchSize: 8\n  tbpttLength: 16\n  sampling: random\n  learningRate: 0.01\n  seed: 3\n";
        Random rnd = new Random(11);
        int[] outcomes = new int[2];
        assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
            for (int i = 0; i < 4000; i++) {
                String text = i % 4 == 0 ? random(rnd) : mutate(valid, rnd);
                Path f = dir.resolve("fuzz.yaml");
                Files.writeString(f, text, StandardCharsets.UTF_8);
                List<String> sets = new ArrayList<>();
                if (i % 5 == 0) sets.add(YAML_BITS[rnd.nextInt(YAML_BITS.length)].trim() + "=" + YAML_BITS[rnd.nextInt(YAML_BITS.length)]);
                try {
                    RunConfig c = ConfigLoader.load(f, sets);
                    assertNotNull(c);
                    outcomes[0]++;
                } catch (TextgenException e) {
                    assertEquals(2, e.exitCode());
                    assertFalse(e.getMessage().isBlank());
                    outcomes[1]++;
                } catch (Throwable t) {
                    fail("case " + i + " threw " + t + " for:\n" + text, t);
                }
            }
        });
        assertTrue(outcomes[0] > 50 && outcomes[1] > 50, "both accepted and refused inputs were generated: " + outcomes[0] + "/" + outcomes[1]);
    }

    private static String random(Random rnd) {
        StringBuilder b = new StringBuilder();
        int n = rnd.nextInt(30);
        for (int i = 0; i < n; i++) b.append(YAML_BITS[rnd.nextInt(YAML_BITS.length)]);
        return b.toString();
    }

    private static String mutate(String s, Random rnd) {
        StringBuilder b = new StringBuilder(s);
        int edits = 1 + rnd.nextInt(3);
        for (int e = 0; e < edits; e++) {
            int at = rnd.nextInt(b.length() + 1);
            switch (rnd.nextInt(4)) {
                case 0 -> b.insert(at, YAML_BITS[rnd.nextInt(YAML_BITS.length)]);
                case 1 -> b.delete(at, Math.min(b.length(), at + 1 + rnd.nextInt(8)));
                case 2 -> {
                    if (at < b.length()) b.setCharAt(at, (char) (32 + rnd.nextInt(95)));
                }
                default -> b.insert(at, Integer.toString(rnd.nextInt()));
            }
        }
        return b.toString();
    }

    @Test
    void checkpointLoaderOnlyEverThrowsItsOwnError() throws Exception {
        Vocabulary vocab = Vocabulary.of("hello world\n");
        RunConfig cfg = ConfigLoader.load(null, List.of("model.hiddenSize=8", "model.layers=2", "training.batchSize=3"));
        CarriedStateNetwork net = TestModels.net(vocab.size(), 2, 8, 5);
        net.fitCarryingState(new BatchSource(TestModels.randomIds(100, vocab.size(), 1), vocab.size(), 3, 5,
                RunConfig.Sampling.CONSECUTIVE, 1).batch(0, 0));
        Path good = dir.resolve("good.zip");
        Checkpoint.write(good, net, vocab, cfg, TrainingState.start(), new Checkpoint.Provenance("x", 1), net.trainingState());
        byte[] zipBytes = Files.readAllBytes(good);
        Map<String, byte[]> entries = new LinkedHashMap<>();
        try (ZipFile z = new ZipFile(good.toFile())) {
            for (ZipEntry e : java.util.Collections.list(z.entries())) entries.put(e.getName(), z.getInputStream(e).readAllBytes());
        }
        Random rnd = new Random(5);
        int[] outcomes = new int[2];
        Path f = dir.resolve("fuzz.zip");
        assertTimeoutPreemptively(Duration.ofSeconds(120), () -> {
            for (int i = 0; i < 1500; i++) {
                String what;
                if (i % 3 == 0) { // the zip's own bytes: flips, truncation, garbage
                    byte[] b = zipBytes.clone();
                    int flips = 1 + rnd.nextInt(4);
                    for (int k = 0; k < flips; k++) b[rnd.nextInt(b.length)] ^= (byte) (1 << rnd.nextInt(8));
                    if (rnd.nextInt(4) == 0) b = java.util.Arrays.copyOf(b, rnd.nextInt(b.length));
                    Files.write(f, b);
                    what = "zip bytes";
                } else { // one entry mutated inside a well-formed zip
                    List<String> names = new ArrayList<>(entries.keySet());
                    String victim = names.get(rnd.nextInt(names.size()));
                    Map<String, byte[]> m = new LinkedHashMap<>(entries);
                    m.put(victim, mutateEntry(entries.get(victim), rnd));
                    if (rnd.nextInt(10) == 0) m.remove(names.get(rnd.nextInt(names.size())));
                    Files.write(f, zip(m));
                    what = "entry " + victim;
                }
                try {
                    Checkpoint.Loaded l = Checkpoint.read(f, true);
                    assertNotNull(l.network());
                    outcomes[0]++;
                } catch (TextgenException e) {
                    assertEquals(2, e.exitCode(), e.getMessage());
                    assertFalse(e.getMessage().contains("\n"), e.getMessage());
                    outcomes[1]++;
                } catch (Throwable t) {
                    fail("case " + i + " (" + what + ") threw " + t, t);
                }
            }
        });
        assertTrue(outcomes[1] > 500, "most mutations are refused: accepted " + outcomes[0] + ", refused " + outcomes[1]);
    }

    private static byte[] mutateEntry(byte[] b, Random rnd) {
        byte[] m = b.clone();
        switch (rnd.nextInt(5)) {
            case 0 -> { // flip bits
                for (int k = 0; k < 1 + rnd.nextInt(4) && m.length > 0; k++) m[rnd.nextInt(m.length)] ^= (byte) (1 << rnd.nextInt(8));
            }
            case 1 -> m = java.util.Arrays.copyOf(m, m.length == 0 ? 0 : rnd.nextInt(m.length)); // truncate
            case 2 -> { // a large number where a number was (sizes, versions, code points)
                String s = new String(m, StandardCharsets.ISO_8859_1);
                String[] big = {"2147483647", "-1", "99999999999", "0", "1e9"};
                s = s.replaceFirst("\\d+", big[rnd.nextInt(big.length)]);
                m = s.getBytes(StandardCharsets.ISO_8859_1);
            }
            case 3 -> { // big-endian int fields set huge (binary entries' headers)
                if (m.length >= 16) {
                    int at = rnd.nextInt(Math.min(m.length - 4, 64));
                    m[at] = 0x7f;
                    m[at + 1] = (byte) 0xff;
                }
            }
            default -> { // random bytes
                m = new byte[rnd.nextInt(200)];
                rnd.nextBytes(m);
            }
        }
        return m;
    }

    private static byte[] zip(Map<String, byte[]> entries) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ZipOutputStream z = new ZipOutputStream(bytes)) {
            for (var e : entries.entrySet()) {
                z.putNextEntry(new ZipEntry(e.getKey()));
                z.write(e.getValue());
                z.closeEntry();
            }
        }
        return bytes.toByteArray();
    }
}
