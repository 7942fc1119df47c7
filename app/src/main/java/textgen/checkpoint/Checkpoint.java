package textgen.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.nd4j.linalg.api.ndarray.INDArray;
import textgen.TextgenException;
import textgen.Version;
import textgen.config.ConfigLoader;
import textgen.config.RunConfig;
import textgen.corpus.Vocabulary;
import textgen.io.AtomicFiles;
import textgen.model.Backend;
import textgen.model.CarriedStateNetwork;
import textgen.model.FastLstm;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Enumeration;
import java.util.Map;
import java.util.Set;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;
import java.util.zip.ZipInputStream;
import java.util.zip.ZipOutputStream;

/**
 * One checkpoint is one zip: DL4J's own entries ({@code configuration.json}, {@code coefficients.bin},
 * {@code updaterState.bin}, so {@link ModelSerializer#restoreMultiLayerNetwork} restores it with its updater), plus
 * {@code vocabulary.json}, {@code config.yaml} (the effective config) and {@code textgen.json} (format version,
 * provenance, training state). Nothing in it is Java-serialized, and the loader refuses a zip that holds anything
 * Java-serialized before DL4J sees it.
 */
public final class Checkpoint {
    public static final int FORMAT_VERSION = 1;
    static final String VOCABULARY = "vocabulary.json";
    static final String CONFIG = "config.yaml";
    static final String META = "textgen.json";
    static final String CARRIED = "carriedState.bin";
    private static final Set<String> DL4J_ENTRIES = Set.of("configuration.json", "coefficients.bin", "updaterState.bin");
    private static final Set<String> REQUIRED = Set.of("configuration.json", "coefficients.bin", VOCABULARY, CONFIG, META);
    private static final ObjectMapper JSON = new ObjectMapper();

    /** What a checkpoint holds, restored. {@code carried} is the hidden state consecutive training carries (may be empty). */
    public record Loaded(MultiLayerNetwork network, Vocabulary vocabulary, RunConfig config, TrainingState state,
                         Map<Integer, Map<String, INDArray>> carried, JsonNode meta, Path path) {
    }

    /** Where the training text came from, recorded in every checkpoint. */
    public record Provenance(String corpusSha256, long corpusCodePoints) {
        public static Provenance of(textgen.corpus.Corpus c) {
            return new Provenance(c.sha256(), c.codePoints());
        }
    }

    /** Opens the temporary file a checkpoint is written to (tests substitute one that fails like a full disk). */
    interface Opener {
        OutputStream open(Path tmp) throws IOException;
    }

    private Checkpoint() {
    }

    /**
     * Writes atomically: a temporary file in the target's directory, flushed to disk, then moved over the target.
     * On any failure the temporary file is removed and the previous file at {@code target} is untouched.
     */
    public static void write(Path target, MultiLayerNetwork net, Vocabulary vocab, RunConfig config, TrainingState state,
                             Provenance provenance, Map<Integer, Map<String, INDArray>> carried) {
        write(target, net, vocab, config, state, provenance, carried, tmp -> new FileOutputStream(tmp.toFile()));
    }

    static void write(Path target, MultiLayerNetwork net, Vocabulary vocab, RunConfig config, TrainingState state,
                      Provenance provenance, Map<Integer, Map<String, INDArray>> carried, Opener opener) {
        try {
            AtomicFiles.replace(target, tmp -> {
                try (OutputStream os = opener.open(tmp)) {
                    writeTo(os, net, vocab, config, state, provenance, carried);
                }
            });
        } catch (IOException | RuntimeException e) {
            throw TextgenException.runtime("could not write checkpoint " + target + ": " + e.getMessage()
                    + (Files.exists(target) ? " (the previous checkpoint there is intact)" : ""), e);
        }
    }

    static void writeTo(OutputStream os, MultiLayerNetwork net, Vocabulary vocab, RunConfig config, TrainingState state,
                        Provenance provenance, Map<Integer, Map<String, INDArray>> carried) throws IOException {
        ByteArrayOutputStream dl4j = new ByteArrayOutputStream();
        ModelSerializer.writeModel(net, dl4j, true);
        ZipOutputStream zip = new ZipOutputStream(os);
        try (ZipInputStream in = new ZipInputStream(new ByteArrayInputStream(dl4j.toByteArray()))) {
            for (ZipEntry e; (e = in.getNextEntry()) != null; ) {
                if (!DL4J_ENTRIES.contains(e.getName())) continue; // e.g. no normalizer or preprocessor: never written
                zip.putNextEntry(new ZipEntry(e.getName()));
                if (e.getName().equals("configuration.json")) {
                    // stock layer names only: the checkpoint restores in plain DL4J and on any backend
                    zip.write(FastLstm.portable(new String(in.readAllBytes(), StandardCharsets.UTF_8)).getBytes(StandardCharsets.UTF_8));
                } else {
                    in.transferTo(zip);
                }
                zip.closeEntry();
            }
        }
        putEntry(zip, VOCABULARY, JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(vocab.toJson()));
        putEntry(zip, CONFIG, ConfigLoader.toYaml(config).getBytes(StandardCharsets.UTF_8));

        ObjectNode meta = JSON.createObjectNode();
        meta.put("format", "textgen-checkpoint");
        meta.put("formatVersion", FORMAT_VERSION);
        meta.put("textgenVersion", Version.TEXTGEN);
        meta.put("dl4jVersion", Backend.DL4J_VERSION);
        meta.put("backend", Backend.configuredBackend());
        meta.put("created", Instant.now().toString());
        meta.put("corpusSha256", provenance.corpusSha256());
        meta.put("corpusCodePoints", provenance.corpusCodePoints());
        meta.put("corpusPath", config.corpus().path());
        meta.put("seed", config.training().seed());
        meta.put("javaVersion", System.getProperty("java.version"));
        meta.set("state", JSON.valueToTree(state));
        putEntry(zip, META, JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(meta));
        if (carried != null && !carried.isEmpty()) putEntry(zip, CARRIED, CarriedState.encode(carried));
        zip.finish();
        zip.flush();
    }

    private static void putEntry(ZipOutputStream zip, String name, byte[] bytes) throws IOException {
        zip.putNextEntry(new ZipEntry(name));
        zip.write(bytes);
        zip.closeEntry();
    }

    /** A checkpoint file, or a run directory (then its best checkpoint). */
    public static Path resolve(Path modelPath) {
        if (Files.isDirectory(modelPath)) {
            Path best = modelPath.resolve(RunDirectory.BEST);
            if (Files.isRegularFile(best)) return best;
            Path latest = modelPath.resolve(RunDirectory.LATEST);
            if (Files.isRegularFile(latest)) return latest;
            throw TextgenException.usage("model " + modelPath + " is a directory without " + RunDirectory.BEST + " or "
                    + RunDirectory.LATEST + ": not a run directory");
        }
        if (!Files.exists(modelPath)) throw TextgenException.usage("model " + modelPath + " does not exist");
        return modelPath;
    }

    /** Loads and checks a checkpoint; every problem is a one-line usage error naming the file. */
    public static Loaded read(Path path, boolean withUpdater) {
        return read(path, withUpdater, textgen.model.NetworkFactory.useFastLstm());
    }

    /**
     * As {@link #read(Path, boolean)}, onto textgen's CPU layers ({@code fastLayers}) or DL4J's own (what the CUDA
     * build runs): the stored configuration names only DL4J's classes, so either works with any checkpoint.
     */
    public static Loaded read(Path path, boolean withUpdater, boolean fastLayers) {
        String name = "checkpoint " + path;
        try (ZipFile zip = new ZipFile(path.toFile())) {
            Enumeration<? extends ZipEntry> entries = zip.entries();
            while (entries.hasMoreElements()) {
                ZipEntry e = entries.nextElement();
                if (e.getName().equals("preprocessor.bin") || e.getName().equals("normalizer.bin") || isJavaSerialized(zip, e)) {
                    throw TextgenException.usage(name + " contains a Java-serialized entry '" + e.getName()
                            + "': refused, textgen never deserializes Java objects");
                }
            }
            for (String required : REQUIRED) {
                if (zip.getEntry(required) == null) {
                    throw TextgenException.usage(name + " has no '" + required + "' entry: not a textgen checkpoint, or damaged");
                }
            }
            JsonNode meta = readJson(zip, META, name);
            if (!"textgen-checkpoint".equals(meta.path("format").asText())) {
                throw TextgenException.usage(name + ": " + META + " does not describe a textgen checkpoint");
            }
            int version = meta.path("formatVersion").asInt(-1);
            if (version != FORMAT_VERSION) {
                throw TextgenException.usage(name + " has format version " + meta.path("formatVersion")
                        + ", this textgen reads version " + FORMAT_VERSION);
            }
            Vocabulary vocab = readVocabulary(readJson(zip, VOCABULARY, name), name);
            RunConfig config = ConfigLoader.fromStoredYaml(readText(zip, CONFIG), name + " " + CONFIG);
            TrainingState state = trainingState(meta.path("state"), name);
            MultiLayerNetwork net = restore(zip, withUpdater, fastLayers, name);
            long nOut = net.layerSize(net.getnLayers() - 1);
            long nIn = net.layerInputSize(0);
            if (nOut != vocab.size() || nIn != vocab.size()) {
                throw TextgenException.usage(name + ": vocabulary has " + vocab.size() + " " + vocab.unit() + "s but the network takes "
                        + nIn + " inputs and predicts " + nOut + " classes");
            }
            Map<Integer, Map<String, INDArray>> carried = zip.getEntry(CARRIED) == null ? Map.of()
                    : CarriedState.decode(readBytes(zip, CARRIED, 64L << 20), net, config.training().batchSize(), name);
            return new Loaded(net, vocab, config, state, carried, meta, path);
        } catch (TextgenException e) {
            throw e;
        } catch (ZipException e) {
            throw TextgenException.usage(name + " is not a readable zip (truncated or not a checkpoint): " + TextgenException.oneLine(e));
        } catch (IOException | RuntimeException e) {
            throw TextgenException.usage(name + " cannot be read: " + TextgenException.oneLine(e));
        }
    }

    /**
     * The training state, field by field: a field that a checkpoint from an earlier textgen lacks takes its neutral
     * value (no learning-rate cut, no running means yet) instead of Jackson's 0, which would mean a learning rate of
     * zero and a divergence guard that fires at once on resume.
     */
    static TrainingState trainingState(JsonNode s, String name) {
        if (!s.isObject() || !s.path("iteration").canConvertToLong())
            throw TextgenException.usage(name + ": " + META + " has no training state");
        double trainSeconds = s.path("trainSeconds").asDouble(0);
        return new TrainingState(s.path("iteration").asLong(), s.path("epoch").asInt(), s.path("batchInEpoch").asInt(),
                s.path("tokensSeen").asLong(), number(s, "valLoss", Double.NaN), number(s, "bestValLoss", Double.NaN), trainSeconds,
                number(s, "elapsedSeconds", trainSeconds), number(s, "smoothedLoss", Double.NaN), number(s, "recentLoss", Double.NaN),
                number(s, "lowestMean", Double.NaN), number(s, "lrScale", 1.0), s.path("rollbacks").asInt(0));
    }

    private static double number(JsonNode s, String field, double absent) {
        JsonNode n = s.get(field);
        return n == null || n.isNull() ? absent : n.asDouble(absent);
    }

    /** Largest network textgen loads (4 GiB of float32 parameters would not fit the memory it runs in anyway). */
    private static final long MAX_PARAMS = 1L << 30;

    /**
     * Restores the network as DL4J's ModelSerializer would (configuration, parameters, updater state), but checks
     * every size first: the parameter count the configuration implies must be plausible, the entries must hold
     * exactly that many floats, and arrays are rebuilt from their data alone, never from the shape header stored
     * beside it (a damaged header made DL4J read past its buffer and crash the JVM; found by FuzzTest).
     */
    private static MultiLayerNetwork restore(ZipFile zip, boolean withUpdater, boolean fastLayers, String name) throws IOException {
        org.deeplearning4j.nn.conf.MultiLayerConfiguration conf;
        long params = 0;
        try {
            conf = org.deeplearning4j.nn.conf.MultiLayerConfiguration.fromJson(readText(zip, "configuration.json"));
            for (org.deeplearning4j.nn.conf.NeuralNetConfiguration c : conf.getConfs()) {
                long n = c.getLayer().initializer().numParams(c);
                if (n < 0 || n > MAX_PARAMS) { params = -1; break; }
                params += n;
                if (params > MAX_PARAMS) break;
            }
        } catch (RuntimeException e) {
            throw TextgenException.usage(name + ": configuration.json is not a network configuration DL4J understands: " + TextgenException.oneLine(e));
        }
        if (params <= 0 || params > MAX_PARAMS) {
            throw TextgenException.usage(name + ": configuration.json describes " + params + " parameters: implausible, refused");
        }
        try {
            CarriedStateNetwork net = new CarriedStateNetwork(textgen.model.NetworkFactory.withLstm(conf, fastLayers));
            net.init(floats(zip, "coefficients.bin", params, name), false);
            if (withUpdater && zip.getEntry("updaterState.bin") != null) {
                INDArray view = net.getUpdater().getStateViewArray();
                long n = view == null ? 0 : view.length();
                if (n > 0) net.getUpdater().setStateViewArray(net, floats(zip, "updaterState.bin", n, name), false);
            }
            return net;
        } catch (TextgenException e) {
            throw e;
        } catch (Exception | OutOfMemoryError e) {
            throw TextgenException.usage(name + " holds a network DL4J cannot restore: " + TextgenException.oneLine(e));
        }
    }

    /** A float32 row vector of exactly {@code n} values from an entry written by Nd4j.write. */
    private static INDArray floats(ZipFile zip, String entry, long n, String name) throws IOException {
        byte[] bytes = readBytes(zip, entry, n * 4 + (1 << 16));
        if (bytes.length < n * 4 || bytes.length > n * 4 + (1 << 16)) {
            throw TextgenException.usage(name + ": " + entry + " holds " + bytes.length + " bytes, not the " + n * 4
                    + " that " + n + " float parameters need: damaged");
        }
        org.nd4j.linalg.api.buffer.DataBuffer data;
        try {
            data = org.nd4j.linalg.factory.Nd4j.read(new java.io.DataInputStream(new ByteArrayInputStream(bytes))).data();
        } catch (RuntimeException | OutOfMemoryError e) {
            throw TextgenException.usage(name + ": " + entry + " is damaged: " + TextgenException.oneLine(e));
        }
        if (data == null || data.dataType() != org.nd4j.linalg.api.buffer.DataType.FLOAT || data.length() != n) {
            throw TextgenException.usage(name + ": " + entry + " does not hold " + n + " float32 values: damaged");
        }
        return org.nd4j.linalg.factory.Nd4j.create(data.asFloat(), new long[]{1, n}, 'c');
    }

    private static boolean isJavaSerialized(ZipFile zip, ZipEntry e) throws IOException {
        try (InputStream in = zip.getInputStream(e)) {
            byte[] head = in.readNBytes(2);
            return head.length == 2 && (head[0] & 0xff) == 0xAC && (head[1] & 0xff) == 0xED;
        }
    }

    private static Vocabulary readVocabulary(JsonNode json, String name) {
        Vocabulary vocab;
        try {
            vocab = Vocabulary.fromJson(json);
        } catch (IllegalArgumentException e) {
            throw TextgenException.usage(name + ": " + VOCABULARY + " is invalid: " + e.getMessage());
        }
        if (vocab == null) throw TextgenException.usage(name + ": " + VOCABULARY + " is neither a character nor a word vocabulary");
        return vocab;
    }

    private static JsonNode readJson(ZipFile zip, String entry, String name) throws IOException {
        try {
            return JSON.readTree(readText(zip, entry));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw TextgenException.usage(name + ": " + entry + " is not valid JSON");
        }
    }

    private static String readText(ZipFile zip, String entry) throws IOException {
        return new String(readBytes(zip, entry, 16 << 20), StandardCharsets.UTF_8);
    }

    /** An entry's bytes, at most {@code limit} whatever its header claims (a damaged size field cannot exhaust memory). */
    private static byte[] readBytes(ZipFile zip, String entry, long limitBytes) throws IOException {
        ZipEntry e = zip.getEntry(entry);
        int limit = (int) Math.min(Integer.MAX_VALUE - 16, limitBytes);
        if (e.getSize() > limit) throw TextgenException.usage("entry " + entry + " is implausibly large");
        try (InputStream in = zip.getInputStream(e)) {
            byte[] bytes = in.readNBytes(limit);
            if (in.read() != -1) throw TextgenException.usage("entry " + entry + " is implausibly large");
            return bytes;
        }
    }
}
