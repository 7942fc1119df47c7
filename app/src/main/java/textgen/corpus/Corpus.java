package textgen.corpus;

import textgen.TextgenException;
import textgen.config.RunConfig.CorpusConfig;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * A corpus decoded once and encoded to token ids: training ids, validation ids and the vocabulary.
 * The vocabulary is built from the corpus file (both parts of a fraction split, as char-rnn does);
 * a separate validation file must use only characters of the training file (with words, those outside the vocabulary read
 * as {@code <unk>}).
 */
public record Corpus(Vocabulary vocabulary, int[] train, int[] validation, String sha256, long codePoints) {

    public static Corpus load(CorpusConfig config) {
        return load(config, null, UnknownPolicy.error);
    }

    /**
     * Loads with a given vocabulary ({@code fixed}, e.g. a checkpoint's, when fine-tuning or resuming) instead of one
     * built from the text; what it lacks is handled by {@code unknown}.
     */
    public static Corpus load(CorpusConfig config, Vocabulary fixed, UnknownPolicy unknown) {
        if (config.path() == null)
            throw TextgenException.usage("no corpus: set corpus.path in the config or pass --corpus PATH");
        Path path = Path.of(config.path());
        String text = TextFile.read(path, "corpus");
        String sha = sha256(text);
        String name = "corpus " + path;
        Vocabulary vocab = fixed != null ? fixed : vocabulary(text, config, name);
        // a word vocabulary built here reads the words it left out (maxVocabulary, minCount) as <unk>
        UnknownPolicy policy = fixed != null ? unknown : vocab.defaultUnknownPolicy();
        int[] ids = vocab.encode(text, policy, name);
        long codePoints = text.codePointCount(0, text.length());
        String units = vocab.unit() + "s";
        if (config.validationPath() == null) return split(vocab, ids, config.validationFraction(), name, sha, codePoints);
        Path valPath = Path.of(config.validationPath());
        String val = TextFile.read(valPath, "validation text");
        String missing = fixed == null ? vocab.describeMissing(val) : null;
        if (missing != null) {
            throw TextgenException.usage("validation text " + valPath + " has characters that never occur in corpus " + path
                    + ": " + missing + " (a model cannot predict them; remove them or add them to the corpus)");
        }
        int[] valIds = vocab.encode(val, policy, "validation text " + valPath);
        if (valIds.length < 2) throw TextgenException.usage("validation text " + valPath + " has fewer than 2 " + units);
        if (ids.length < 2) throw TextgenException.usage(name + " has fewer than 2 " + units + " the vocabulary knows");
        return new Corpus(vocab, ids, valIds, sha, codePoints);
    }

    /** Splits one character-level text into training (first part) and validation (last {@code fraction}). */
    public static Corpus split(String text, double fraction, String name, String sha) {
        CharVocabulary vocab = checkedVocabulary(text, name);
        return split(vocab, vocab.encode(text, false, name), fraction, name, sha, text.codePointCount(0, text.length()));
    }

    private static Corpus split(Vocabulary vocab, int[] ids, double fraction, String name, String sha, long codePoints) {
        int nVal = (int) Math.round(ids.length * fraction);
        if (nVal < 2 || ids.length - nVal < 2) {
            String units = vocab.unit() + "s";
            throw TextgenException.usage(name + " has only " + ids.length + " " + units + ": too short to hold out a validation fraction of "
                    + fraction + " (need at least 2 " + units + " on each side)");
        }
        int[] train = java.util.Arrays.copyOfRange(ids, 0, ids.length - nVal);
        int[] val = java.util.Arrays.copyOfRange(ids, ids.length - nVal, ids.length);
        return new Corpus(vocab, train, val, sha, codePoints);
    }

    private static Vocabulary vocabulary(String text, CorpusConfig config, String name) {
        if (config.tokenizer() == textgen.config.RunConfig.Tokenizer.CHAR) return checkedVocabulary(text, name);
        if (text.isEmpty()) throw TextgenException.usage(name + " is empty");
        try {
            return WordVocabulary.build(text, config.lowercase(), config.maxVocabulary(), config.minCount());
        } catch (TextgenException e) {
            throw TextgenException.usage(name + ": " + e.getMessage());
        }
    }

    private static CharVocabulary checkedVocabulary(String text, String name) {
        if (text.isEmpty()) throw TextgenException.usage(name + " is empty");
        CharVocabulary vocab = CharVocabulary.of(text);
        if (vocab.size() < 2) {
            throw TextgenException.usage(name + " uses a single distinct character " + CharVocabulary.describe(vocab.codePoint(0))
                    + ": there is nothing to learn (a corpus needs at least 2 distinct characters)");
        }
        return vocab;
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
