package textgen.corpus;

import textgen.TextgenException;
import textgen.config.RunConfig.CorpusConfig;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * A corpus decoded once and encoded to token ids: training ids, validation ids and the vocabulary.
 * The vocabulary is built from the corpus file (both parts of a fraction split, as char-rnn does);
 * a separate validation file must use only characters of the training file.
 */
public record Corpus(Vocabulary vocabulary, int[] train, int[] validation, String sha256, long codePoints) {

    public static Corpus load(CorpusConfig config) {
        return load(config, null, false);
    }

    /**
     * Loads with a given vocabulary ({@code fixed}, e.g. a checkpoint's, when fine-tuning or resuming) instead of one
     * built from the text: characters outside it are an error naming them, or dropped when {@code skipUnknown}.
     */
    public static Corpus load(CorpusConfig config, Vocabulary fixed, boolean skipUnknown) {
        if (config.path() == null)
            throw TextgenException.usage("no corpus: set corpus.path in the config or pass --corpus PATH");
        Path path = Path.of(config.path());
        String text = TextFile.read(path, "corpus");
        String sha = sha256(text);
        String name = "corpus " + path;
        Vocabulary vocab = fixed != null ? fixed : checkedVocabulary(text, name);
        int[] ids = vocab.encode(text, skipUnknown, name);
        long codePoints = text.codePointCount(0, text.length());
        if (config.validationPath() == null) return split(vocab, ids, config.validationFraction(), name, sha, codePoints);
        Path valPath = Path.of(config.validationPath());
        String val = TextFile.read(valPath, "validation text");
        int[] valIds;
        if (fixed != null) {
            valIds = vocab.encode(val, skipUnknown, "validation text " + valPath);
        } else {
            valIds = vocab.encode(val, true, "validation text " + valPath);
            if (valIds.length != val.codePointCount(0, val.length())) {
                Set<Integer> unknown = new LinkedHashSet<>();
                val.codePoints().filter(cp -> !vocab.contains(cp)).forEach(unknown::add);
                throw TextgenException.usage("validation text " + valPath + " has characters that never occur in corpus " + path
                        + ": " + Vocabulary.describe(unknown) + " (a model cannot predict them; remove them or add them to the corpus)");
            }
        }
        if (valIds.length < 2) throw TextgenException.usage("validation text " + valPath + " has fewer than 2 characters");
        if (ids.length < 2) throw TextgenException.usage(name + " has fewer than 2 characters the vocabulary knows");
        return new Corpus(vocab, ids, valIds, sha, codePoints);
    }

    /** Splits one text into training (first part) and validation (last {@code fraction}). */
    public static Corpus split(String text, double fraction, String name, String sha) {
        Vocabulary vocab = checkedVocabulary(text, name);
        return split(vocab, vocab.encode(text, false, name), fraction, name, sha, text.codePointCount(0, text.length()));
    }

    private static Corpus split(Vocabulary vocab, int[] ids, double fraction, String name, String sha, long codePoints) {
        int nVal = (int) Math.round(ids.length * fraction);
        if (nVal < 2 || ids.length - nVal < 2) {
            throw TextgenException.usage(name + " has only " + ids.length + " characters: too short to hold out a validation fraction of "
                    + fraction + " (need at least 2 characters on each side)");
        }
        int[] train = java.util.Arrays.copyOfRange(ids, 0, ids.length - nVal);
        int[] val = java.util.Arrays.copyOfRange(ids, ids.length - nVal, ids.length);
        return new Corpus(vocab, train, val, sha, codePoints);
    }

    private static Vocabulary checkedVocabulary(String text, String name) {
        if (text.isEmpty()) throw TextgenException.usage(name + " is empty");
        Vocabulary vocab = Vocabulary.of(text);
        if (vocab.size() < 2) {
            throw TextgenException.usage(name + " uses a single distinct character " + Vocabulary.describe(vocab.codePoint(0))
                    + ": there is nothing to learn (a corpus needs at least 2 distinct characters)");
        }
        return vocab;
    }

    public static String sha256(String text) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
