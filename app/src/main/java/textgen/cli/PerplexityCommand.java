package textgen.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import textgen.TextgenException;
import textgen.checkpoint.Checkpoint;
import textgen.corpus.TextFile;
import textgen.eval.Evaluator;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

@Command(name = "perplexity", mixinStandardHelpOptions = true, sortOptions = false, showDefaultValues = true,
        description = {"Score a text with a checkpoint: mean cross-entropy per character (nats and bits) and perplexity.",
                "The hidden state carries through the whole file; every character after the first is predicted from all before it."})
final class PerplexityCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "PATH", description = "A checkpoint, or a run directory (then its best checkpoint).")
    Path model;

    @Option(names = "--text", required = true, paramLabel = "FILE", description = "UTF-8 text to score.")
    Path text;

    @Option(names = "--unknown", paramLabel = "POLICY", defaultValue = "error", description = "Characters not in the vocabulary: ${COMPLETION-CANDIDATES} (skip drops them before scoring).")
    UnknownPolicy unknown;

    @Option(names = "--json", description = "Print one JSON object: nats, bits, perplexity, tokens.")
    boolean json;

    @Override
    public Integer call() {
        String content = TextFile.read(text, "text");
        Checkpoint.Loaded ckpt = Checkpoint.read(Checkpoint.resolve(model), false);
        int[] ids = ckpt.vocabulary().encode(content, unknown == UnknownPolicy.skip, "text " + text);
        if (ids.length < 2) throw TextgenException.usage("text " + text + " has fewer than 2 scorable characters");
        Evaluator.Score s = Evaluator.score(ckpt.network(), ids, ckpt.vocabulary().size(), 1, 1024);
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            ObjectNode o = new ObjectMapper().createObjectNode();
            o.put("nats", s.nats());
            o.put("bits", s.bits());
            o.put("perplexity", s.perplexity());
            o.put("tokens", s.tokens());
            o.put("skipped", content.codePointCount(0, content.length()) - ids.length);
            out.println(o);
        } else {
            out.printf(Locale.ROOT, "%s: %,d characters scored: %.4f nats/char, %.4f bits/char, perplexity %.3f%n",
                    text, s.tokens(), s.nats(), s.bits(), s.perplexity());
        }
        out.flush();
        return 0;
    }
}
