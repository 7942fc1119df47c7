package textgen.corpus;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * A model's token vocabulary: what its ids mean, how text becomes ids and ids become text. Characters
 * ({@link CharVocabulary}, Unicode code points) or words ({@link WordVocabulary}, with {@code <unk>}). What differs
 * between the two is asked of the vocabulary (a method here), never by testing its class.
 */
public abstract sealed class Vocabulary permits CharVocabulary, WordVocabulary {

    /** A character vocabulary of the distinct code points of {@code text}. */
    public static CharVocabulary of(String text) {
        return CharVocabulary.of(text);
    }

    /**
     * Reads the coding {@link #toJson} writes (a checkpoint's {@code vocabulary.json}); null when {@code json} is neither
     * a character nor a word vocabulary. Contents that break a vocabulary's rules are an IllegalArgumentException.
     */
    public static Vocabulary fromJson(JsonNode json) {
        return switch (json.path("type").asText()) {
            case "word" -> WordVocabulary.read(json);
            case "char" -> CharVocabulary.read(json);
            default -> null;
        };
    }

    /** This vocabulary as JSON: {@code {"type": "char", "codePoints": [...]}} or {@code {"type": "word", "lowercase": b, "tokens": [...]}}. */
    public abstract ObjectNode toJson();

    public abstract int size();

    /** Whether words are lowercased before they are looked up (never for characters). */
    public boolean lowercase() {
        return false;
    }

    /** The largest size of this kind of vocabulary that one-hot input is allowed for (an embedding has no limit). */
    public int maxOneHotSize() {
        return Integer.MAX_VALUE;
    }

    /**
     * The tokens of {@code text} this vocabulary has no id for, not even {@code <unk>}, listed for a message; null
     * when there are none (always for words: what they lack is read as {@code <unk>}).
     */
    public String describeMissing(String text) {
        return null;
    }

    /** The token's text: a character, or a word ({@code "\n"} for the newline token, {@code <unk>} for the unknown one). */
    public abstract String token(int id);

    /** The id of the newline token, -1 when there is none. */
    public abstract int newline();

    /** "character" or "word": what one token is, for messages and reports. */
    public abstract String unit();

    /** The unit in rates: "char" or "word" (as in nats/char, words/s). */
    public String shortUnit() {
        return unit();
    }

    /** How text this vocabulary lacks is read unless the user says otherwise: words as {@code <unk>}, characters refused. */
    public UnknownPolicy defaultUnknownPolicy() {
        return unknown() >= 0 ? UnknownPolicy.unk : UnknownPolicy.error;
    }

    /** The id of {@code <unk>}, -1 when the vocabulary has none (characters). */
    public int unknown() {
        return -1;
    }

    /**
     * Encodes text to ids. What the vocabulary lacks is an error naming it ({@code error}), dropped ({@code skip}) or read
     * as {@code <unk>} ({@code unk}, word vocabularies only); {@code what} names the text in messages.
     */
    public abstract int[] encode(String text, UnknownPolicy policy, String what);

    /**
     * The ids of the tokens of {@code text} this vocabulary knows ({@code <unk>} for the others when {@code unk}); each
     * token it has no id for is added to {@code missing}, described for a message. Never throws for unknown tokens:
     * a streamed corpus collects them over all its pieces.
     */
    abstract int[] encodeKnown(String text, boolean unk, Unknowns missing);

    /** The one-line error for {@code missing} tokens (as {@link #encodeKnown} describes them) in {@code what}. */
    abstract String missingMessage(String what, java.util.Set<String> missing);

    /** How many tokens {@code text} holds, known or not. */
    public abstract int count(String text);

    /** Shorthand: {@code skipUnknown ? skip : error}. */
    public final int[] encode(String text, boolean skipUnknown, String what) {
        return encode(text, skipUnknown ? UnknownPolicy.skip : UnknownPolicy.error, what);
    }

    /** What goes between two consecutive tokens when they are written out as text ("" for characters). */
    public abstract String separator(int previous, int next);

    /** The text of ids[from, to), tokens joined by {@link #separator}. */
    public String decode(int[] ids, int from, int to) {
        StringBuilder sb = new StringBuilder();
        for (int i = from; i < to; i++) {
            if (i > from) sb.append(separator(ids[i - 1], ids[i]));
            sb.append(token(ids[i]));
        }
        return sb.toString();
    }

}
