package textgen.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import textgen.TextgenException;
import textgen.checkpoint.Checkpoint;
import textgen.checkpoint.RunDirectory;
import textgen.config.ConfigLoader;
import textgen.config.RunConfig;
import textgen.corpus.Corpus;
import textgen.corpus.UnknownPolicy;
import textgen.train.Trainer;
import textgen.train.TrainingListener;
import textgen.train.TrainingUi;

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

    @Option(names = "--devices", paramLabel = "N", description = "Train data-parallel on N devices: GPUs on CUDA, worker threads on the CPU "
            + "(overrides training.devices; see README).")
    String devices;

    @Option(names = "--set", paramLabel = "KEY=VALUE", description = "Override any config key, e.g. --set model.hiddenSize=512 (repeatable).")
    List<String> sets = new ArrayList<>();

    @Option(names = "--json", description = "End with one JSON line on stdout: best_val_loss, final_val_loss, iterations, epochs, chars_per_second, seconds, checkpoint, ...")
    boolean json;

    @Option(names = "--print-config", description = "Print the effective config as YAML and exit without training.")
    boolean printConfig;

    @Option(names = "--resume", paramLabel = "RUN_DIR", description = "Continue the run in RUN_DIR exactly where its latest checkpoint left it "
            + "(its config and corpus; only limits may be changed: --max-minutes, --max-iterations, --set training.maxEpochs/evalEvery/...).")
    Path resume;

    @Option(names = "--init-from", paramLabel = "CKPT", description = "Fine-tune: start a new run from this checkpoint's weights and vocabulary "
            + "(a checkpoint or a run directory) on --corpus; its layer count and sizes are kept.")
    Path initFrom;

    @Option(names = "--unknown", paramLabel = "POLICY",
            description = "With --init-from, corpus characters or words the checkpoint's vocabulary lacks: ${COMPLETION-CANDIDATES} "
                    + "(default: error for characters, unk for words).")
    UnknownPolicy unknown;

    @Option(names = "--ui", description = "While training, serve DL4J's training UI (score chart, parameter/update ratios, model and "
            + "system pages) at http://127.0.0.1:PORT/train/overview; this machine only. It stops when training ends.")
    boolean ui;

    @Option(names = "--ui-port", paramLabel = "PORT", defaultValue = "9000", description = "Port of the training UI (0: any free port).")
    int uiPort;

    /** The training UI with --ui, started just before training. */
    private TrainingUi monitor;

    /**
     * Keys a resumed run may change: how long it runs, how often it reports and saves, and on how many devices (a
     * run started on several GPUs can go on on one), nothing that changes the model.
     */
    static final java.util.Set<String> RESUMABLE_KEYS = java.util.Set.of("training.maxEpochs", "training.maxIterations",
            "training.maxMinutes", "training.evalEvery", "training.sampleLength", "training.sampleTemperature", "training.keepLast",
            "training.checkpointMinutes", "training.maxRollbacks", "training.devices");

    @Override
    public Integer call() {
        if (spec.commandLine().getParseResult().hasMatchedOption("--ui-port") && !ui) throw usage("--ui-port needs --ui");
        if (uiPort < 0 || uiPort > 65535) throw usage("--ui-port must be in 0..65535 (0: any free port), got " + uiPort);
        if (ui) monitor = TrainingUi.load(); // before anything slow: a build without the UI says so at once
        try {
            return train();
        } finally {
            if (monitor != null) monitor.close();
        }
    }

    private int train() {
        if (resume != null) {
            for (var o : new Object[][]{{config, "--config"}, {corpus, "--corpus"}, {runDir, "--run-dir"}, {initFrom, "--init-from"}, {printConfig ? true : null, "--print-config"}}) {
                if (o[0] != null) throw usage("--resume continues a run with its own config, corpus and directory: do not combine it with " + o[1]);
            }
        }
        List<String> overrides = new ArrayList<>(sets);
        if (corpus != null) overrides.add("corpus.path=" + corpus);
        if (maxMinutes != null) overrides.add("training.maxMinutes=" + maxMinutes);
        if (maxIterations != null) overrides.add("training.maxIterations=" + maxIterations);
        if (devices != null) overrides.add("training.devices=" + devices);
        PrintWriter out = spec.commandLine().getOut();
        if (resume != null) {
            Setup setup = resumeSetup(overrides);
            startUi(out);
            return run(out, setup);
        }

        RunConfig cfg = ConfigLoader.load(config, overrides);
        Checkpoint.Loaded init = null;
        if (initFrom != null) {
            init = Checkpoint.read(Checkpoint.resolve(initFrom), false);
            RunConfig.ModelConfig m = init.config().model();
            RunConfig.CorpusConfig c = cfg.corpus(), ic = init.config().corpus(); // the checkpoint's vocabulary decides how text is read
            cfg = new RunConfig(new RunConfig.CorpusConfig(c.path(), c.validationFraction(), c.validationPath(), ic.tokenizer(), ic.lowercase(),
                    ic.maxVocabulary(), ic.minCount()), new RunConfig.ModelConfig(m.embedding(), m.embeddingSize(), m.cell(), m.activation(), m.layers(), m.hiddenSize(), cfg.model().dropout()),
                    cfg.training());
        }
        if (printConfig) {
            out.print(ConfigLoader.toYaml(cfg));
            return 0;
        }
        if (cfg.model().cell() == RunConfig.Cell.SIMPLE && "relu".equals(cfg.model().activation())
                && cfg.training().sampling() == RunConfig.Sampling.CONSECUTIVE) {
            // measured: 1 x 64 on a tiny text, lr 0.005: consecutive diverged at iteration 55 (3 rollbacks); random windows reached 0.22
            spec.commandLine().getErr().println("warning: a ReLU cell with identity recurrent weights adds up its state without bound over "
                    + "consecutive streams and tends to diverge; training.sampling: random (fresh state per window) suits it");
        }
        Corpus data = init == null ? Corpus.load(cfg.corpus())
                : Corpus.load(cfg.corpus(), init.vocabulary(), unknown != null ? unknown : init.vocabulary().defaultUnknownPolicy());
        data.requireInput(cfg.model());
        Trainer trainer = new Trainer(cfg, data, listeners(out), root.stop::requested);
        startUi(out);
        RunDirectory dir = RunDirectory.create(runDir != null ? runDir : defaultRunDir());
        dir.writeText(RunDirectory.CONFIG, ConfigLoader.toYaml(cfg));
        if (init != null) out.println("fine-tuning from " + init.path() + " (vocabulary of " + init.vocabulary().size() + " " + init.vocabulary().unit() + "s kept)");
        return run(out, new Setup(trainer, dir, null, init == null ? null : init.network().params()));
    }

    private record Setup(Trainer trainer, RunDirectory dir, Checkpoint.Loaded resumeFrom, org.nd4j.linalg.api.ndarray.INDArray initParams) {
    }

    /** The stored config with limit overrides, the same corpus (checked by its SHA-256) and the latest checkpoint. */
    private Setup resumeSetup(List<String> overrides) {
        RunDirectory dir = RunDirectory.open(resume);
        Checkpoint.Loaded last = Checkpoint.read(dir.latest(), true);
        List<String> allowed = new ArrayList<>();
        for (String o : overrides) {
            String key = o.contains("=") ? o.substring(0, o.indexOf('=')).trim() : o;
            if (!RESUMABLE_KEYS.contains(key)) {
                throw usage("--resume keeps the run's config; " + key + " cannot change (changeable: "
                        + String.join(", ", new java.util.TreeSet<>(RESUMABLE_KEYS)) + ")");
            }
            allowed.add(o);
        }
        RunConfig cfg = ConfigLoader.override(last.config(), allowed);
        // unknown characters are skipped here only so that a changed corpus is reported as changed, just below
        Corpus data = Corpus.load(cfg.corpus(), last.vocabulary(), last.vocabulary().unknown() >= 0 ? UnknownPolicy.unk : UnknownPolicy.skip);
        String recorded = last.meta().path("corpusSha256").asText();
        if (!recorded.equals(data.sha256())) {
            throw TextgenException.usage("corpus " + cfg.corpus().path() + " has changed since the run started (SHA-256 " + data.sha256()
                    + ", the run recorded " + recorded + "): --resume needs the same text; start a new run with --init-from instead");
        }
        return new Setup(new Trainer(cfg, data, listeners(spec.commandLine().getOut()), root.stop::requested), dir, last, null);
    }

    private List<TrainingListener> listeners(PrintWriter out) {
        ConsoleProgress progress = new ConsoleProgress(out, spec.commandLine().getErr(), System.console() != null, 10);
        return monitor == null ? List.of(progress) : List.of(progress, monitor);
    }

    /** With --ui: binds the port (a port in use is a usage error, before the run directory exists) and prints the address. */
    private void startUi(PrintWriter out) {
        if (monitor == null) return;
        out.println("training UI: " + monitor.start(uiPort));
        out.flush();
    }

    private picocli.CommandLine.ParameterException usage(String message) {
        return new picocli.CommandLine.ParameterException(spec.commandLine(), message);
    }

    private int run(PrintWriter out, Setup setup) {
        RunDirectory dir = setup.dir();
        Trainer trainer = setup.trainer();
        Trainer.Result r = root.stop.armedDuring(() -> trainer.run(dir, setup.resumeFrom(), setup.initParams()));
        String unit = trainer.unit();
        out.printf(java.util.Locale.ROOT, "done: %,d iterations, %.2f epochs, best val loss %.4f nats/%s, %,.0f %ss/s, %s; best checkpoint %s%n",
                r.iterations(), r.epochs(), r.bestValLoss(), unit, r.charsPerSecond(), unit, ConsoleProgress.clock(r.seconds()), r.bestCheckpoint());
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
            o.put("checkpoint", r.bestCheckpoint() == null ? null : String.valueOf(r.bestCheckpoint()));
            o.put("latest_checkpoint", java.nio.file.Files.exists(dir.latest()) ? dir.latest().toString() : null);
            o.put("run_dir", dir.path().toString());
            o.put("interrupted", r.interrupted());
            var steps = o.putArray("device_steps");
            for (long n : r.deviceSteps()) steps.add(n);
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
