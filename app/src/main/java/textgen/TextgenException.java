package textgen;

/**
 * The one exception type that reaches the user: a one-line message and the exit code it maps to.
 * Everything the user can fix (options, config, corpus, checkpoint) is {@link #usage}; everything else is a runtime failure.
 */
public class TextgenException extends RuntimeException {
    public static final int RUNTIME = 1;
    public static final int USAGE = 2;
    public static final int INTERRUPTED = 130;

    private final int exitCode;

    public TextgenException(int exitCode, String message) {
        this(exitCode, message, null);
    }

    public TextgenException(int exitCode, String message, Throwable cause) {
        super(message, cause);
        this.exitCode = exitCode;
    }

    public static TextgenException usage(String message) {
        return new TextgenException(USAGE, message);
    }

    public static TextgenException usage(String message, Throwable cause) {
        return new TextgenException(USAGE, message, cause);
    }

    public static TextgenException runtime(String message, Throwable cause) {
        return new TextgenException(RUNTIME, message, cause);
    }

    public int exitCode() {
        return exitCode;
    }

    /** {@code s} with every run of white space (line breaks included) as one space: an error message's one line. */
    public static String oneLine(String s) {
        return s == null ? "" : s.replaceAll("\\s+", " ").trim();
    }

    /** The one line of {@code e}'s message, or its class's simple name when it has none. */
    public static String oneLine(Throwable e) {
        return oneLine(e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage());
    }
}
