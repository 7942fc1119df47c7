package textgen.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import textgen.TextgenException;
import textgen.checkpoint.Checkpoint;
import textgen.corpus.TextFile;
import textgen.corpus.UnknownPolicy;
import textgen.generate.Sampler;
import textgen.generate.SamplingOptions;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;

@Command(name = "sample", mixinStandardHelpOptions = true, sortOptions = false, showDefaultValues = true,
        description = {"Generate text from a checkpoint. Text streams out as it is generated; the same --seed gives the same text.",
                "With --prompts, each line of FILE (up to a TAB, if any: the rest is taken as the expected answer) is a prompt,"
                        + " and each completion is one output line (newlines in it written as \\n, backslashes as \\\\)."})
final class SampleCommand implements Callable<Integer> {
    static final int MAX_LENGTH = 1_000_000;
    static final int MAX_COUNT = 10_000;

    @Spec
    CommandSpec spec;

    @picocli.CommandLine.Mixin
    ModelOption model;

    /** What the samples start from: one of a prime, a prime file, or a file of prompts (none: nothing). */
    @picocli.CommandLine.ArgGroup(exclusive = true)
    Prime start = new Prime();

    static final class Prime {
        @Option(names = "--prime", paramLabel = "TEXT", description = "Text to start from (printed before the generated text).")
        String prime;

        @Option(names = "--prime-file", paramLabel = "FILE", description = "Read the prime text from FILE.")
        Path primeFile;

        @Option(names = "--prompts", paramLabel = "FILE", description = "One prompt per line; one completion per output line.")
        Path prompts;
    }

    @Option(names = "--length", paramLabel = "N", defaultValue = "500", description = "Tokens to generate: characters, or words for a word-level model (at most " + MAX_LENGTH + ").")
    int length;

    @Option(names = "--temperature", paramLabel = "T", defaultValue = "1.0", description = "Sampling temperature, > 0 (lower is more conservative).")
    double temperature;

    @Option(names = "--top-k", paramLabel = "K", description = "Sample only from the K most likely characters (K >= 1; default: all).")
    Integer topK;

    @Option(names = "--top-p", paramLabel = "P", defaultValue = "1.0", description = "Sample from the most likely characters whose probability adds up to P, 0 < P <= 1.")
    double topP;

    @Option(names = "--greedy", description = "Always take the most likely character (deterministic; ignores temperature, top-k, top-p).")
    boolean greedy;

    @Option(names = "--stop", paramLabel = "STRING", description = "Stop a sample when it produces STRING (not printed). Escapes \\n, \\t, \\\\ are understood.")
    String stop;

    @Option(names = "--seed", paramLabel = "S", description = "Random seed (default: a random one, reported with --json). Sample or prompt i uses seed S+i.")
    Long seed;

    @Option(names = "--count", paramLabel = "N", defaultValue = "1", description = "Number of samples (with --prime/--prime-file or no prime).")
    int count;

    @Option(names = "--unknown", paramLabel = "POLICY", defaultValue = "error", description = "Prime characters or words not in the vocabulary: ${COMPLETION-CANDIDATES} (unk: read unknown words as <unk>, word-level models only).")
    UnknownPolicy unknown;

    @Option(names = "--json", description = "One JSON object per sample (prime, text, seed, tokens, seconds of generation) or prompt; with --prompts a final summary line with exact-match accuracy.")
    boolean json;

    @Override
    public Integer call() {
        validate();
        String stopString = stop == null ? null : unescape(stop);
        String primeText = start.prime;
        if (start.primeFile != null) {
            primeText = TextFile.read(start.primeFile, "prime file");
            if (primeText.isEmpty()) throw TextgenException.usage("prime file " + start.primeFile + " is empty");
        }
        List<String> promptLines = null;
        if (start.prompts != null) {
            String all = TextFile.read(start.prompts, "prompts file");
            promptLines = all.lines().toList();
            if (promptLines.isEmpty()) throw TextgenException.usage("prompts file " + start.prompts + " has no lines");
        }
        Checkpoint.Loaded ckpt = model.load();
        Sampler sampler = new Sampler(ckpt.network(), ckpt.vocabulary(), new SamplingOptions(temperature, topK == null ? 0 : topK, topP, greedy));
        long baseSeed = seed != null ? seed : new SplittableRandom().nextLong();
        PrintWriter out = spec.commandLine().getOut();
        ObjectMapper m = new ObjectMapper();
        if (promptLines == null) {
            int[] primeIds = primeText == null ? new int[0] : ckpt.vocabulary().encode(primeText, unknown, "prime text");
            for (int i = 0; i < count; i++) {
                SplittableRandom rng = new SplittableRandom(baseSeed + i);
                if (json) {
                    long t0 = System.nanoTime();
                    String text = sampler.generate(primeIds, length, stopString, rng, s -> {
                    });
                    double seconds = (System.nanoTime() - t0) / 1e9;
                    ObjectNode o = m.createObjectNode();
                    o.put("prime", primeText == null ? "" : primeText);
                    o.put("text", text);
                    o.put("seed", baseSeed + i);
                    o.put("tokens", sampler.generatedTokens());
                    o.put("seconds", seconds);
                    out.println(o);
                } else {
                    if (i > 0) out.println();
                    if (primeText != null) out.print(primeText);
                    sampler.generate(primeIds, length, stopString, rng, s -> {
                        out.print(s);
                        out.flush();
                    });
                    out.println();
                }
                out.flush();
            }
            return 0;
        }
        int withAnswer = 0;
        int exact = 0;
        for (int i = 0; i < promptLines.size(); i++) {
            String line = promptLines.get(i);
            int tab = line.indexOf('\t');
            String promptText = tab >= 0 ? line.substring(0, tab) : line;
            String expected = tab >= 0 ? line.substring(tab + 1) : null;
            int[] ids = ckpt.vocabulary().encode(promptText, unknown, "prompt on line " + (i + 1) + " of " + start.prompts);
            String text = sampler.generate(ids, length, stopString, new SplittableRandom(baseSeed + i), s -> {
            });
            if (expected != null) {
                withAnswer++;
                if (expected.equals(text)) exact++;
            }
            if (json) {
                ObjectNode o = m.createObjectNode();
                o.put("prompt", promptText);
                o.put("completion", text);
                if (expected != null) {
                    o.put("expected", expected);
                    o.put("exact", expected.equals(text));
                }
                out.println(o);
            } else {
                out.println(escape(text));
            }
            out.flush();
        }
        if (json) {
            ObjectNode o = m.createObjectNode();
            o.put("prompts", promptLines.size());
            o.put("seed", baseSeed);
            if (withAnswer > 0) {
                o.put("with_expected", withAnswer);
                o.put("exact_match", exact / (double) withAnswer);
            }
            out.println(o);
        }
        out.flush();
        return 0;
    }

    private void validate() {
        if (length < 1 || length > MAX_LENGTH) fail("--length must be from 1 to " + MAX_LENGTH + ", got " + length);
        if (!(temperature > 0) || Double.isInfinite(temperature)) fail("--temperature must be a number > 0, got " + temperature);
        if (topK != null && topK < 1) fail("--top-k must be >= 1, got " + topK);
        if (!(topP > 0 && topP <= 1)) fail("--top-p must be in (0, 1], got " + topP);
        if (count < 1 || count > MAX_COUNT) fail("--count must be from 1 to " + MAX_COUNT + ", got " + count);
        if (start.prompts != null && count != 1) fail("--count applies to --prime samples, not to --prompts (one completion per prompt)");
        if (stop != null && stop.isEmpty()) fail("--stop must not be empty");
    }

    private void fail(String message) {
        throw new ParameterException(spec.commandLine(), message);
    }

    /** Understands \n, \t, \r and \\ in --stop, so --stop "\n" works from any shell. */
    static String unescape(String s) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\\' && i + 1 < s.length()) {
                char n = s.charAt(++i);
                switch (n) {
                    case 'n' -> b.append('\n');
                    case 't' -> b.append('\t');
                    case 'r' -> b.append('\r');
                    case '\\' -> b.append('\\');
                    default -> b.append('\\').append(n);
                }
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }

    static String escape(String s) {
        return s.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r");
    }
}
