package textgen.config;

import java.util.List;
import java.util.Map;

/**
 * The validated configuration of one run: three sections of keys, each key declared once by its {@link Key}
 * annotation. Built only by {@link ConfigLoader} (or {@link #with}, which validates the same way), so every value is in
 * range.
 */
public record RunConfig(CorpusConfig corpus, ModelConfig model, TrainingConfig training) {

    public enum Tokenizer { CHAR, WORD }

    public record CorpusConfig(
            @Key(def = "", path = true, doc = "training text, UTF-8: a file, a folder (every file below it, hidden ones skipped, in byte "
                    + "order of their relative paths) or a glob such as data/**/*.txt; .gz files are read through gzip; files are joined "
                    + "by a line break; the vocabulary is its Unicode code points (or its words); relative paths in a config file are "
                    + "relative to that file")
            String path,
            @Key(def = "0.1", min = 0, minExclusive = true, max = 0.5,
                    doc = "last fraction of the corpus held out for validation (ignored when corpus.validationPath is set)")
            double validationFraction,
            @Key(def = "", path = true, doc = "separate validation text (a file, folder or glob, as corpus.path) instead of the fraction "
                    + "(characters must occur in the corpus; words it lacks read as <unk>)")
            String validationPath,
            @Key(inherited = true, def = "char", doc = "char: one token per Unicode character; word: words, punctuation marks and line breaks (see README, "
                    + "Word level), with <unk>")
            Tokenizer tokenizer,
            @Key(inherited = true, def = "false", doc = "word tokenizer: lowercase words before counting and encoding")
            boolean lowercase,
            @Key(inherited = true, def = "0", min = 0, max = 10_000_000,
                    doc = "word tokenizer: keep at most this many tokens, <unk> included, the most frequent first (0 = no cap)")
            int maxVocabulary,
            @Key(inherited = true, def = "1", min = 1, max = 1_000_000_000,
                    doc = "word tokenizer: keep only words occurring at least this many times; the others read as <unk>")
            int minCount) {
    }

    public enum Input { ONEHOT, EMBEDDING }

    /** The recurrent cell of every layer: what it is called and whether model.activation applies to it. */
    public enum Cell {
        LSTM("LSTM", false),
        /** PyTorch's nn.GRU (Keras's reset_after=True): textgen's own layer, textgen.model.GRU. */
        GRU("GRU", false),
        SIMPLE("SimpleRnn", true);

        private final String layerName;
        private final boolean takesActivation;

        Cell(String layerName, boolean takesActivation) {
            this.layerName = layerName;
            this.takesActivation = takesActivation;
        }

        /** Whether model.activation chooses this cell's activation (the gated cells use tanh). */
        public boolean takesActivation() {
            return takesActivation;
        }

        /** One layer as a person would name it: "LSTM(256)", "GRU(256)", "SimpleRnn(256, relu)". */
        public String describe(int hiddenSize, String activation) {
            return layerName + "(" + hiddenSize + (takesActivation ? ", " + activation : "") + ")";
        }
    }

    public record ModelConfig(
            @Key(inherited = true, def = "onehot", doc = "how tokens enter the network: onehot vectors, or embedding: a learned lookup table of "
                    + "model.embeddingSize per token (DL4J's EmbeddingSequenceLayer, no bias, as Keras's Embedding)")
            Input input,
            @Key(inherited = true, def = "64", min = 1, max = 8192, doc = "embedding input: vector size per token")
            int embeddingSize,
            @Key(inherited = true, def = "lstm", doc = "recurrent cell: lstm (DL4J's LSTM); gru (PyTorch's nn.GRU, Keras's reset_after=True: "
                    + "reset, update and new gates, two bias vectors, 3 (I H + H H + 2 H) parameters per layer; textgen's own layer); "
                    + "or simple (a plain RNN, DL4J's SimpleRnn: h = act(W x + R h' + b))")
            Cell cell,
            @Key(inherited = true, def = "tanh", choices = {"tanh", "relu"}, doc = "activation of the simple cell: tanh (recurrent weights start "
                    + "Xavier-random), or relu with the recurrent weights starting at the identity (Le et al.'s IRNN; it wants "
                    + "training.sampling: random); LSTM and GRU cells use tanh")
            String activation,
            @Key(inherited = true, def = "2", min = 1, max = 16, doc = "number of stacked recurrent layers")
            int layers,
            @Key(inherited = true, def = "256", min = 1, max = 8192, doc = "units per recurrent layer")
            int hiddenSize,
            @Key(def = "0.0", min = 0, max = 0.9, doc = "dropout probability between layers, char-rnn's placement (0 = off)")
            double dropout,
            @Key(def = "0.0", min = 0, max = 1, maxExclusive = true, doc = "recurrent dropout as weight drop (AWD-LSTM's DropConnect): "
                    + "the probability of zeroing each element of every recurrent layer's recurrent weight matrix, one mask per "
                    + "training step and layer, kept elements scaled by 1/(1-p); training only (0 = off)")
            double recurrentDropout) {
        /** Tokens enter through a learned embedding (token ids), not as one-hot vectors. */
        public boolean embedding() {
            return input == Input.EMBEDDING;
        }

        /** The recurrent stack as a person would name it: "2 x LSTM(256)", "2 x GRU(256)", "2 x SimpleRnn(256, relu)". */
        public String describe() {
            return (embedding() ? "Embedding(" + embeddingSize + ") -> " : "") + layers + " x " + cell.describe(hiddenSize, activation);
        }
    }

    public enum Sampling { CONSECUTIVE, RANDOM }

    public enum LrSchedule { STEP, COSINE }

    public record TrainingConfig(
            @Key(def = "32", min = 1, max = 4096, doc = "parallel sequences per minibatch")
            int batchSize,
            @Key(def = "64", min = 1, max = 10000, doc = "truncated-BPTT length: time steps per minibatch")
            int tbpttLength,
            @Key(def = "consecutive", doc = "consecutive: the text cut into batchSize streams, hidden state carried from minibatch to "
                    + "minibatch (char-rnn, torch-rnn); random: random windows, fresh state")
            Sampling sampling,
            @Key(def = "0.02", min = 0, max = 1, doc = "consecutive sampling: chance per stream and minibatch that its carried state "
                    + "restarts from zero (0 = only at epoch starts, as char-rnn)")
            double stateResetProbability,
            @Key(def = "0.002", min = 0, minExclusive = true, max = 10, doc = "Adam learning rate")
            double learningRate,
            @Key(def = "step", doc = "step: training.lrDecay every epoch past training.lrDecayAfter; cosine: from learningRate down "
                    + "to 0 over the run, ending where the first of maxIterations, maxEpochs, maxMinutes ends it")
            LrSchedule lrSchedule,
            @Key(def = "1.0", min = 0, minExclusive = true, max = 1,
                    doc = "step schedule: multiply the learning rate by this after every epoch past training.lrDecayAfter")
            double lrDecay,
            @Key(def = "0", min = 0, max = 1_000_000, doc = "step schedule: epochs before training.lrDecay starts")
            int lrDecayAfter,
            @Key(def = "5.0", min = 0, max = 1e6, doc = "clip each gradient element to [-c, c], as char-rnn's grad_clip (0 = off)")
            double gradientClip,
            @Key(def = "50", min = 1, max = 1_000_000, resumable = true, doc = "stop after this many passes over the training text")
            int maxEpochs,
            @Key(def = "0", min = 0, max = Long.MAX_VALUE, resumable = true, doc = "stop after this many minibatches (0 = no limit)")
            long maxIterations,
            @Key(def = "0.0", min = 0, max = 1e7, resumable = true, doc = "stop after this many minutes of training (0 = no limit)")
            double maxMinutes,
            @Key(def = "500", min = 1, max = 100_000_000, resumable = true,
                    doc = "iterations between validation, sample and checkpoint")
            int evalEvery,
            @Key(def = "200", min = 0, max = 100_000, resumable = true,
                    doc = "characters of sample shown at each evaluation (0 = none)")
            int sampleLength,
            @Key(def = "0.8", min = 0, minExclusive = true, max = 100, resumable = true,
                    doc = "temperature of the samples shown during training")
            double sampleTemperature,
            @Key(def = "3", min = 1, max = 100_000, resumable = true,
                    doc = "checkpoints kept besides the best (named iter-<iteration>-val<loss>.zip, listed in checkpoints.json)")
            int keepLast,
            @Key(def = "0.0", min = 0, max = 1e7, resumable = true,
                    doc = "also write a checkpoint after this many minutes without one, between evaluations (0 = off)")
            double checkpointMinutes,
            @Key(def = "4.0", min = 0, max = 1e6, doc = "divergence: NaN/Inf loss, or the short running mean of the loss (about 5 "
                    + "iterations) above this many times, and at least 1 nat above, the lowest long running mean so far (0 = NaN/Inf only)")
            double divergenceFactor,
            @Key(def = "0.5", min = 0, minExclusive = true, max = 1,
                    doc = "on divergence: roll back to the last checkpoint and multiply the learning rate by this")
            double divergenceLrCut,
            @Key(def = "3", min = 0, max = 1000, resumable = true, doc = "divergences tolerated before training stops with exit code 1")
            int maxRollbacks,
            @Key(def = "42", min = Long.MIN_VALUE, max = Long.MAX_VALUE, doc = "seed for weights, data order, dropout and weight-drop masks, and samples")
            long seed,
            @Key(def = "1", min = 1, max = 256, resumable = true,
                    doc = "train data-parallel on this many devices (DL4J's ParallelWrapper): each takes batchSize/devices of every "
                            + "minibatch's rows (streams), parameters and Adam state are averaged after every step; GPUs on CUDA, "
                            + "worker threads on the CPU; batchSize must be a multiple")
            int devices,
            @Key(name = "spark.master", def = "", resumable = true,
                    doc = "train data-parallel on this Apache Spark cluster (local[N], spark://host:port, yarn, k8s://...; --spark sets it; "
                            + "none: this machine); README, Across machines")
            String sparkMaster,
            @Key(name = "spark.workers", def = "2", min = 1, max = 4096, resumable = true,
                    doc = "Spark: training tasks per round, each owning batchSize/workers of the streams; batchSize must be a multiple")
            int sparkWorkers,
            @Key(name = "spark.localSteps", def = "4", min = 1, max = 1_000_000, resumable = true,
                    doc = "Spark: optimizer steps each worker takes between two averagings of the parameters and Adam state (DL4J's averaging frequency)")
            int sparkLocalSteps,
            @Key(name = "spark.corpusDir", def = "", resumable = true,
                    doc = "Spark: a directory every worker can read (hdfs://..., s3a://..., file:// on a shared filesystem) to copy the encoded "
                            + "corpus to (once; workers read their own byte ranges of it); none: the corpus cache of this machine")
            String sparkCorpusDir,
            @Key(name = "spark.shipJars", def = "true", resumable = true,
                    doc = "Spark: send textgen.jar and its libraries to the executors (spark.jars); false when the cluster's "
                            + "class path already has them")
            boolean sparkShipJars,
            @Key(name = "spark.executorTimeoutSeconds", def = "120", min = 1, max = 86_400, resumable = true,
                    doc = "Spark: how long a round waits without any executor (none registered yet, or all lost) before the run stops")
            int sparkExecutorTimeoutSeconds) {

        /** Whether the run trains on a Spark cluster. */
        public boolean spark() {
            return sparkMaster != null && !sparkMaster.isBlank();
        }
    }

    /** Every key at its default. */
    public static RunConfig defaults() {
        return ConfigLoader.override(null, List.of());
    }

    /**
     * This config with {@code key} set to {@code value} (written as in a config file, or any object whose string form
     * is), validated like a config file: for tests and code that build configs by name, e.g.
     * {@code RunConfig.defaults().with("model.hiddenSize", 64)}.
     */
    public RunConfig with(String key, Object value) {
        return ConfigLoader.override(this, List.of(key + "=" + (value instanceof Enum<?> e ? e.name().toLowerCase() : value)));
    }

    /** Flat key -> value view (enums as their config names), in schema order: what the effective config YAML holds. */
    public Map<String, Object> toValues() {
        return ConfigSchema.values(this);
    }
}
