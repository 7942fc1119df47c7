package textgen.corpus;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import textgen.TextgenException;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * A word vocabulary: id 0 is {@code <unk>}, the others are the corpus's most frequent tokens (by count, then
 * alphabetically). The tokenizer's rule, which bench/word_lm.py mirrors:
 * <ul>
 * <li>a word is a maximal run of letters, combining marks and digits (Unicode categories L, M, N), with an apostrophe
 * (' or ’) allowed between two of them: {@code don't}, {@code O'Brien};</li>
 * <li>every other visible character (punctuation, symbols) is a token of its own;</li>
 * <li>a line break is a token ({@code "\n"}; {@code \r\n} counts as one), so samples keep their lines;</li>
 * <li>other whitespace only separates tokens;</li>
 * <li>the literal text {@code <unk>} is the unknown token (corpora such as WikiText use it);</li>
 * <li>with lowercasing, words are lowercased (Locale.ROOT) before counting and encoding.</li>
 * </ul>
 */
public final class WordVocabulary extends Vocabulary {
    public static final String UNK = "<unk>";
    public static final String NEWLINE = "\n";
    public static final int MAX_ONEHOT = 2000;

    private final String[] tokens;
    private final boolean lowercase;
    private final Map<String, Integer> index = new HashMap<>();

    /** @param tokens {@code <unk>} first, then distinct non-empty tokens */
    public WordVocabulary(List<String> tokens, boolean lowercase) {
        this.tokens = tokens.toArray(String[]::new);
        this.lowercase = lowercase;
        if (this.tokens.length < 2 || !UNK.equals(this.tokens[0]))
            throw new IllegalArgumentException("a word vocabulary needs <unk> first and at least one word");
        for (int i = 0; i < this.tokens.length; i++) {
            String t = this.tokens[i];
            if (t == null || t.isEmpty()) throw new IllegalArgumentException("token " + i + " is empty");
            if (index.put(t, i) != null) throw new IllegalArgumentException("token '" + t + "' occurs twice");
        }
    }

    /** See {@link Vocabulary#fromJson}. */
    static WordVocabulary read(JsonNode json) {
        JsonNode tokens = json.path("tokens");
        if (!tokens.isArray() || !json.path("lowercase").isBoolean())
            throw new IllegalArgumentException("a word vocabulary needs a tokens list and a lowercase flag");
        List<String> list = new ArrayList<>();
        for (JsonNode t : tokens) {
            if (!t.isTextual()) throw new IllegalArgumentException("token " + list.size() + " is not a string");
            list.add(t.asText());
        }
        return new WordVocabulary(list, json.path("lowercase").asBoolean());
    }

    @Override
    public ObjectNode toJson() {
        ObjectNode json = JsonNodeFactory.instance.objectNode();
        json.put("type", "word");
        json.put("lowercase", lowercase);
        var arr = json.putArray("tokens");
        for (String t : tokens) arr.add(t);
        return json;
    }

    /**
     * The vocabulary of {@code text}: tokens occurring at least {@code minCount} times, the most frequent first, at most
     * {@code maxVocabulary} entries including {@code <unk>} (0 = no cap).
     */
    public static WordVocabulary build(String text, boolean lowercase, int maxVocabulary, int minCount) {
        Map<String, Integer> counts = new HashMap<>();
        count(text, lowercase, counts);
        return build(counts, lowercase, maxVocabulary, minCount);
    }

    /** Adds the tokens of {@code text} (a piece of a corpus cut at whitespace) to {@code counts}. */
    static void count(String text, boolean lowercase, Map<String, Integer> counts) {
        for (String t : tokenize(text, lowercase)) if (!UNK.equals(t)) counts.merge(t, 1, Integer::sum);
    }

    /** The vocabulary of the token counts of a whole corpus; see {@link #build(String, boolean, int, int)}. */
    static WordVocabulary build(Map<String, Integer> counts, boolean lowercase, int maxVocabulary, int minCount) {
        List<Map.Entry<String, Integer>> entries = new ArrayList<>(counts.entrySet());
        entries.removeIf(e -> e.getValue() < minCount);
        entries.sort(Map.Entry.<String, Integer>comparingByValue().reversed().thenComparing(Map.Entry.comparingByKey()));
        List<String> tokens = new ArrayList<>();
        tokens.add(UNK);
        for (Map.Entry<String, Integer> e : entries) {
            if (maxVocabulary > 0 && tokens.size() >= maxVocabulary) break;
            tokens.add(e.getKey());
        }
        if (tokens.size() < 2) {
            throw TextgenException.usage("no word occurs " + minCount + " or more times (corpus.minCount): the vocabulary would hold only <unk>");
        }
        return new WordVocabulary(tokens, lowercase);
    }

    /** Splits text into tokens by the rule in the class comment. */
    public static List<String> tokenize(String text, boolean lowercase) {
        List<String> out = new ArrayList<>();
        int n = text.length();
        int i = 0;
        while (i < n) {
            int cp = text.codePointAt(i);
            int len = Character.charCount(cp);
            if (cp == '\n') {
                out.add(NEWLINE);
                i += len;
            } else if (Character.isWhitespace(cp) || Character.isSpaceChar(cp)) {
                i += len;
            } else if (isWordChar(cp)) {
                int start = i;
                i += len;
                while (i < n) {
                    int c = text.codePointAt(i);
                    if (isWordChar(c)) {
                        i += Character.charCount(c);
                    } else if ((c == '\'' || c == '\u2019') && i + 1 < n && isWordChar(text.codePointAt(i + 1))) {
                        i += 1; // both apostrophes are single Java chars
                    } else {
                        break;
                    }
                }
                String w = text.substring(start, i);
                out.add(lowercase ? w.toLowerCase(Locale.ROOT) : w);
            } else if (cp == '<' && text.startsWith(UNK, i)) {
                out.add(UNK);
                i += UNK.length();
            } else {
                out.add(Character.toString(cp));
                i += len;
            }
        }
        return out;
    }

    /** Letters, combining marks and digits: Unicode general categories L*, M*, N*. */
    static boolean isWordChar(int cp) {
        return switch (Character.getType(cp)) {
            case Character.UPPERCASE_LETTER, Character.LOWERCASE_LETTER, Character.TITLECASE_LETTER, Character.MODIFIER_LETTER,
                 Character.OTHER_LETTER, Character.NON_SPACING_MARK, Character.ENCLOSING_MARK, Character.COMBINING_SPACING_MARK,
                 Character.DECIMAL_DIGIT_NUMBER, Character.LETTER_NUMBER, Character.OTHER_NUMBER -> true;
            default -> false;
        };
    }

    @Override
    public boolean lowercase() {
        return lowercase;
    }

    /** One-hot input over more words than this is refused: an input matrix of vocabulary x 4 hidden units that an embedding does with a lookup. */
    @Override
    public int maxOneHotSize() {
        return MAX_ONEHOT;
    }

    public List<String> tokens() {
        return List.of(tokens);
    }

    @Override
    public int size() {
        return tokens.length;
    }

    @Override
    public String token(int id) {
        return tokens[id];
    }

    /** -1 when the token is not in the vocabulary. */
    public int id(String token) {
        Integer i = index.get(token);
        return i == null ? -1 : i;
    }

    @Override
    public int newline() {
        return id(NEWLINE);
    }

    @Override
    public int unknown() {
        return 0;
    }

    @Override
    public String unit() {
        return "word";
    }

    @Override
    public int[] encode(String text, UnknownPolicy policy, String what) {
        Unknowns unknown = new Unknowns();
        int[] ids = encodeKnown(text, policy == UnknownPolicy.unk, unknown);
        if (!unknown.isEmpty() && policy == UnknownPolicy.error) throw TextgenException.usage(missingMessage(what, unknown.distinct));
        return ids;
    }

    @Override
    int[] encodeKnown(String text, boolean unk, Unknowns missing) {
        List<String> words = tokenize(text, lowercase);
        int[] ids = new int[words.size()];
        int n = 0;
        for (String w : words) {
            int id = id(w);
            if (id < 0 && unk) id = 0;
            if (id >= 0) ids[n++] = id;
            else missing.add("'" + w + "'");
        }
        return n == ids.length ? ids : Arrays.copyOf(ids, n);
    }

    @Override
    String missingMessage(String what, Set<String> missing) {
        return what + " has " + missing.size() + " word(s) not in the model's vocabulary: " + CharVocabulary.list(missing)
                + " (use --unknown skip to drop them, or --unknown unk to read them as <unk>)";
    }

    @Override
    public int count(String text) {
        return tokenize(text, lowercase).size();
    }

    /** One space between tokens, except around line breaks, before closing punctuation and after opening brackets. */
    @Override
    public String separator(int previous, int next) {
        String p = tokens[previous], t = tokens[next];
        if (p.equals(NEWLINE) || t.equals(NEWLINE)) return "";
        if (t.length() == 1 && ".,;:!?%)]}".indexOf(t.charAt(0)) >= 0) return "";
        if (p.length() == 1 && "([{".indexOf(p.charAt(0)) >= 0) return "";
        return " ";
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof WordVocabulary v && lowercase == v.lowercase && Arrays.equals(tokens, v.tokens);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(tokens) + Boolean.hashCode(lowercase);
    }
}
