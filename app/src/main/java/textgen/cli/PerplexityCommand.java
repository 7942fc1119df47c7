package textgen.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import textgen.TextgenException;
import textgen.checkpoint.Checkpoint;
import textgen.corpus.Corpus;
import textgen.corpus.UnknownPolicy;
import textgen.corpus.Vocabulary;
import textgen.eval.Evaluator;
import textgen.tensor.TokenIds;

import java.io.PrintWriter;
import java.util.Locale;
import java.util.concurrent.Callable;

@Command(name = "perplexity", mixinStandardHelpOptions = true, sortOptions = false, showDefaultValues = true,
        description = {"Score a text with a checkpoint: mean cross-entropy per token (character or word; nats and bits) and perplexity.",
                "The hidden state carries through the whole file; every token after the first is predicted from all before it.",
                "Word-level models read words outside their vocabulary as <unk> (by default) and report the <unk> rate."})
final class PerplexityCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @picocli.CommandLine.Mixin
    ModelOption model;

    @Option(names = "--text", required = true, paramLabel = "PATH", description = "UTF-8 text to score: a file, a folder (its files in "
            + "order of their relative paths) or a glob; .gz files are read through gzip.")
    String text;

    @Option(names = "--unknown", paramLabel = "POLICY", description = "Characters or words not in the vocabulary: ${COMPLETION-CANDIDATES} "
            + "(skip drops them before scoring; unk, the default for word-level models, scores them as <unk>; error is the default for characters).")
    UnknownPolicy unknown;

    @Option(names = "--json", description = "Print one JSON object: unit, nats, bits, perplexity, tokens, skipped, seconds (of scoring), and for words unk_rate.")
    boolean json;

    @Override
    public Integer call() {
        Checkpoint.Loaded ckpt = model.load();
        Vocabulary vocab = ckpt.vocabulary();
        boolean words = vocab.unknown() >= 0;
        UnknownPolicy policy = unknown != null ? unknown : vocab.defaultUnknownPolicy();
        Corpus.Scored scored = Corpus.encode(text, "text", vocab, policy);
        TokenIds ids = scored.ids();
        String unit = vocab.shortUnit();
        if (ids.size() < 2) throw TextgenException.usage("text " + text + " has fewer than 2 scorable " + vocab.unit() + "s");
        long t0 = System.nanoTime();
        Evaluator.Score s = Evaluator.score(ckpt.network(), ids, vocab.size(), 1, 1024);
        double seconds = (System.nanoTime() - t0) / 1e9;
        long unks = 0; // <unk> among the predicted tokens (all but the first)
        int[] window = new int[1 << 16];
        for (long from = 1; from < ids.size(); from += window.length) {
            int n = (int) Math.min(window.length, ids.size() - from);
            ids.copy(from, window, 0, n);
            for (int i = 0; i < n; i++) if (window[i] == vocab.unknown()) unks++;
        }
        double unkRate = unks / (double) (ids.size() - 1);
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            ObjectNode o = new ObjectMapper().createObjectNode();
            o.put("unit", unit);
            o.put("nats", s.nats());
            o.put("bits", s.bits());
            o.put("perplexity", s.perplexity());
            o.put("tokens", s.tokens());
            o.put("skipped", scored.skipped());
            o.put("seconds", seconds);
            if (words) o.put("unk_rate", unkRate);
            out.println(o);
        } else {
            out.printf(Locale.ROOT, "%s: %,d %ss scored: %.4f nats/%s, %.4f bits/%s, perplexity %.3f%s%n",
                    text, s.tokens(), vocab.unit(), s.nats(), unit, s.bits(), unit, s.perplexity(),
                    words ? String.format(Locale.ROOT, ", <unk> %.2f%% of words", 100 * unkRate) : "");
        }
        out.flush();
        return 0;
    }
}
