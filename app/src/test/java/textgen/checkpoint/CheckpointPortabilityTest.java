package textgen.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.deeplearning4j.nn.layers.recurrent.LSTM;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import textgen.cli.TestCli;
import textgen.generate.Sampler;
import textgen.generate.SamplingOptions;
import textgen.model.CarriedSimpleRnnLayer;
import textgen.model.FastLstmLayer;
import textgen.model.Predictor;

import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeSet;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Checkpoints are portable between the builds: one trained on the CPU build (textgen's fast layers) and one trained as
 * the CUDA build trains (DL4J's own layers, {@code -Dtextgen.lstm=dl4j}) hold the same entries and the same stored
 * configuration, name only DL4J's classes and FLOAT data, and each loads onto either kind of layer with the same
 * predictions and samples. The backend a checkpoint was written on is provenance only: loading ignores it.
 */
class CheckpointPortabilityTest {
    @TempDir
    static Path dir;
    static Path cpuTrained, cudaTrained;
    static final String TEXT = "the cat sat on the mat. the dog sat on the log.\n".repeat(60);
    static final Set<String> ENTRIES = Set.of("configuration.json", "coefficients.bin", "updaterState.bin", "vocabulary.json",
            "config.yaml", "textgen.json", "carriedState.bin");

    static Path train(String runDir) {
        TestCli.Result r = TestCli.run("train", "--corpus", dir.resolve("text.txt").toString(), "--run-dir", dir.resolve(runDir).toString(),
                "--max-iterations", "6", "--set", "model.layers=2", "--set", "model.hiddenSize=16", "--set", "training.batchSize=4",
                "--set", "training.tbpttLength=10", "--set", "training.evalEvery=3", "--set", "training.sampleLength=0");
        assertEquals(0, r.code(), r.err());
        return dir.resolve(runDir).resolve("latest.zip");
    }

    @BeforeAll
    static void trainOnBothKindsOfLayer() throws IOException {
        Files.writeString(dir.resolve("text.txt"), TEXT);
        cpuTrained = train("cpu");
        System.setProperty("textgen.lstm", "dl4j"); // the layers the CUDA build trains with
        try {
            cudaTrained = train("cuda-layers");
        } finally {
            System.clearProperty("textgen.lstm");
        }
        assertInstanceOf(LSTM.class, Checkpoint.read(cudaTrained, false, false).network().getLayer(0));
    }

    static byte[] entry(Path zip, String name) throws IOException {
        try (ZipFile z = new ZipFile(zip.toFile())) {
            ZipEntry e = z.getEntry(name);
            assertNotNull(e, name + " in " + zip);
            return z.getInputStream(e).readAllBytes();
        }
    }

    @Test
    void bothHoldTheSameEntriesAndTheSameStoredConfiguration() throws IOException {
        for (Path p : List.of(cpuTrained, cudaTrained)) {
            Set<String> names = new TreeSet<>();
            try (ZipFile z = new ZipFile(p.toFile())) {
                for (ZipEntry e : Collections.list(z.entries())) names.add(e.getName());
            }
            assertEquals(new TreeSet<>(ENTRIES), names, p.toString());
        }
        assertEquals(new String(entry(cpuTrained, "configuration.json"), StandardCharsets.UTF_8),
                new String(entry(cudaTrained, "configuration.json"), StandardCharsets.UTF_8),
                "which layer implementation trained the network leaves no trace in the stored configuration");
        assertArrayEquals(entry(cpuTrained, "config.yaml"), entry(cudaTrained, "config.yaml"));
        assertArrayEquals(entry(cpuTrained, "vocabulary.json"), entry(cudaTrained, "vocabulary.json"));
    }

    @Test
    void configurationNamesOnlyDl4jClassesAndFloatData() throws IOException {
        JsonNode conf = new ObjectMapper().readTree(entry(cpuTrained, "configuration.json"));
        List<String> classes = new ArrayList<>(), dataTypes = new ArrayList<>(), text = new ArrayList<>();
        walk(conf, "", classes, dataTypes, text);
        assertTrue(classes.contains("org.deeplearning4j.nn.conf.layers.LSTM"), classes.toString());
        assertTrue(classes.contains("org.deeplearning4j.nn.conf.layers.RnnOutputLayer"), classes.toString());
        for (String c : classes) assertTrue(c.startsWith("org.deeplearning4j.nn.") || c.startsWith("org.nd4j.linalg."), "class " + c);
        assertFalse(dataTypes.isEmpty());
        for (String t : dataTypes) assertEquals("FLOAT", t);
        for (String t : text) {
            String s = t.toLowerCase(Locale.ROOT);
            for (String specific : List.of("textgen", "fastlstm", "fastrnn", "cuda", "cublas", "cudnn", "jcublas", "nativecpu", "openblas", "mkl")) {
                assertFalse(s.contains(specific), "'" + specific + "' in configuration.json: " + t);
            }
        }
    }

    /** Every @class value, every dataType value, and all keys and text values. */
    static void walk(JsonNode n, String key, List<String> classes, List<String> dataTypes, List<String> text) {
        if (n.isObject()) {
            n.fields().forEachRemaining(e -> {
                text.add(e.getKey());
                walk(e.getValue(), e.getKey(), classes, dataTypes, text);
            });
        } else if (n.isArray()) {
            n.forEach(c -> walk(c, key, classes, dataTypes, text));
        } else if (n.isTextual()) {
            text.add(n.asText());
            if (key.equals("@class")) classes.add(n.asText());
            if (key.equalsIgnoreCase("dataType")) dataTypes.add(n.asText());
        }
    }

    @Test
    void parametersAndAdamStateAreFloat32OfTheConfiguredSize() throws IOException {
        for (Path p : List.of(cpuTrained, cudaTrained)) {
            Checkpoint.Loaded l = Checkpoint.read(p, true, false);
            INDArray params = Nd4j.read(new DataInputStream(new ByteArrayInputStream(entry(p, "coefficients.bin"))));
            assertEquals(DataType.FLOAT, params.dataType());
            assertEquals(l.network().numParams(), params.length());
            INDArray adam = Nd4j.read(new DataInputStream(new ByteArrayInputStream(entry(p, "updaterState.bin"))));
            assertEquals(DataType.FLOAT, adam.dataType());
            assertEquals(l.network().getUpdater().getStateViewArray().length(), adam.length());
            assertEquals(DataType.FLOAT, l.network().getLayerWiseConfigurations().getDataType());
        }
    }

    /**
     * model.cell: simple trains on textgen's {@link CarriedSimpleRnnLayer} (both builds), but its checkpoints name DL4J's
     * {@code SimpleRnn}: they load in plain DL4J (ModelSerializer) with the same parameters and predictions, and load
     * back onto textgen's layer in either build.
     */
    @Test
    void simpleCellCheckpointsNameDl4jsSimpleRnnAndLoadInPlainDl4j() throws IOException {
        TestCli.Result r = TestCli.run("train", "--corpus", dir.resolve("text.txt").toString(), "--run-dir", dir.resolve("simple").toString(),
                "--max-iterations", "4", "--set", "model.cell=simple", "--set", "model.layers=2", "--set", "model.hiddenSize=16",
                "--set", "training.batchSize=4", "--set", "training.tbpttLength=10", "--set", "training.evalEvery=2", "--set", "training.sampleLength=0");
        assertEquals(0, r.code(), r.err());
        Path zip = dir.resolve("simple").resolve("latest.zip");
        List<String> classes = new ArrayList<>();
        walk(new ObjectMapper().readTree(entry(zip, "configuration.json")), "", classes, new ArrayList<>(), new ArrayList<>());
        assertTrue(classes.contains("org.deeplearning4j.nn.conf.layers.recurrent.SimpleRnn"), classes.toString());
        for (String c : classes) assertTrue(c.startsWith("org.deeplearning4j.nn.") || c.startsWith("org.nd4j.linalg."), "class " + c);

        org.deeplearning4j.nn.multilayer.MultiLayerNetwork plain = org.deeplearning4j.util.ModelSerializer.restoreMultiLayerNetwork(zip.toFile(), false);
        assertEquals(org.deeplearning4j.nn.layers.recurrent.SimpleRnn.class, plain.getLayer(0).getClass(), "DL4J's own layer in plain DL4J");
        for (boolean fastLayers : new boolean[]{true, false}) {
            Checkpoint.Loaded loaded = Checkpoint.read(zip, false, fastLayers);
            for (int i = 0; i < 2; i++) assertInstanceOf(CarriedSimpleRnnLayer.class, loaded.network().getLayer(i), "layer " + i + ", fast " + fastLayers);
            assertEquals(plain.params(), loaded.network().params());
            INDArray x = Nd4j.zeros(DataType.FLOAT, 1, loaded.vocabulary().size(), 5);
            for (int t = 0; t < 5; t++) x.putScalar(new long[]{0, t % loaded.vocabulary().size(), t}, 1.0);
            assertTrue(plain.output(x).equalsWithEps(loaded.network().output(x), 1e-6), "same predictions, fast " + fastLayers);
        }
    }

    /** Loaded onto textgen's kernels (CPU build) and onto DL4J's layers (CUDA build): same probabilities, same sample. */
    @Test
    void eachLoadsOnEitherKindOfLayerWithTheSameOutputs() throws IOException {
        Path relabelled = withBackend(cpuTrained, "cuda");
        for (Path p : List.of(cpuTrained, cudaTrained, relabelled)) {
            Checkpoint.Loaded fast = Checkpoint.read(p, false, true), stock = Checkpoint.read(p, false, false);
            assertInstanceOf(FastLstmLayer.class, fast.network().getLayer(0));
            assertFalse(stock.network().getLayer(0) instanceof FastLstmLayer);
            assertInstanceOf(LSTM.class, stock.network().getLayer(0));
            assertEquals(fast.network().params(), stock.network().params());

            int[] ids = fast.vocabulary().encode(TEXT.substring(0, 120), false, "text");
            float[] pf = Predictor.of(fast.network()).feed(new int[][]{ids}, 0, ids.length);
            float[] ps = Predictor.of(stock.network()).feed(new int[][]{ids}, 0, ids.length);
            assertEquals(pf.length, ps.length);
            double maxDiff = 0;
            for (int i = 0; i < pf.length; i++) maxDiff = Math.max(maxDiff, Math.abs(pf[i] - ps[i]));
            assertTrue(maxDiff < 1e-5, p + ": probabilities differ by " + maxDiff);

            int[] prime = fast.vocabulary().encode("the ", false, "prime");
            String a = new Sampler(fast.network(), fast.vocabulary(), SamplingOptions.withTemperature(0.8))
                    .generate(prime, 80, null, new SplittableRandom(3), s -> { });
            String b = new Sampler(stock.network(), stock.vocabulary(), SamplingOptions.withTemperature(0.8))
                    .generate(prime, 80, null, new SplittableRandom(3), s -> { });
            assertEquals(a, b, p.toString());
            assertEquals(80, a.length());
        }
    }

    /** A run trained on the CPU build continues on the CUDA build's layers (and the reverse), carried state included. */
    @Test
    void aRunResumesOnTheOtherKindOfLayer() throws IOException {
        Path cpuRun = copy(dir.resolve("cpu"), dir.resolve("cpu-then-cuda")), cudaRun = copy(dir.resolve("cuda-layers"), dir.resolve("cuda-then-cpu"));
        System.setProperty("textgen.lstm", "dl4j");
        try {
            TestCli.Result r = TestCli.run("train", "--resume", cpuRun.toString(), "--max-iterations", "9");
            assertEquals(0, r.code(), r.err());
        } finally {
            System.clearProperty("textgen.lstm");
        }
        TestCli.Result back = TestCli.run("train", "--resume", cudaRun.toString(), "--max-iterations", "9");
        assertEquals(0, back.code(), back.err());
        assertEquals(9, Checkpoint.read(cpuRun.resolve("latest.zip"), false).state().iteration());
        assertEquals(9, Checkpoint.read(cudaRun.resolve("latest.zip"), false).state().iteration());
    }

    static Path copy(Path from, Path to) throws IOException {
        try (var files = Files.walk(from)) {
            for (Path p : (Iterable<Path>) files::iterator) Files.copy(p, to.resolve(from.relativize(p).toString()));
        }
        return to;
    }

    /** The checkpoint with textgen.json saying it was written on {@code backend}. */
    static Path withBackend(Path src, String backend) throws IOException {
        Path out = dir.resolve("as-" + backend + ".zip");
        try (ZipFile z = new ZipFile(src.toFile()); ZipOutputStream zo = new ZipOutputStream(Files.newOutputStream(out))) {
            for (ZipEntry e : Collections.list(z.entries())) {
                byte[] data = z.getInputStream(e).readAllBytes();
                if (e.getName().equals("textgen.json")) {
                    ObjectNode meta = (ObjectNode) new ObjectMapper().readTree(data);
                    assertEquals("cpu", meta.path("backend").asText());
                    meta.put("backend", backend);
                    data = new ObjectMapper().writeValueAsBytes(meta);
                }
                zo.putNextEntry(new ZipEntry(e.getName()));
                zo.write(data);
                zo.closeEntry();
            }
        }
        return out;
    }
}
