package textgen.checkpoint;

import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
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
import java.io.ObjectOutputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.BiConsumer;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;

import static org.junit.jupiter.api.Assertions.*;

class CheckpointTest {
    @TempDir
    Path dir;

    private static final Vocabulary VOCAB = Vocabulary.of("hello world\n");
    private static final RunConfig CONFIG = ConfigLoader.load(null, List.of("model.hiddenSize=8", "model.layers=1"));
    private static final TrainingState STATE = new TrainingState(3, 0, 3, 120, 2.5, 2.4, 1.0, 2.0, 2.6, 2.7, 2.55, 0.5, 1);
    private static final Checkpoint.Provenance PROV = new Checkpoint.Provenance("abc", 12);

    private Path write() {
        CarriedStateNetwork net = TestModels.net(VOCAB.size(), 1, 8, 5);
        net.fit(new BatchSource(TestModels.randomIds(100, VOCAB.size(), 1), VOCAB.size(), 2, 5, RunConfig.Sampling.RANDOM, 1).batch(0, 0));
        Path p = dir.resolve("c.zip");
        Checkpoint.write(p, net, VOCAB, CONFIG, STATE, PROV, java.util.Map.of());
        return p;
    }

    @Test
    void roundTripAndDl4jCanRestoreWithUpdater() throws IOException {
        Path p = write();
        Checkpoint.Loaded l = Checkpoint.read(p, true);
        assertEquals(VOCAB, l.vocabulary());
        assertEquals(CONFIG, l.config());
        assertEquals(STATE, l.state());
        MultiLayerNetwork plain = ModelSerializer.restoreMultiLayerNetwork(p.toFile(), true);
        assertEquals(l.network().params(), plain.params());
        assertInstanceOf(textgen.model.FastLstmLayer.class, l.network().getLayer(0), "loads onto the fast layer on CPU");
        assertFalse(plain.getLayer(0) instanceof textgen.model.FastLstmLayer);
        assertNotNull(plain.getUpdater().getStateViewArray());
        assertTrue(plain.getUpdater().getStateViewArray().sumNumber().doubleValue() != 0, "Adam state was saved");
        try (ZipFile z = new ZipFile(p.toFile())) {
            for (ZipEntry e : java.util.Collections.list(z.entries())) {
                byte[] head = z.getInputStream(e).readNBytes(2);
                assertFalse(head.length == 2 && (head[0] & 0xff) == 0xAC && (head[1] & 0xff) == 0xED, "Java-serialized: " + e.getName());
            }
            assertNotNull(z.getEntry("vocabulary.json"));
            assertNotNull(z.getEntry("config.yaml"));
            assertNotNull(z.getEntry("updaterState.bin"));
            String conf = new String(z.getInputStream(z.getEntry("configuration.json")).readAllBytes());
            assertTrue(conf.contains("org.deeplearning4j.nn.conf.layers.LSTM") && !conf.contains("FastLstm"), "stock layer names only");
        }
        assertEquals("rw-r--r--", java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(p)).replace("rw-rw-r--", "rw-r--r--"));
    }

    /**
     * The parameter and Adam-state entries hold exactly what Nd4j.write writes (through textgen's own buffer, larger
     * than one buffer's 64 KB here) and are not compressed: deflate took 1.5 s of a 2 x 512 model's 2.0 s checkpoint
     * to save 7%.
     */
    @Test
    void parameterEntriesAreNd4jWriteBytesUncompressed() throws IOException {
        CarriedStateNetwork net = TestModels.net(VOCAB.size(), 1, 100, 5);
        net.fit(new BatchSource(TestModels.randomIds(100, VOCAB.size(), 1), VOCAB.size(), 2, 5, RunConfig.Sampling.RANDOM, 1).batch(0, 0));
        Path p = dir.resolve("big.zip");
        Checkpoint.write(p, net, VOCAB, CONFIG, STATE, PROV, java.util.Map.of());
        var arrays = java.util.Map.of("coefficients.bin", net.params(), "updaterState.bin", net.getUpdater().getStateViewArray());
        try (ZipFile z = new ZipFile(p.toFile())) {
            for (var a : arrays.entrySet()) {
                java.io.ByteArrayOutputStream expected = new java.io.ByteArrayOutputStream();
                try (java.io.DataOutputStream out = new java.io.DataOutputStream(expected)) {
                    org.nd4j.linalg.factory.Nd4j.write(a.getValue(), out);
                }
                assertTrue(expected.size() > 2 * 65536, "larger than two buffers: " + expected.size());
                ZipEntry e = z.getEntry(a.getKey());
                assertArrayEquals(expected.toByteArray(), z.getInputStream(e).readAllBytes(), a.getKey());
                assertTrue(e.getCompressedSize() >= e.getSize(), a.getKey() + " compressed: " + e.getCompressedSize() + " of " + e.getSize());
            }
            ZipEntry conf = z.getEntry("configuration.json");
            assertTrue(conf.getCompressedSize() < conf.getSize(), "the text entries stay compressed");
        }
    }

    /** Copies the checkpoint's entries, letting {@code edit} drop or add some. */
    private Path rewrite(Path src, String name, BiConsumer<ZipEntry, ZipOutputStream> keep, Extra extra) throws IOException {
        Path out = dir.resolve(name);
        try (ZipFile z = new ZipFile(src.toFile()); ZipOutputStream zo = new ZipOutputStream(Files.newOutputStream(out))) {
            for (ZipEntry e : java.util.Collections.list(z.entries())) {
                byte[] data = z.getInputStream(e).readAllBytes();
                if (keep != null) {
                    keep.accept(e, null);
                }
                if (extra != null && extra.drop(e.getName())) continue;
                zo.putNextEntry(new ZipEntry(e.getName()));
                zo.write(extra != null ? extra.replace(e.getName(), data) : data);
                zo.closeEntry();
            }
            if (extra != null) extra.add(zo);
        }
        return out;
    }

    interface Extra {
        default boolean drop(String name) {
            return false;
        }

        default byte[] replace(String name, byte[] data) {
            return data;
        }

        default void add(ZipOutputStream zo) throws IOException {
        }
    }

    private void refused(Path p, String expect) {
        TextgenException e = assertThrows(TextgenException.class, () -> Checkpoint.read(p, false));
        assertEquals(2, e.exitCode());
        assertTrue(e.getMessage().contains(expect), e.getMessage());
        assertFalse(e.getMessage().contains("\n"));
    }

    @Test
    void refusesDamagedOrForeignCheckpoints() throws IOException {
        Path good = write();
        byte[] bytes = Files.readAllBytes(good);
        refused(Files.write(dir.resolve("trunc.zip"), java.util.Arrays.copyOf(bytes, bytes.length / 2)), "not a readable zip");
        refused(Files.writeString(dir.resolve("text.zip"), "hello"), "not a readable zip");
        refused(rewrite(good, "novocab.zip", null, new Extra() {
            public boolean drop(String n) {
                return n.equals("vocabulary.json");
            }
        }), "no 'vocabulary.json'");
        refused(rewrite(good, "serialized.zip", null, new Extra() {
            public void add(ZipOutputStream zo) throws IOException {
                zo.putNextEntry(new ZipEntry("preprocessor.bin"));
                ByteArrayOutputStream b = new ByteArrayOutputStream();
                try (ObjectOutputStream o = new ObjectOutputStream(b)) {
                    o.writeObject("x");
                }
                zo.write(b.toByteArray());
                zo.closeEntry();
            }
        }), "Java-serialized");
        refused(rewrite(good, "version.zip", null, new Extra() {
            public byte[] replace(String n, byte[] d) {
                return n.equals("textgen.json") ? new String(d).replace("\"formatVersion\" : 1", "\"formatVersion\" : 99").getBytes() : d;
            }
        }), "format version 99");
        refused(rewrite(good, "vocab.zip", null, new Extra() {
            public byte[] replace(String n, byte[] d) {
                return n.equals("vocabulary.json") ? "{\"type\":\"char\",\"codePoints\":[97,98,99]}".getBytes() : d;
            }
        }), "vocabulary has 3 characters");
        refused(rewrite(good, "foreign-class.zip", null, new Extra() {
            public byte[] replace(String n, byte[] d) {
                return n.equals("configuration.json")
                        ? new String(d).replace("org.nd4j.linalg.learning.config.Adam", "java.util.HashMap").getBytes() : d;
            }
        }), "configuration.json names class \"java.util.HashMap\", which is neither DL4J's, ND4J's nor a textgen layer: refused");
        refused(dir.resolve("missing.zip"), "");
    }

    @Test
    void failedWriteLeavesPreviousCheckpointIntact() throws IOException {
        Path p = write();
        byte[] before = Files.readAllBytes(p);
        CarriedStateNetwork net = TestModels.net(VOCAB.size(), 1, 8, 5);
        Path readOnly = dir.resolve("ro");
        Files.createDirectories(readOnly);
        Path target = readOnly.resolve("c.zip");
        Files.write(target, before);
        readOnly.toFile().setWritable(false);
        try {
            if (Files.isWritable(readOnly)) return; // running as a user who can write anyway (root): covered by the OutputStream test
            TextgenException e = assertThrows(TextgenException.class, () -> Checkpoint.write(target, net, VOCAB, CONFIG, STATE, PROV, java.util.Map.of()));
            assertEquals(1, e.exitCode());
            assertArrayEquals(before, Files.readAllBytes(target));
        } finally {
            readOnly.toFile().setWritable(true);
        }
    }

    @Test
    void fullDiskMidWriteIsOneLineErrorAndLeavesPreviousCheckpointIntact() throws IOException {
        Path p = write();
        byte[] before = Files.readAllBytes(p);
        CarriedStateNetwork net = TestModels.net(VOCAB.size(), 1, 8, 5);
        for (int failAfter : new int[]{0, 10, 1000, before.length / 2}) {
            Checkpoint.Opener full = tmp -> new java.io.FileOutputStream(tmp.toFile()) {
                long n;

                @Override
                public void write(byte[] b, int off, int len) throws IOException {
                    if ((n += len) > failAfter) throw new IOException("No space left on device");
                    super.write(b, off, len);
                }

                @Override
                public void write(byte[] b) throws IOException {
                    write(b, 0, b.length);
                }

                @Override
                public void write(int b) throws IOException {
                    write(new byte[]{(byte) b}, 0, 1);
                }
            };
            TextgenException e = assertThrows(TextgenException.class,
                    () -> Checkpoint.write(p, net, VOCAB, CONFIG, STATE, PROV, java.util.Map.of(), full), "fail after " + failAfter + " of " + before.length);
            assertEquals(1, e.exitCode());
            assertFalse(e.getMessage().contains("\n"));
            assertTrue(e.getMessage().contains("No space left on device") && e.getMessage().contains("previous checkpoint there is intact"), e.getMessage());
            assertArrayEquals(before, Files.readAllBytes(p), "previous checkpoint untouched");
            try (var s = Files.list(dir)) {
                assertTrue(s.noneMatch(f -> f.getFileName().toString().endsWith(".tmp")), "no temporary file left");
            }
        }
        assertEquals(STATE, Checkpoint.read(p, true).state());
    }

    @Test
    void carriedStateRoundTripsExactly() {
        CarriedStateNetwork net = TestModels.net(VOCAB.size(), 2, 8, 5);
        net.fitCarryingState(new BatchSource(TestModels.randomIds(100, VOCAB.size(), 1), VOCAB.size(), 3, 5,
                RunConfig.Sampling.CONSECUTIVE, 1).batch(0, 0));
        var carried = net.trainingState();
        assertEquals(2, carried.size());
        Path p = dir.resolve("s.zip");
        RunConfig cfg = ConfigLoader.load(null, List.of("model.hiddenSize=8", "model.layers=2", "training.batchSize=3"));
        Checkpoint.write(p, net, VOCAB, cfg, STATE, PROV, carried);
        var back = Checkpoint.read(p, true).carried();
        assertEquals(carried.keySet(), back.keySet());
        carried.forEach((layer, m) -> m.forEach((k, v) -> assertEquals(v, back.get(layer).get(k), layer + "/" + k)));
    }

    @Test
    void stateFromAnEarlierFormatTakesNeutralValues() throws IOException {
        // what session-1 checkpoints stored: no elapsed time, running means, learning-rate cut or rollbacks
        var old = new com.fasterxml.jackson.databind.ObjectMapper().readTree(
                "{\"iteration\":500,\"epoch\":1,\"batchInEpoch\":10,\"tokensSeen\":1000,\"valLoss\":\"NaN\",\"bestValLoss\":1.7,\"trainSeconds\":60.0}");
        TrainingState s = Checkpoint.trainingState(old, "c");
        assertEquals(new TrainingState(500, 1, 10, 1000, Double.NaN, 1.7, 60, 60, Double.NaN, Double.NaN, Double.NaN, 1.0, 0), s);
        assertEquals(STATE, Checkpoint.trainingState(new com.fasterxml.jackson.databind.ObjectMapper().valueToTree(STATE), "c"));
    }
}
