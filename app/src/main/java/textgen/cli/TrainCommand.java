package textgen.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import textgen.TextgenException;
import textgen.checkpoint.RunDirectory;
import textgen.config.ConfigLoader;
import textgen.config.RunConfig;
import textgen.corpus.Corpus;
import textgen.train.Trainer;
import textgen.train.TrainingListener;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false, showDefaultValues = true,
        description = "Train a model. Every evaluation writes latest.zip (and best.zip when validation improves) to the run directory.")
final class TrainCommand implements Callable<Integer> {
    @ParentCommand
    TextgenCommand root;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Option(names = "--config", paramLabel = "FILE", description = "YAML config (see configs/); defaults are used for keys it leaves out.")
    Path config;

    @Option(names = "--corpus", paramLabel = "PATH", description = "Training text (overrides corpus.path).")
    Path corpus;

    @Option(names = "--run-dir", paramLabel = "DIR", description = "Run directory (default: runs/<config name>-<time>). Must not already hold a run.")
    Path runDir;

    @Option(names = "--max-minutes", paramLabel = "M", description = "Stop after M minutes (overrides training.maxMinutes).")
    String maxMinutes;

    @Option(names = "--max-iterations", paramLabel = "N", description = "Stop after N iterations (overrides training.maxIterations).")
    String maxIterations;

    @Option(names = "--set", paramLabel = "KEY=VALUE", description = "Override any config key, e.g. --set model.hiddenSize=512 (repeatable).")
    List<String> sets = new ArrayList<>();

    @Option(names = "--json", description = "End with one JSON line on stdout: best_val_loss, final_val_loss, iterations, epochs, chars_per_second, seconds, checkpoint, ...")
    boolean json;

    @Option(names = "--print-config", description = "Print the effective config as YAML and exit without training.")
    boolean printConfig;

    @Override
    public Integer call() {
        List<String> overrides = new ArrayList<>(sets);
        if (corpus != null) overrides.add("corpus.path=" + corpus);
        if (maxMinutes != null) overrides.add("training.maxMinutes=" + maxMinutes);
        if (maxIterations != null) overrides.add("training.maxIterations=" + maxIterations);
        RunConfig cfg = ConfigLoader.load(config, overrides);
        PrintWriter out = spec.commandLine().getOut();
        if (printConfig) {
            out.print(ConfigLoader.toYaml(cfg));
            return 0;
        }
        Corpus data = Corpus.load(cfg.corpus());
        List<TrainingListener> listeners = List.of(new ConsoleProgress(out, System.console() != null, 10));
        Trainer trainer = new Trainer(cfg, data, listeners, root.stop::requested);
        RunDirectory dir = RunDirectory.create(runDir != null ? runDir : defaultRunDir());
        dir.writeText(RunDirectory.CONFIG, ConfigLoader.toYaml(cfg));
        Trainer.Result r = root.stop.armedDuring(() -> trainer.run(dir));
        out.printf(java.util.Locale.ROOT, "done: %,d iterations, %.2f epochs, best val loss %.4f nats/char, %,.0f chars/s, %s; best checkpoint %s%n",
                r.iterations(), r.epochs(), r.bestValLoss(), r.charsPerSecond(), ConsoleProgress.clock(r.seconds()), r.bestCheckpoint());
        if (json) {
            ObjectMapper m = new ObjectMapper();
            ObjectNode o = m.createObjectNode();
            o.put("best_val_loss", r.bestValLoss());
            o.put("final_val_loss", r.finalValLoss());
            o.put("best_val_bits", r.bestValLoss() / Math.log(2));
            o.put("iterations", r.iterations());
            o.put("epochs", r.epochs());
            o.put("chars_per_second", r.charsPerSecond());
            o.put("seconds", r.seconds());
            o.put("checkpoint", r.bestCheckpoint().toString());
            o.put("run_dir", dir.path().toString());
            o.put("interrupted", r.interrupted());
            out.println(o.toString());
        }
        out.flush();
        return r.interrupted() ? TextgenException.INTERRUPTED : 0;
    }

    private Path defaultRunDir() {
        String name = config == null ? "run" : config.getFileName().toString().replaceFirst("\\.ya?ml$", "");
        return Path.of("runs", name + "-" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
    }
}
