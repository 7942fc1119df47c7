package textgen.corpus;

import textgen.TextgenException;
import textgen.config.RunConfig.CorpusConfig;
import textgen.tensor.TokenIds;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * A corpus encoded to token ids: training ids, validation ids and the vocabulary, with what was read (file count,
 * bytes on disk, code points, one SHA-256 over the joined text, see {@link TextStream}). The text is a file, a folder
 * or a glob ({@link CorpusFiles}); it is streamed, never held whole, and its ids are read from a memory-mapped file in
 * the corpus cache ({@link CorpusCache}). The vocabulary is built from the corpus (both parts of a fraction split, as
 * char-rnn does); a separate validation text must use only characters of the training text (with words, those outside
 * the vocabulary read as {@code <unk>}).
 */
public record Corpus(Vocabulary vocabulary, TokenIds train, TokenIds validation, String sha256, long codePoints, int files, long bytes) {

    public static Corpus load(CorpusConfig config) {
        return load(config, null, UnknownPolicy.error);
    }

    /**
     * Loads with a given vocabulary ({@code fixed}, e.g. a checkpoint's, when fine-tuning or resuming) instead of one
     * built from the text; what it lacks is handled by {@code unknown}.
     */
    public static Corpus load(CorpusConfig config, Vocabulary fixed, UnknownPolicy unknown) {
        return load(config, fixed, unknown, CorpusCache.standard());
    }

    static Corpus load(CorpusConfig config, Vocabulary fixed, UnknownPolicy unknown, CorpusCache cache) {
        if (config.path() == null)
            throw TextgenException.usage("no corpus: set corpus.path in the config or pass --corpus PATH");
        String name = "corpus " + config.path();
        CorpusFiles files = CorpusFiles.resolve(config.path(), "corpus");
        CorpusFiles valFiles = config.validationPath() == null ? null : CorpusFiles.resolve(config.validationPath(), "validation text");
        CorpusCache.Encoded enc = fixed == null ? cache.build(files, "corpus", name, config)
                : cache.fixed(files, "corpus", fixed, unknown, missing -> fixed.missingMessage(name, missing));
        Vocabulary vocab = enc.vocabulary();
        // a word vocabulary built here reads the words it left out (maxVocabulary, minCount) as <unk>
        UnknownPolicy policy = fixed != null ? unknown : vocab.defaultUnknownPolicy();
        TokenIds ids = enc.ids();
        String units = vocab.unit() + "s";
        TextStream.Stats st = enc.stats();
        if (valFiles == null) return split(vocab, ids, config.validationFraction(), name, st);
        String valName = "validation text " + config.validationPath();
        TokenIds valIds = cache.fixed(valFiles, "validation text", vocab, policy, missing -> fixed == null
                ? valName + " has characters that never occur in " + name + ": " + CharVocabulary.list(missing)
                  + " (a model cannot predict them; remove them or add them to the corpus)"
                : vocab.missingMessage(valName, missing)).ids();
        if (valIds.size() < 2) throw TextgenException.usage(valName + " has fewer than 2 " + units);
        if (ids.size() < 2) throw TextgenException.usage(name + " has fewer than 2 " + units + " the vocabulary knows");
        return new Corpus(vocab, ids, valIds, st.sha256(), st.codePoints(), st.files(), st.bytes());
    }

    /** Splits one character-level text into training (first part) and validation (last {@code fraction}). */
    public static Corpus split(String text, double fraction, String name, String sha) {
        if (text.isEmpty()) throw TextgenException.usage(name + " is empty");
        CharVocabulary vocab = CharVocabulary.of(text);
        if (vocab.size() < 2) {
            throw TextgenException.usage(name + " uses a single distinct character " + CharVocabulary.describe(vocab.codePoint(0))
                    + ": there is nothing to learn (a corpus needs at least 2 distinct characters)");
        }
        TextStream.Stats st = new TextStream.Stats(sha, 1, text.getBytes(StandardCharsets.UTF_8).length, text.codePointCount(0, text.length()));
        return split(vocab, TokenIds.of(vocab.encode(text, false, name)), fraction, name, st);
    }

    private static Corpus split(Vocabulary vocab, TokenIds ids, double fraction, String name, TextStream.Stats st) {
        long n = ids.size();
        long nVal = Math.round(n * fraction);
        if (nVal < 2 || n - nVal < 2) {
            String units = vocab.unit() + "s";
            throw TextgenException.usage(name + " has only " + n + " " + units + ": too short to hold out a validation fraction of "
                    + fraction + " (need at least 2 " + units + " on each side)");
        }
        return new Corpus(vocab, ids.slice(0, n - nVal), ids.slice(n - nVal, n), st.sha256(), st.codePoints(), st.files(), st.bytes());
    }

    /**
     * A text to score or read with a given vocabulary (perplexity's --text): a file, folder or glob, streamed and
     * encoded like a corpus; {@code what} names it in messages. Tokens the vocabulary lacks follow {@code policy}.
     */
    public static Scored encode(String path, String what, Vocabulary vocab, UnknownPolicy policy) {
        if (policy == UnknownPolicy.unk && vocab.unknown() < 0)
            throw TextgenException.usage(what + " " + path + ": unknown policy unk needs a word-level model; this one reads characters (use error or skip)");
        CorpusFiles files = CorpusFiles.resolve(path, what);
        CorpusCache.Encoded enc = CorpusCache.standard().fixed(files, what, vocab, policy, missing -> vocab.missingMessage(what + " " + path, missing));
        return new Scored(enc.ids(), enc.stats().files(), enc.stats().bytes(), policy == UnknownPolicy.skip ? enc.unknown() : 0);
    }

    /** An encoded text to score: its ids, what was read, and how many tokens were dropped as unknown. */
    public record Scored(TokenIds ids, int files, long bytes, long skipped) {
    }

    /** Refuses one-hot input over a vocabulary larger than its kind allows ({@link Vocabulary#maxOneHotSize}). */
    public void requireInput(textgen.config.RunConfig.ModelConfig model) {
        if (!model.embedding() && vocabulary.size() > vocabulary.maxOneHotSize()) {
            throw TextgenException.usage(String.format(java.util.Locale.ROOT,
                    "a word vocabulary of %,d tokens with model.input onehot: one-hot input over more than %,d words is refused "
                            + "(slow and memory-hungry); set model.input: embedding (and model.embeddingSize), or cap corpus.maxVocabulary",
                    vocabulary.size(), vocabulary.maxOneHotSize()));
        }
    }

    public static String sha256(String text) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
