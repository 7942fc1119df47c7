package textgen.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import textgen.TextgenException;
import textgen.corpus.AdditionTask;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

@Command(name = "corpus", mixinStandardHelpOptions = true, description = "Generate corpora.", subcommands = CorpusCommand.Addition.class)
final class CorpusCommand {

    @Command(name = "addition", mixinStandardHelpOptions = true, sortOptions = false, showDefaultValues = true,
            description = {"Write an addition corpus (Keras's addition_rnn task as language modelling): one problem per line, 'a+b=c'.",
                    "In the reversed format every number is written least-significant digit first (123+45=168 is 321+54=861), so",
                    "a model can add as it reads; the held-out file has 'prompt<TAB>answer' lines that never occur in the corpus,",
                    "ready for: textgen sample --prompts FILE2 --greedy --stop '\\n' --json"})
    static final class Addition implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = "--count", required = true, paramLabel = "N", description = "Training problems to write.")
        int count;

        @Option(names = "--max-digits", paramLabel = "D", defaultValue = "3", description = "Operands have 1 to D digits (1..9).")
        int maxDigits;

        @Option(names = "--seed", paramLabel = "S", defaultValue = "1", description = "Random seed.")
        long seed;

        @Option(names = "--format", paramLabel = "F", defaultValue = "reversed", description = "reversed (numbers least-significant digit first) or plain.")
        String format;

        @Option(names = "--out", required = true, paramLabel = "FILE", description = "Training corpus to write.")
        Path out;

        @Option(names = "--holdout", paramLabel = "N2", defaultValue = "0", description = "Held-out problems to write to --holdout-out.")
        int holdout;

        @Option(names = "--holdout-out", paramLabel = "FILE2", description = "Held-out problems, 'prompt<TAB>answer' per line.")
        Path holdoutOut;

        @Override
        public Integer call() {
            if (count < 1 || count > 50_000_000) fail("--count must be from 1 to 50000000, got " + count);
            if (maxDigits < 1 || maxDigits > 9) fail("--max-digits must be from 1 to 9, got " + maxDigits);
            if (holdout < 0) fail("--holdout must be >= 0, got " + holdout);
            if (holdout > 0 && holdoutOut == null) fail("--holdout needs --holdout-out FILE2");
            if (holdout == 0 && holdoutOut != null) fail("--holdout-out needs --holdout N2 > 0");
            AdditionTask.Format f = switch (format.toLowerCase(Locale.ROOT)) {
                case "reversed" -> AdditionTask.Format.REVERSED;
                case "plain" -> AdditionTask.Format.PLAIN;
                default -> throw new ParameterException(spec.commandLine(), "--format must be one of reversed, plain; got " + format);
            };
            AdditionTask task = new AdditionTask(maxDigits, f);
            if (holdout > task.heldOutPool() / 2) {
                fail("--holdout " + holdout + " is more than half of the " + task.heldOutPool() + " problems that can be held out"
                        + " (operands of 2 to " + maxDigits + " digits)");
            }
            AdditionTask.Split split = task.generate(count, holdout, seed);
            write(out, split.train().stream().map(p -> p.line() + "\n").toList());
            if (holdout > 0) write(holdoutOut, split.holdout().stream().map(p -> p.prompt() + "\t" + p.answer() + "\n").toList());
            spec.commandLine().getOut().printf(Locale.ROOT, "wrote %,d problems to %s%s%n", count, out,
                    holdout > 0 ? String.format(Locale.ROOT, " and %,d held-out problems to %s", holdout, holdoutOut) : "");
            return 0;
        }

        private void fail(String message) {
            throw new ParameterException(spec.commandLine(), message);
        }

        private static void write(Path path, List<String> lines) {
            try {
                Path parent = path.toAbsolutePath().getParent();
                if (parent != null) Files.createDirectories(parent);
                Files.writeString(path, String.join("", lines), StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw TextgenException.usage("cannot write " + path + ": " + e.getMessage());
            }
        }
    }
}
