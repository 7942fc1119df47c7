package textgen.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import textgen.TextgenException;
import textgen.checkpoint.Checkpoint;
import textgen.checkpoint.RunDirectory;
import textgen.config.ConfigLoader;
import textgen.config.RunConfig;
import textgen.corpus.UnknownPolicy;
import textgen.model.StepProfile;
import textgen.train.Trainer;
import textgen.train.TrainingListener;
import textgen.train.TrainingRun;
import textgen.train.TrainingUi;

import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false, showDefaultValues = true,
        description = "Train a model. Every evaluation writes latest.zip (and best.zip when validation improves) to the run directory.",
        footerHeading = "%nConfig keys (in a --config file, or --set KEY=VALUE):%n")
final class TrainCommand implements Callable<Integer> {
    @ParentCommand
    TextgenCommand root;

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    /** A new run, or --resume: never both. */
    @ArgGroup(exclusive = true)
    Start start;

    static final class Start {
        @ArgGroup(exclusive = false, heading = "")
        NewRun newRun;

        @Option(names = "--resume", paramLabel = "RUN_DIR", description = "Continue the run in RUN_DIR exactly where its latest checkpoint "
                + "left it (its config and corpus; only limits may be changed: --max-minutes, --max-iterations, --set training.maxEpochs/evalEvery/...).")
        Path resume;
    }

    static final class NewRun {
        @ArgGroup(exclusive = false)
        ConfigSource source;

        @Option(names = "--run-dir", paramLabel = "DIR", description = "Run directory (default: runs/<config name>-<time>). Must not already hold a run.")
        Path runDir;

        @Option(names = "--init-from", paramLabel = "CKPT", description = "Fine-tune: start a new run from this checkpoint's weights and "
                + "vocabulary (a checkpoint or a run directory) on --corpus; its layer count and sizes are kept.")
        Path initFrom;

        @Option(names = "--unknown", paramLabel = "POLICY",
                description = "With --init-from, corpus characters or words the checkpoint's vocabulary lacks: ${COMPLETION-CANDIDATES} "
                        + "(default: error for characters, unk for words).")
        UnknownPolicy unknown;

        @Option(names = "--print-config", description = "Print the effective config as YAML and exit without training.")
        boolean printConfig;
    }

    @Option(names = "--max-minutes", paramLabel = "M", description = "Stop after M minutes (overrides training.maxMinutes).")
    String maxMinutes;

    @Option(names = "--max-iterations", paramLabel = "N", description = "Stop after N iterations (overrides training.maxIterations).")
    String maxIterations;

    @Option(names = "--devices", paramLabel = "N", description = "Train data-parallel on N devices: GPUs on CUDA, worker threads on the CPU "
            + "(overrides training.devices; see README).")
    String devices;

    @Option(names = "--spark", paramLabel = "MASTER", description = "Train data-parallel on an Apache Spark cluster: local[N], "
            + "spark://host:port, yarn, k8s://... (overrides training.spark.master; see README, Across machines).")
    String spark;

    @Mixin
    ConfigOverrides overrides;

    @Option(names = "--json", description = "End with one JSON line on stdout: best_val_loss, final_val_loss, iterations, epochs, chars_per_second, seconds, checkpoint, ...")
    boolean json;

    @Option(names = "--ui", description = "While training, serve DL4J's training UI (score chart, parameter/update ratios, model and "
            + "system pages) at http://127.0.0.1:PORT/train/overview; this machine only. It stops when training ends.")
    boolean ui;

    @Option(names = "--ui-port", paramLabel = "PORT", defaultValue = "9000", description = "Port of the training UI (0: any free port).")
    int uiPort;

    @Override
    public Integer call() {
        if (spec.commandLine().getParseResult().hasMatchedOption("--ui-port") && !ui) throw usage("--ui-port needs --ui");
        if (uiPort < 0 || uiPort > 65535) throw usage("--ui-port must be in 0..65535 (0: any free port), got " + uiPort);
        PrintWriter out = spec.commandLine().getOut();
        try (TrainingUi monitor = ui ? TrainingUi.load() : null) { // before anything slow: a build without the UI says so at once
            List<TrainingListener> listeners = new ArrayList<>();
            listeners.add(new ConsoleProgress(out, spec.commandLine().getErr(), System.console() != null, 10));
            if (monitor != null) listeners.add(monitor);
            try (TrainingRun run = setUp(listeners, out)) { // holds the run directory's lock until the end, also on failure
                if (run == null) return 0; // --print-config
                if (monitor != null) { // binds the port now: one in use is a usage error, before a new run's directory exists
                    out.println("training UI: " + monitor.start(uiPort));
                    out.flush();
                }
                Trainer.Result r = root.stop.armedDuring(run::run);
                report(out, run, r);
                return r.interrupted() ? TextgenException.INTERRUPTED : 0;
            }
        }
    }

    /** The run these options describe (null after --print-config), checked before anything is written. */
    private TrainingRun setUp(List<TrainingListener> listeners, PrintWriter out) {
        List<String> sets = new ArrayList<>(overrides.sets);
        if (maxMinutes != null) sets.add("training.maxMinutes=" + maxMinutes);
        if (maxIterations != null) sets.add("training.maxIterations=" + maxIterations);
        if (devices != null) sets.add("training.devices=" + devices);
        if (spark != null) sets.add("training.spark.master=" + spark);
        if (start != null && start.resume != null) return TrainingRun.resume(start.resume, sets, listeners, root.stop::requested);

        NewRun n = start == null || start.newRun == null ? new NewRun() : start.newRun;
        RunConfig cfg = ConfigSource.load(n.source, sets);
        Checkpoint.Loaded init = n.initFrom == null ? null : Checkpoint.read(Checkpoint.resolve(n.initFrom), false);
        if (init != null) cfg = TrainingRun.fineTuning(cfg, init);
        if (n.printConfig) {
            out.print(ConfigLoader.toYaml(cfg));
            return null;
        }
        if (cfg.model().cell() == RunConfig.Cell.SIMPLE && "relu".equals(cfg.model().activation())
                && cfg.training().sampling() == RunConfig.Sampling.CONSECUTIVE) {
            // measured: 1 x 64 on a tiny text, lr 0.005: consecutive diverged at iteration 55 (3 rollbacks); random windows reached 0.22
            spec.commandLine().getErr().println("warning: a ReLU cell with identity recurrent weights adds up its state without bound over "
                    + "consecutive streams and tends to diverge; training.sampling: random (fresh state per window) suits it");
        }
        Path dir = n.runDir != null ? n.runDir : RunDirectory.defaultPath(ConfigSource.runName(n.source));
        TrainingRun run = TrainingRun.create(cfg, dir, init, n.unknown, listeners, root.stop::requested);
        if (init != null) out.println("fine-tuning from " + init.path() + " (vocabulary of " + init.vocabulary().size() + " " + init.vocabulary().unit() + "s kept)");
        return run;
    }

    private void report(PrintWriter out, TrainingRun run, Trainer.Result r) {
        RunDirectory dir = run.directory();
        String unit = run.unit();
        if (r.iterations() == 0) {
            out.println("stopped before the first step: nothing was trained or saved" + (Files.exists(dir.latest()) ? ""
                    : "; " + dir.path() + " takes a new run"));
        } else out.printf(Locale.ROOT, "done: %,d iterations, %.2f epochs, best val loss %.4f nats/%s, %,.0f %ss/s, %s; best checkpoint %s%n",
                r.iterations(), r.epochs(), r.bestValLoss(), unit, r.charsPerSecond(), unit, ConsoleProgress.clock(r.seconds()), r.bestCheckpoint());
        if (StepProfile.ON) out.println("step profile: " + StepProfile.summary());
        if (!r.roundSeconds().isEmpty()) {
            StringBuilder rounds = new StringBuilder();
            r.roundSeconds().forEach((part, sec) -> rounds.append(rounds.length() == 0 ? "" : ", ").append(part)
                    .append(String.format(Locale.ROOT, " %.3f", sec)));
            out.println("rounds (median seconds): " + rounds);
        }
        if (json) {
            ObjectNode o = new ObjectMapper().createObjectNode();
            o.put("best_val_loss", r.bestValLoss());
            o.put("final_val_loss", r.finalValLoss());
            o.put("best_val_bits", r.bestValLoss() / Math.log(2));
            o.put("iterations", r.iterations());
            o.put("epochs", r.epochs());
            o.put("chars_per_second", r.charsPerSecond());
            o.put("seconds", r.seconds());
            o.put("checkpoint", r.bestCheckpoint() == null ? null : String.valueOf(r.bestCheckpoint()));
            o.put("latest_checkpoint", Files.exists(dir.latest()) ? dir.latest().toString() : null);
            o.put("run_dir", dir.path().toString());
            o.put("interrupted", r.interrupted());
            var steps = o.putArray("device_steps");
            for (long n : r.deviceSteps()) steps.add(n);
            if (!r.roundSeconds().isEmpty()) {
                var rounds = o.putObject("round_seconds");
                r.roundSeconds().forEach(rounds::put);
            }
            if (StepProfile.ON) {
                var shares = o.putObject("step_profile");
                StepProfile.shares().forEach((p, v) -> shares.put(p.name().toLowerCase(Locale.ROOT), v));
            }
            out.println(o);
        }
        out.flush();
    }

    private picocli.CommandLine.ParameterException usage(String message) {
        return new picocli.CommandLine.ParameterException(spec.commandLine(), message);
    }
}
