package textgen.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import textgen.config.ConfigLoader;
import textgen.config.RunConfig;
import textgen.corpus.Corpus;
import textgen.model.ModelSummary;
import textgen.model.NetworkFactory;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "summary", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Print the model a config builds, as Keras's model.summary() does: each layer with its input and output "
                + "shape and parameter count, and the total. Nothing is trained; the corpus is read for its vocabulary size."})
final class SummaryCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--config", paramLabel = "FILE", description = "YAML config (see configs/); defaults are used for keys it leaves out.")
    Path config;

    @Option(names = "--corpus", paramLabel = "PATH", description = "Training text (overrides corpus.path).")
    Path corpus;

    @Option(names = "--set", paramLabel = "KEY=VALUE", description = "Override any config key (repeatable).")
    List<String> sets = new ArrayList<>();

    @Override
    public Integer call() {
        List<String> overrides = new ArrayList<>(sets);
        if (corpus != null) overrides.add("corpus.path=" + corpus);
        RunConfig cfg = ConfigLoader.load(config, overrides);
        Corpus data = Corpus.load(cfg.corpus());
        data.requireInput(cfg.model());
        int vocab = data.vocabulary().size();
        PrintWriter out = spec.commandLine().getOut();
        out.printf(java.util.Locale.ROOT, "corpus %s: vocabulary %,d %ss%n", cfg.corpus().path(), vocab, data.vocabulary().unit());
        out.print(ModelSummary.format(NetworkFactory.configuration(cfg.model(), cfg.training(), vocab)));
        out.flush();
        return 0;
    }
}
