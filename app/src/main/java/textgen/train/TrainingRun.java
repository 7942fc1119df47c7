package textgen.train;

import textgen.TextgenException;
import textgen.checkpoint.Checkpoint;
import textgen.checkpoint.RunDirectory;
import textgen.config.ConfigLoader;
import textgen.config.ConfigSchema;
import textgen.config.RunConfig;
import textgen.corpus.Corpus;
import textgen.corpus.Vocabulary;
import textgen.corpus.UnknownPolicy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;

/**
 * A training run, set up and checked before anything is written: a new run (fresh, or fine-tuning a checkpoint's
 * weights on a new corpus) or a resumed one. {@link #run} then creates (or reuses) the run directory and trains, with
 * the run directory's writers (checkpoints, samples, metrics and loss.png) ahead of the caller's listeners.
 * <p>
 * The run holds its directory's lock until {@link #close}: a resumed run's and an existing directory's is taken first
 * of all, before the corpus is read, so that a directory in use is refused at once and untouched; a new directory's
 * when {@link #directory()} creates it. Close it also when setting up or training fails.
 */
public final class TrainingRun implements AutoCloseable {
    private final RunConfig config;
    private final Vocabulary vocabulary;
    private final Path dirPath;
    private final Checkpoint.Provenance provenance;
    private final boolean newRun;
    private final Trainer.Start start;
    private final Trainer trainer;
    private final List<TrainingListener> listeners;
    private RunDirectory dir;
    private boolean started;

    private TrainingRun(RunConfig config, Corpus corpus, Path dirPath, RunDirectory claimed, boolean newRun, Trainer.Start start,
                        List<TrainingListener> listeners, BooleanSupplier stop) {
        this.config = config;
        this.vocabulary = corpus.vocabulary();
        this.dirPath = dirPath;
        this.dir = claimed;
        this.newRun = newRun;
        this.start = start;
        this.listeners = listeners;
        this.provenance = Checkpoint.Provenance.of(corpus);
        this.trainer = new Trainer(config, corpus, stop);
    }

    /** The config of a fine-tuning run: the checkpoint's model and tokenizer (its vocabulary decides how text is read), the rest from {@code cfg}. */
    public static RunConfig fineTuning(RunConfig cfg, Checkpoint.Loaded init) {
        Map<String, Object> stored = init.config().toValues();
        List<String> kept = new ArrayList<>();
        for (String key : ConfigSchema.inheritedKeys()) kept.add(key + "=" + stored.get(key));
        return ConfigLoader.override(cfg, kept);
    }

    /**
     * A new run into {@code dir} (created by {@link #run}; it must not hold a run): from fresh weights, or with
     * {@code init} from that checkpoint's weights and vocabulary ({@code cfg} must come from {@link #fineTuning}),
     * corpus text outside its vocabulary handled by {@code unknown} (null: the vocabulary's default).
     */
    public static TrainingRun create(RunConfig cfg, Path dir, Checkpoint.Loaded init, UnknownPolicy unknown,
                                     List<TrainingListener> listeners, BooleanSupplier stop) {
        return claiming(existing(dir), claimed -> {
            ClusterTraining.require(cfg);
            Corpus data = init == null ? Corpus.load(cfg.corpus())
                    : Corpus.load(cfg.corpus(), init.vocabulary(), unknown != null ? unknown : init.vocabulary().defaultUnknownPolicy());
            data.requireInput(cfg.model());
            return new TrainingRun(cfg, data, dir, claimed, true, new Trainer.Start(null, init == null ? null : init.network().params()), listeners, stop);
        });
    }

    /** An existing directory for a new run, claimed now (refused if in use or holding a run); null if it does not exist yet. */
    private static RunDirectory existing(Path dir) {
        return Files.isDirectory(dir) ? RunDirectory.create(dir) : null;
    }

    /** Sets up a run that holds {@code claimed} (may be null), releasing it if setting up fails. */
    private static TrainingRun claiming(RunDirectory claimed, java.util.function.Function<RunDirectory, TrainingRun> setUp) {
        try {
            return setUp.apply(claimed);
        } catch (RuntimeException e) {
            if (claimed != null) claimed.close();
            throw e;
        }
    }

    /**
     * The run in {@code dir} continued exactly from its latest checkpoint: its stored config with {@code overrides}
     * (key=value) of keys declared resumable only, on the same corpus (checked by its SHA-256).
     */
    public static TrainingRun resume(Path dir, List<String> overrides, List<TrainingListener> listeners, BooleanSupplier stop) {
        return claiming(RunDirectory.open(dir), run -> resumed(run, overrides, listeners, stop));
    }

    private static TrainingRun resumed(RunDirectory run, List<String> overrides, List<TrainingListener> listeners, BooleanSupplier stop) {
        Checkpoint.Loaded last = Checkpoint.read(run.latest(), true);
        for (String o : overrides) {
            String key = o.contains("=") ? o.substring(0, o.indexOf('=')).trim() : o;
            var declared = ConfigSchema.get(key);
            if (declared == null || !declared.resumable()) {
                throw TextgenException.usage("--resume keeps the run's config; " + key + " cannot change (changeable: "
                        + String.join(", ", ConfigSchema.resumableKeys()) + ")");
            }
        }
        RunConfig cfg = ConfigLoader.override(last.config(), overrides);
        ClusterTraining.require(cfg);
        // unknown characters are skipped here only so that a changed corpus is reported as changed, just below
        Corpus data = Corpus.load(cfg.corpus(), last.vocabulary(), last.vocabulary().unknown() >= 0 ? UnknownPolicy.unk : UnknownPolicy.skip);
        String recorded = last.meta().path("corpusSha256").asText();
        if (!recorded.equals(data.sha256())) {
            throw TextgenException.usage("corpus " + cfg.corpus().path() + " has changed since the run started (SHA-256 " + data.sha256()
                    + ", the run recorded " + recorded + "): --resume needs the same text; start a new run with --init-from instead");
        }
        return new TrainingRun(cfg, data, run.path(), run, false, new Trainer.Start(last, null), listeners, stop);
    }

    public RunConfig config() {
        return config;
    }

    /** What one token is, in rates: "char" or "word". */
    public String unit() {
        return trainer.unit();
    }

    /** A new run on a corpus made in memory (e.g. a generated task) into {@code dir}. */
    public static TrainingRun create(RunConfig cfg, Corpus corpus, Path dir, List<TrainingListener> listeners, BooleanSupplier stop) {
        return claiming(existing(dir), claimed -> {
            corpus.requireInput(cfg.model());
            return new TrainingRun(cfg, corpus, dir, claimed, true, Trainer.Start.FRESH, listeners, stop);
        });
    }

    /**
     * The run directory, locked; a new run's is created here if need be and gets its effective config.yaml the first
     * time it is asked for.
     */
    public RunDirectory directory() {
        if (!started) {
            if (dir == null) dir = RunDirectory.create(dirPath);
            if (newRun) dir.writeText(RunDirectory.CONFIG, ConfigLoader.toYaml(config));
            started = true;
        }
        return dir;
    }

    /** Releases the run directory's lock (if it was taken). */
    @Override
    public void close() {
        if (dir != null) dir.close();
    }

    /** Trains into {@link #directory()}: the run directory's writers first (checkpoint, samples, metrics), then the listeners given. */
    public Trainer.Result run() {
        RunDirectory d = directory();
        List<TrainingListener> all = new ArrayList<>();
        all.add(new CheckpointWriter(d, vocabulary, config, provenance));
        all.add(new SampleWriter(d));
        all.add(new MetricsWriter(d, w -> all.forEach(l -> l.onWarning(w))));
        all.addAll(listeners);
        Trainer.Result r = trainer.run(d, start, all);
        // a new run stopped before its first step has nothing to keep: without its config.yaml the directory takes a new run
        if (newRun && r.iterations() == 0 && !Files.exists(d.latest())) d.delete(RunDirectory.CONFIG);
        return r;
    }
}
