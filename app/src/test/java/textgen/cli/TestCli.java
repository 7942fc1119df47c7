package textgen.cli;

/** Lets tests outside this package run the CLI in-process. */
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

    private TestCli() {
    }
}
