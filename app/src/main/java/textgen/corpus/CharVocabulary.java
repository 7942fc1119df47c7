package textgen.corpus;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import textgen.TextgenException;

import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The character vocabulary: distinct Unicode code points (not Java chars, not bytes), sorted, each mapped to its index.
 */
public final class CharVocabulary extends Vocabulary {
    private final int[] codePoints;
    private final Map<Integer, Integer> index = new HashMap<>();
    private final int[] bmp = new int[1 << 16]; // id + 1 of each code point below U+10000 (0: none), for encoding without boxing

    public CharVocabulary(int[] sortedDistinctCodePoints) {
        this.codePoints = sortedDistinctCodePoints.clone();
        for (int i = 0; i < codePoints.length; i++) {
            if (i > 0 && codePoints[i] <= codePoints[i - 1])
                throw new IllegalArgumentException("vocabulary code points must be sorted and distinct");
            if (!Character.isValidCodePoint(codePoints[i]))
                throw new IllegalArgumentException("invalid code point " + codePoints[i]);
            index.put(codePoints[i], i);
            if (codePoints[i] < bmp.length) bmp[codePoints[i]] = i + 1;
        }
    }

    public static CharVocabulary of(String text) {
        return new CharVocabulary(text.codePoints().distinct().sorted().toArray());
    }

    /** Null unless {@code json} has at least 2 code points (see {@link Vocabulary#fromJson}). */
    static CharVocabulary read(JsonNode json) {
        JsonNode cps = json.path("codePoints");
        if (!cps.isArray() || cps.size() < 2) return null;
        int[] codePoints = new int[cps.size()];
        for (int i = 0; i < codePoints.length; i++) codePoints[i] = cps.get(i).asInt(-1);
        return new CharVocabulary(codePoints);
    }

    @Override
    public ObjectNode toJson() {
        ObjectNode json = JsonNodeFactory.instance.objectNode();
        json.put("type", "char");
        var arr = json.putArray("codePoints");
        for (int cp : codePoints) arr.add(cp);
        return json;
    }

    @Override
    public int size() {
        return codePoints.length;
    }

    public int[] codePoints() {
        return codePoints.clone();
    }

    public int codePoint(int id) {
        return codePoints[id];
    }

    @Override
    public String token(int id) {
        return Character.toString(codePoints[id]);
    }

    /** -1 when the code point is not in the vocabulary. */
    public int id(int codePoint) {
        if (codePoint >= 0 && codePoint < bmp.length) return bmp[codePoint] - 1;
        Integer i = index.get(codePoint);
        return i == null ? -1 : i;
    }

    public boolean contains(int codePoint) {
        return index.containsKey(codePoint);
    }

    @Override
    public int newline() {
        return id('\n');
    }

    @Override
    public String unit() {
        return "character";
    }

    @Override
    public String shortUnit() {
        return "char";
    }

    @Override
    public int count(String text) {
        return text.codePointCount(0, text.length());
    }

    @Override
    public String separator(int previous, int next) {
        return "";
    }

    @Override
    public int[] encode(String text, UnknownPolicy policy, String what) {
        if (policy == UnknownPolicy.unk)
            throw TextgenException.usage(what + ": unknown policy unk needs a word-level model; this one reads characters (use error or skip)");
        Unknowns unknown = new Unknowns();
        int[] ids = encodeKnown(text, false, unknown);
        if (!unknown.isEmpty() && policy == UnknownPolicy.error) throw TextgenException.usage(missingMessage(what, unknown.distinct));
        return ids;
    }

    @Override
    int[] encodeKnown(String text, boolean unk, Unknowns missing) {
        int[] ids = new int[text.length()];
        int n = 0;
        for (int i = 0; i < text.length(); ) {
            int cp = text.codePointAt(i);
            i += Character.charCount(cp);
            int id = id(cp);
            if (id >= 0) ids[n++] = id;
            else missing.add(describe(cp));
        }
        return n == ids.length ? ids : Arrays.copyOf(ids, n);
    }

    @Override
    String missingMessage(String what, Set<String> missing) {
        return what + " has " + missing.size() + " character(s) not in the model's vocabulary: " + list(missing)
                + " (use --unknown skip to drop them)";
    }

    /** At most 10 of {@code described}, joined by commas. */
    static String list(Set<String> described) {
        String shown = described.stream().limit(10).collect(Collectors.joining(", "));
        return described.size() > 10 ? shown + ", ..." : shown;
    }

    @Override
    public String describeMissing(String text) {
        Set<Integer> unknown = new LinkedHashSet<>();
        text.codePoints().filter(cp -> !contains(cp)).forEach(unknown::add);
        return unknown.isEmpty() ? null : describe(unknown);
    }

    /** Human-readable list of code points, e.g. 'é' (U+00E9), '\n' (U+000A); at most 10 shown. */
    public static String describe(Set<Integer> cps) {
        String shown = cps.stream().limit(10).map(CharVocabulary::describe).collect(Collectors.joining(", "));
        return cps.size() > 10 ? shown + ", ..." : shown;
    }

    public static String describe(int cp) {
        String glyph = switch (cp) {
            case '\n' -> "\\n";
            case '\t' -> "\\t";
            case '\r' -> "\\r";
            default -> Character.isISOControl(cp) || Character.isWhitespace(cp) && cp != ' ' ? "" : Character.toString(cp);
        };
        return (glyph.isEmpty() ? "" : "'" + glyph + "' ") + String.format("(U+%04X)", cp);
    }

    @Override
    public String decode(int[] ids, int from, int to) {
        StringBuilder sb = new StringBuilder();
        for (int i = from; i < to; i++) sb.appendCodePoint(codePoints[ids[i]]);
        return sb.toString();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof CharVocabulary v && Arrays.equals(codePoints, v.codePoints);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(codePoints);
    }

}
