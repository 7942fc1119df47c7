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

import java.io.FileOutputStream;
import java.io.IOException;
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
import java.util.zip.ZipOutputStream;

/**
 * One checkpoint is one zip: DL4J's own entries ({@code configuration.json}, {@code coefficients.bin},
 * {@code updaterState.bin}, so {@link ModelSerializer#restoreMultiLayerNetwork} restores it with its updater), plus
 * {@code vocabulary.json}, {@code config.yaml} (the effective config) and {@code textgen.json} (format version,
 * provenance, training state). Nothing in it is Java-serialized, and the loader refuses a zip that holds anything
 * Java-serialized before DL4J sees it. The network's entries are {@link NetworkEntries}' business, reading entries
 * safely {@link ZipEntries}'; the vocabulary codes itself ({@link Vocabulary#toJson}).
 */
public final class Checkpoint {
    public static final int FORMAT_VERSION = 1;
    static final String VOCABULARY = "vocabulary.json";
    static final String CONFIG = "config.yaml";
    static final String META = "textgen.json";
    static final String CARRIED = "carriedState.bin";
    private static final Set<String> REQUIRED = Set.of("configuration.json", "coefficients.bin", VOCABULARY, CONFIG, META);
    private static final ObjectMapper JSON = ZipEntries.JSON;

    /** What a checkpoint holds, restored. {@code carried} is the hidden state consecutive training carries (may be empty). */
    public record Loaded(MultiLayerNetwork network, Vocabulary vocabulary, RunConfig config, TrainingState state,
                         Map<Integer, Map<String, INDArray>> carried, JsonNode meta, Path path) {
    }

    /** Where the training text came from, recorded in every checkpoint. */
    public record Provenance(String corpusSha256, long corpusCodePoints, int corpusFiles, long corpusBytes) {
        /** For a single file of {@code codePoints} characters whose size on disk is not known. */
        public Provenance(String corpusSha256, long corpusCodePoints) {
            this(corpusSha256, corpusCodePoints, 1, -1);
        }

        public static Provenance of(textgen.corpus.Corpus c) {
            return new Provenance(c.sha256(), c.codePoints(), c.files(), c.bytes());
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
        ZipOutputStream zip = new ZipOutputStream(os);
        NetworkEntries.write(zip, net);
        ZipEntries.put(zip, VOCABULARY, JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(vocab.toJson()));
        ZipEntries.put(zip, CONFIG, ConfigLoader.toYaml(config).getBytes(StandardCharsets.UTF_8));

        ObjectNode meta = JSON.createObjectNode();
        meta.put("format", "textgen-checkpoint");
        meta.put("formatVersion", FORMAT_VERSION);
        meta.put("textgenVersion", Version.TEXTGEN);
        meta.put("dl4jVersion", Backend.DL4J_VERSION);
        meta.put("backend", Backend.configuredBackend());
        meta.put("created", Instant.now().toString());
        meta.put("corpusSha256", provenance.corpusSha256());
        meta.put("corpusCodePoints", provenance.corpusCodePoints());
        meta.put("corpusFiles", provenance.corpusFiles());
        if (provenance.corpusBytes() >= 0) meta.put("corpusBytes", provenance.corpusBytes());
        meta.put("corpusPath", config.corpus().path());
        meta.put("seed", config.training().seed());
        meta.put("javaVersion", System.getProperty("java.version"));
        meta.set("state", JSON.valueToTree(state));
        ZipEntries.put(zip, META, JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(meta));
        if (carried != null && !carried.isEmpty()) ZipEntries.put(zip, CARRIED, CarriedState.encode(carried));
        zip.finish();
        zip.flush();
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
                if (e.getName().equals("preprocessor.bin") || e.getName().equals("normalizer.bin") || ZipEntries.isJavaSerialized(zip, e)) {
                    throw TextgenException.usage(name + " contains a Java-serialized entry '" + e.getName()
                            + "': refused, textgen never deserializes Java objects");
                }
            }
            for (String required : REQUIRED) {
                if (zip.getEntry(required) == null) {
                    throw TextgenException.usage(name + " has no '" + required + "' entry: not a textgen checkpoint, or damaged");
                }
            }
            JsonNode meta = ZipEntries.readJson(zip, META, name);
            if (!"textgen-checkpoint".equals(meta.path("format").asText())) {
                throw TextgenException.usage(name + ": " + META + " does not describe a textgen checkpoint");
            }
            int version = meta.path("formatVersion").asInt(-1);
            if (version != FORMAT_VERSION) {
                throw TextgenException.usage(name + " has format version " + meta.path("formatVersion")
                        + ", this textgen reads version " + FORMAT_VERSION);
            }
            Vocabulary vocab = readVocabulary(ZipEntries.readJson(zip, VOCABULARY, name), name);
            RunConfig config = ConfigLoader.fromStoredYaml(ZipEntries.readText(zip, CONFIG), name + " " + CONFIG);
            TrainingState state = trainingState(meta.path("state"), name);
            MultiLayerNetwork net = NetworkEntries.restore(zip, withUpdater, fastLayers, name);
            long nOut = net.layerSize(net.getnLayers() - 1);
            long nIn = net.layerInputSize(0);
            if (nOut != vocab.size() || nIn != vocab.size()) {
                throw TextgenException.usage(name + ": vocabulary has " + vocab.size() + " " + vocab.unit() + "s but the network takes "
                        + nIn + " inputs and predicts " + nOut + " classes");
            }
            Map<Integer, Map<String, INDArray>> carried = zip.getEntry(CARRIED) == null ? Map.of()
                    : CarriedState.decode(ZipEntries.readBytes(zip, CARRIED, 64L << 20), net, config.training().batchSize(), name);
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
}
