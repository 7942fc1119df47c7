package textgen.cli;

/** Lets tests outside this package run the CLI in-process, or as a child process. */
public final class TestCli {
    public record Result(int code, String out, String err) {
        public String lastLine() {
            String[] lines = out.strip().split("\n");
            return lines[lines.length - 1];
        }
    }

    public static Result run(String... args) {
        Cli.Result r = Cli.run(args);
        return new Result(r.code(), r.out(), r.err());
    }

    /** textgen as a separate JVM in {@code workDir}, as scripts run it (see {@link ProcessEndToEndTest#start}). */
    public static Process start(java.nio.file.Path workDir, String... args) throws java.io.IOException {
        return ProcessEndToEndTest.start(workDir, args);
    }

    private TestCli() {
    }
}
