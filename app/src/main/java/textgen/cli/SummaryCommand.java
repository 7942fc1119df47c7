package textgen.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Spec;
import textgen.config.RunConfig;
import textgen.corpus.Corpus;
import textgen.model.ModelSummary;
import textgen.model.NetworkFactory;

import java.io.PrintWriter;
import java.util.concurrent.Callable;

@Command(name = "summary", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Print the model a config builds, as Keras's model.summary() does: each layer with its input and output "
                + "shape and parameter count, and the total. Nothing is trained; the corpus is read for its vocabulary size."})
final class SummaryCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    ConfigSource source;

    @Mixin
    ConfigOverrides overrides;

    @Override
    public Integer call() {
        RunConfig cfg = ConfigSource.load(source, overrides.sets);
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
