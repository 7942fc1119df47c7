package textgen.config;

import java.util.List;
import java.util.Locale;

/**
 * One config key as {@link ConfigSchema} reads it from its {@link Key} declaration: dotted name, type, default, allowed
 * range, description, and whether a resumed run may change it. Parsing and range checks live here so that every
 * key reports a bad value the same way: where it came from, the key, the value, and what is allowed.
 */
public record ConfigKey(String name, Kind kind, Object defaultValue, double min, double max, boolean minExclusive, boolean maxExclusive,
                        List<String> choices, String description, boolean resumable, boolean inherited, boolean path) {

    public enum Kind { INT, LONG, DOUBLE, STRING, CHOICE, BOOL }

    /** What a valid value looks like, for error messages and the key listing. */
    public String allowed() {
        return switch (kind) {
            case INT, LONG -> "an integer from " + fmt(min) + " to " + fmt(max);
            case DOUBLE -> "a number " + (minExclusive ? "> " : ">= ") + fmt(min) + (maxExclusive ? " and < " : " and <= ") + fmt(max);
            case STRING -> "a string (or null)";
            case CHOICE -> "one of " + String.join(", ", choices);
            case BOOL -> "true or false";
        };
    }

    /** Parses a raw scalar; null means "not set" (only strings may be null). Returns an error reason or the value. */
    Object parse(String raw) throws IllegalArgumentException {
        if (raw == null) {
            if (kind == Kind.STRING) return null;
            throw new IllegalArgumentException("has no value: must be " + allowed());
        }
        String s = raw.trim();
        switch (kind) {
            case STRING:
                return s.isEmpty() ? null : s;
            case CHOICE:
                if (!choices.contains(s)) throw new IllegalArgumentException("'" + s + "' is not allowed: must be " + allowed());
                return s;
            case BOOL:
                if (!s.equals("true") && !s.equals("false")) throw new IllegalArgumentException("'" + s + "' is not allowed: must be " + allowed());
                return Boolean.valueOf(s);
            case INT:
            case LONG: {
                long v;
                try {
                    v = Long.parseLong(s.replace("_", ""));
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("'" + s + "' is not an integer: must be " + allowed());
                }
                if (v < min || v > max) throw new IllegalArgumentException(s + " is out of range: must be " + allowed());
                return kind == Kind.INT ? (Object) (int) v : (Object) v;
            }
            case DOUBLE: {
                double v;
                try {
                    v = Double.parseDouble(s);
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("'" + s + "' is not a number: must be " + allowed());
                }
                if (!Double.isFinite(v) || v < min || (minExclusive && v == min) || v > max || (maxExclusive && v == max))
                    throw new IllegalArgumentException(s + " is out of range: must be " + allowed());
                return v;
            }
            default:
                throw new AssertionError(kind);
        }
    }

    private static String fmt(double d) {
        if (d == Math.rint(d) && Math.abs(d) < 1e15) return String.format(Locale.ROOT, "%d", (long) d);
        return String.format(Locale.ROOT, "%s", d);
    }
}
