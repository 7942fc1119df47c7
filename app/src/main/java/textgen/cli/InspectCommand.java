package textgen.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import textgen.TextgenException;
import textgen.checkpoint.Checkpoint;
import textgen.checkpoint.RunDirectory;
import textgen.checkpoint.TrainingState;
import textgen.config.ConfigLoader;
import textgen.corpus.Vocabulary;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

@Command(name = "inspect", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Show what a checkpoint is and where it came from: versions, backend, corpus SHA-256 and size, seed, "
                + "training state and the effective config. For a run directory, first its list of checkpoints."})
final class InspectCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(paramLabel = "PATH", description = "A checkpoint, or a run directory (then its checkpoint list and latest checkpoint).")
    Path path;

    @Option(names = "--json", description = "Print one JSON object: provenance (textgen.json), config, and for a run directory its index.")
    boolean json;

    private static final ObjectMapper JSON = new ObjectMapper();

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        if (!Files.exists(path)) throw TextgenException.usage("inspect: " + path + " does not exist");
        boolean runDir = Files.isDirectory(path);
        RunDirectory.Index index = runDir ? RunDirectory.readIndex(path) : null;
        Path file = runDir ? path.resolve(RunDirectory.LATEST) : path;
        if (runDir && !Files.isRegularFile(file)) throw TextgenException.usage("inspect: " + path + " holds no " + RunDirectory.LATEST + ": not a run directory");
        Checkpoint.Loaded c = Checkpoint.read(file, false);
        if (json) {
            ObjectNode o = JSON.createObjectNode();
            o.put("path", file.toString());
            o.set("checkpoint", c.meta());
            o.put("config", ConfigLoader.toYaml(c.config()));
            o.put("parameters", c.network().numParams());
            var layers = o.putArray("layers");
            for (var r : textgen.model.ModelSummary.rows(c.network().getLayerWiseConfigurations())) {
                layers.addObject().put("name", r.name()).put("type", r.type()).put("input_shape", r.inputShape())
                        .put("output_shape", r.outputShape()).put("parameters", r.parameters());
            }
            o.put("vocabulary", c.vocabulary().size());
            o.put("unit", c.vocabulary().shortUnit());
            if (index != null) o.set("index", JSON.valueToTree(index));
            out.println(o);
            return 0;
        }
        if (index != null) {
            out.println("run " + path + ": " + index.checkpoints().size() + " checkpoint(s)");
            for (RunDirectory.Entry e : index.checkpoints()) {
                out.printf(Locale.ROOT, "  %-32s iteration %,9d  epoch %7.2f  val %s%s%n", e.file(), e.iteration(), e.epochs(),
                        Double.isNaN(e.valLoss()) ? "   -   " : String.format(Locale.ROOT, "%.4f", e.valLoss()),
                        e.file().equals(index.best()) ? "  best" : "");
            }
            out.println();
        }
        var m = c.meta();
        TrainingState s = c.state();
        out.println("checkpoint " + file);
        out.printf(Locale.ROOT, "  created           %s by textgen %s (format %d), DL4J %s, backend %s, Java %s%n", m.path("created").asText("?"),
                m.path("textgenVersion").asText("?"), m.path("formatVersion").asInt(), m.path("dl4jVersion").asText("?"),
                m.path("backend").asText("?"), m.path("javaVersion").asText("?"));
        out.printf(Locale.ROOT, "  corpus            %s (%s%,d characters, SHA-256 %s)%n", m.path("corpusPath").asText("?"),
                m.has("corpusFiles") ? String.format(Locale.ROOT, "%,d file(s)%s, ", m.path("corpusFiles").asInt(),
                        m.has("corpusBytes") ? String.format(Locale.ROOT, " of %,d bytes", m.path("corpusBytes").asLong()) : "") : "",
                m.path("corpusCodePoints").asLong(), m.path("corpusSha256").asText("?"));
        Vocabulary v = c.vocabulary();
        String unit = v.shortUnit();
        out.printf(Locale.ROOT, "  model             %s, %,d parameters, vocabulary %,d %ss%s%n", c.config().model().describe(),
                c.network().numParams(), v.size(), v.unit(), v.lowercase() ? " (lowercased)" : "");
        out.printf(Locale.ROOT, "  seed              %d%n", c.config().training().seed());
        out.printf(Locale.ROOT, "  state             iteration %,d, epoch %d batch %d, %,d %ss seen, %.0f s%n", s.iteration(), s.epoch(),
                s.batchInEpoch(), s.tokensSeen(), v.unit(), s.elapsedSeconds());
        out.printf(Locale.ROOT, "  validation loss   %s (best so far %s)%n", fmt(s.valLoss(), unit), fmt(s.bestValLoss(), unit));
        if (s.rollbacks() > 0) out.printf(Locale.ROOT, "  divergences       %d, learning rate cut to %.3gx%n", s.rollbacks(), s.lrScale());
        out.println("  layers:");
        textgen.model.ModelSummary.format(c.network().getLayerWiseConfigurations()).lines().forEach(l -> out.println("    " + l));
        out.println("  config:");
        ConfigLoader.toYaml(c.config()).lines().forEach(l -> out.println("    " + l));
        out.flush();
        return 0;
    }

    private static String fmt(double d, String unit) {
        return Double.isNaN(d) ? "-" : String.format(Locale.ROOT, "%.4f nats/%s", d, unit);
    }
}
