package textgen.corpus;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import textgen.TextgenException;
import textgen.config.RunConfig.CorpusConfig;
import textgen.config.RunConfig.Tokenizer;
import textgen.io.AtomicFiles;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.BitSet;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;

/**
 * Encodes a corpus (its {@link CorpusFiles}) to token ids in two streaming passes and keeps the result in a cache
 * folder: {@code $TEXTGEN_CACHE/corpora}, by default {@code $XDG_CACHE_HOME/textgen/corpora} or
 * {@code ~/.cache/textgen/corpora}. An entry is named by the SHA-256 of the text and a hash of the tokenizer settings
 * (or of the fixed vocabulary and unknown-token policy): {@code <sha>-<settings>.tokens} ({@link EncodedTokens}) and
 * {@code <sha>-<settings>.json} (what was read, the vocabulary), written atomically, the json last. A small
 * {@code <files>.ref} file, named by a hash of the files' paths, sizes and modification times and the settings, points to
 * the entry: while no file changes, a later run opens the entry without reading the text; when one changes, the text is
 * hashed again and the entry is reused only if the text is the same.
 * <p>Passes: (1) hash, count and (building a vocabulary) collect characters or word counts; (2) encode into the entry.
 */
final class CorpusCache {
    private static final ObjectMapper JSON = new ObjectMapper();

    /** An encoded text: its vocabulary, its ids, what was read and how many tokens the vocabulary lacked (dropped, or read as <unk>). */
    record Encoded(Vocabulary vocabulary, EncodedTokens ids, TextStream.Stats stats, long unknown) {
    }

    private final Path root;

    CorpusCache(Path root) {
        this.root = root;
    }

    /** The cache of this user: {@code $TEXTGEN_CACHE/corpora}, else {@code $XDG_CACHE_HOME/textgen/corpora}, else {@code ~/.cache/textgen/corpora}. */
    static CorpusCache standard() {
        String env = System.getenv("TEXTGEN_CACHE");
        if (env != null && !env.isBlank()) return new CorpusCache(Path.of(env, "corpora"));
        String xdg = System.getenv("XDG_CACHE_HOME");
        Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
        return new CorpusCache(base.resolve("textgen").resolve("corpora"));
    }

    Path root() {
        return root;
    }

    /** Encodes with a vocabulary built from the text by {@code config}'s tokenizer settings; {@code name} names the text in messages. */
    Encoded build(CorpusFiles files, String what, String name, CorpusConfig config) {
        String settings = config.tokenizer() == Tokenizer.CHAR ? "build char"
                : "build word lowercase=" + config.lowercase() + " maxVocabulary=" + config.maxVocabulary() + " minCount=" + config.minCount();
        return encode(files, what, name, settings, null, config, null, null);
    }

    /**
     * Encodes with {@code vocab}; tokens it lacks are read as {@code <unk>} ({@code unk}), dropped ({@code skip}), or
     * ({@code error}) refused with the message {@code missing} makes of them.
     */
    Encoded fixed(CorpusFiles files, String what, Vocabulary vocab, UnknownPolicy policy, Function<Set<String>, String> missing) {
        String settings = "fixed " + sha256(vocab.toJson().toString().getBytes(StandardCharsets.UTF_8)) + " unknown=" + policy;
        return encode(files, what, null, settings, vocab, null, policy, missing);
    }

    private Encoded encode(CorpusFiles files, String what, String name, String settings, Vocabulary fixed, CorpusConfig config,
                           UnknownPolicy policy, Function<Set<String>, String> missing) {
        // the version of the tokenizers and of the file format: raise it when either changes, so old entries are not served
        settings = "v1 " + settings;
        StringBuilder fp = new StringBuilder(settings).append('\n');
        for (CorpusFiles.Document d : files.documents()) {
            fp.append(d.path().toAbsolutePath().normalize()).append('\t').append(d.size()).append('\t').append(d.modifiedNanos()).append('\n');
        }
        Path ref = root.resolve(sha256(fp.toString().getBytes(StandardCharsets.UTF_8)) + ".ref");
        String settingsHash = sha256(settings.getBytes(StandardCharsets.UTF_8)).substring(0, 16);
        Encoded cached = read(ref, files);
        if (cached != null) return cached;

        // pass 1: what was read, and the vocabulary's raw material
        BitSet chars = new BitSet();
        Map<String, Integer> counts = new HashMap<>();
        boolean words = config != null && config.tokenizer() == Tokenizer.WORD;
        TextStream.Stats stats = TextStream.read(files, what, piece -> {
            if (fixed != null) return;
            if (words) WordVocabulary.count(piece, config.lowercase(), counts);
            else {
                for (int i = 0; i < piece.length(); ) {
                    int cp = piece.codePointAt(i);
                    chars.set(cp);
                    i += Character.charCount(cp);
                }
            }
        });
        Vocabulary vocab = fixed != null ? fixed : vocabulary(stats, chars, counts, config, name);
        UnknownPolicy unknownPolicy = fixed != null ? policy : vocab.defaultUnknownPolicy();
        String entry = stats.sha256() + "-" + settingsHash;
        Encoded existing = open(entry, files);
        if (existing != null) {
            try {
                writeRef(ref, entry);
            } catch (IOException e) {
                throw TextgenException.runtime("cannot write to the corpus cache " + root + " (set TEXTGEN_CACHE to another folder): " + e.getMessage(), e);
            }
            return existing;
        }

        // pass 2: the ids, into the cache
        Unknowns unknown = new Unknowns();
        try {
            Files.createDirectories(root);
            AtomicFiles.replace(root.resolve(entry + ".tokens"), tmp -> {
                try (EncodedTokens.Writer w = new EncodedTokens.Writer(tmp, vocab.size())) {
                    TextStream.Stats again = TextStream.read(files, what, piece -> {
                        try {
                            w.add(vocab.encodeKnown(piece, unknownPolicy == UnknownPolicy.unk, unknown));
                        } catch (IOException e) {
                            throw new UncheckedIOException(e);
                        }
                    });
                    if (!again.sha256().equals(stats.sha256()))
                        throw TextgenException.usage(files.spec() + " changed while it was being read; run again when it no longer changes");
                    if (unknownPolicy == UnknownPolicy.error && !unknown.isEmpty())
                        throw TextgenException.usage(missing.apply(unknown.distinct));
                    w.finish();
                } catch (UncheckedIOException e) {
                    throw e.getCause();
                }
            });
            ObjectNode meta = JSON.createObjectNode();
            meta.put("sha256", stats.sha256());
            meta.put("files", stats.files());
            meta.put("bytes", stats.bytes());
            meta.put("codePoints", stats.codePoints());
            meta.put("unknown", unknown.count);
            meta.put("settings", settings);
            meta.set("vocabulary", vocab.toJson());
            AtomicFiles.replace(root.resolve(entry + ".json"), tmp -> Files.write(tmp, JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(meta)));
            writeRef(ref, entry);
        } catch (IOException e) {
            throw TextgenException.runtime("cannot write the encoded corpus to " + root + " (set TEXTGEN_CACHE to another folder): " + e.getMessage(), e);
        }
        Encoded made = open(entry, files);
        if (made == null) throw TextgenException.runtime("the encoded corpus in " + root + " could not be read back", null);
        return made;
    }

    private static Vocabulary vocabulary(TextStream.Stats stats, BitSet chars, Map<String, Integer> counts, CorpusConfig config, String name) {
        if (stats.codePoints() == 0) throw TextgenException.usage(name + " is empty");
        if (config.tokenizer() == Tokenizer.CHAR) {
            CharVocabulary vocab = new CharVocabulary(chars.stream().toArray());
            if (vocab.size() < 2) {
                throw TextgenException.usage(name + " uses a single distinct character " + CharVocabulary.describe(vocab.codePoint(0))
                        + ": there is nothing to learn (a corpus needs at least 2 distinct characters)");
            }
            return vocab;
        }
        try {
            return WordVocabulary.build(counts, config.lowercase(), config.maxVocabulary(), config.minCount());
        } catch (TextgenException e) {
            throw TextgenException.usage(name + ": " + e.getMessage());
        }
    }

    private void writeRef(Path ref, String entry) throws IOException {
        Files.createDirectories(root);
        AtomicFiles.replace(ref, tmp -> Files.writeString(tmp, entry));
    }

    /** The entry a ref names, or null (no ref, or an entry missing or damaged: then it is made again). */
    private Encoded read(Path ref, CorpusFiles files) {
        try {
            if (!Files.isRegularFile(ref)) return null;
            return open(Files.readString(ref).trim(), files);
        } catch (IOException e) {
            return null;
        }
    }

    /** The entry's encoding, described as read from {@code files}; null when missing or damaged. */
    private Encoded open(String entry, CorpusFiles files) {
        Path json = root.resolve(entry + ".json");
        Path tokens = root.resolve(entry + ".tokens");
        if (!Files.isRegularFile(json) || !Files.isRegularFile(tokens)) return null;
        try {
            JsonNode meta = JSON.readTree(json.toFile());
            Vocabulary vocab = Vocabulary.fromJson(meta.path("vocabulary"));
            if (vocab == null) return null;
            // what was read is this corpus's own files: an entry is shared by every corpus of the same text
            TextStream.Stats stats = new TextStream.Stats(meta.path("sha256").asText(), files.documents().size(),
                    files.bytes(), meta.path("codePoints").asLong());
            return new Encoded(vocab, EncodedTokens.open(tokens), stats, meta.path("unknown").asLong());
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
