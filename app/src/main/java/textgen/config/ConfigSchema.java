package textgen.config;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Every config key textgen knows, in the order the effective config is written. */
public final class ConfigSchema {
    public static final List<ConfigKey> KEYS = List.of(
            ConfigKey.string("corpus.path", null, "training text (UTF-8); relative paths in a config file are relative to that file"),
            ConfigKey.real("corpus.validationFraction", 0.1, 0, true, 0.5,
                    "last fraction of the corpus held out for validation (ignored when corpus.validationPath is set)"),
            ConfigKey.string("corpus.validationPath", null, "separate validation text; overrides corpus.validationFraction"),
            ConfigKey.choice("corpus.tokenizer", "char", List.of("char", "word"),
                    "char: one token per Unicode character; word: words, punctuation marks and line breaks (see README), with <unk>"),
            ConfigKey.bool("corpus.lowercase", false, "word tokenizer: lowercase words before counting and encoding"),
            ConfigKey.integer("corpus.maxVocabulary", 0, 0, 10_000_000,
                    "word tokenizer: keep at most this many tokens, <unk> included, the most frequent first (0 = no cap)"),
            ConfigKey.integer("corpus.minCount", 1, 1, 1_000_000_000,
                    "word tokenizer: keep only words occurring at least this many times; the others read as <unk>"),

            ConfigKey.choice("model.input", "onehot", List.of("onehot", "embedding"),
                    "how tokens enter the network: onehot vectors, or a learned embedding (an EmbeddingSequenceLayer of model.embeddingSize)"),
            ConfigKey.integer("model.embeddingSize", 64, 1, 8192, "embedding input: vector size per token"),
            ConfigKey.choice("model.cell", "lstm", List.of("lstm", "simple"),
                    "recurrent cell: lstm, or simple (a plain RNN, h = act(W x + R h' + b))"),
            ConfigKey.choice("model.activation", "tanh", List.of("tanh", "relu"),
                    "activation of the simple cell; relu starts the recurrent weights at the identity (Le et al.'s IRNN), tanh at Xavier; LSTM cells use tanh"),
            ConfigKey.integer("model.layers", 2, 1, 16, "number of stacked recurrent layers"),
            ConfigKey.integer("model.hiddenSize", 256, 1, 8192, "units per recurrent layer"),
            ConfigKey.real("model.dropout", 0.0, 0, false, 0.9, "dropout probability between layers (0 = off)"),

            ConfigKey.integer("training.batchSize", 32, 1, 4096, "parallel sequences per minibatch"),
            ConfigKey.integer("training.tbpttLength", 64, 1, 10000, "truncated-BPTT length: time steps per minibatch"),
            ConfigKey.choice("training.sampling", "consecutive", List.of("consecutive", "random"),
                    "consecutive: batchSize parallel streams, hidden state carried across minibatches; random: random windows, fresh state"),
            ConfigKey.real("training.stateResetProbability", 0.02, 0, false, 1,
                    "consecutive sampling: chance per stream and minibatch that its carried state restarts from zero (0 = only at epoch starts)"),
            ConfigKey.real("training.learningRate", 2e-3, 0, true, 10, "Adam learning rate"),
            ConfigKey.choice("training.lrSchedule", "step", List.of("step", "cosine"),
                    "step: training.lrDecay every epoch past training.lrDecayAfter; cosine: from learningRate down to 0 over the run, ending where the first of maxIterations, maxEpochs, maxMinutes ends it"),
            ConfigKey.real("training.lrDecay", 1.0, 0, true, 1, "step schedule: multiply the learning rate by this after every epoch past training.lrDecayAfter"),
            ConfigKey.integer("training.lrDecayAfter", 0, 0, 1_000_000, "step schedule: epochs before training.lrDecay starts"),
            ConfigKey.real("training.gradientClip", 5.0, 0, false, 1e6, "clip each gradient element to [-c, c] (0 = off)"),
            ConfigKey.integer("training.maxEpochs", 50, 1, 1_000_000, "stop after this many passes over the training text"),
            ConfigKey.longInt("training.maxIterations", 0, 0, Long.MAX_VALUE, "stop after this many minibatches (0 = no limit)"),
            ConfigKey.real("training.maxMinutes", 0, 0, false, 1e7, "stop after this many minutes of training (0 = no limit)"),
            ConfigKey.integer("training.evalEvery", 500, 1, 100_000_000, "iterations between validation, sample and checkpoint"),
            ConfigKey.integer("training.sampleLength", 200, 0, 100_000, "characters of sample shown at each evaluation (0 = none)"),
            ConfigKey.real("training.sampleTemperature", 0.8, 0, true, 100, "temperature of the samples shown during training"),
            ConfigKey.integer("training.keepLast", 3, 1, 100_000,
                    "checkpoints kept besides the best (named iter-<iteration>-val<loss>.zip, listed in checkpoints.json)"),
            ConfigKey.real("training.checkpointMinutes", 0, 0, false, 1e7,
                    "also write a checkpoint after this many minutes without one, between evaluations (0 = off)"),
            ConfigKey.real("training.divergenceFactor", 4.0, 0, false, 1e6,
                    "a loss above this many times its running mean counts as divergence, like NaN/Inf (0 = NaN/Inf only)"),
            ConfigKey.real("training.divergenceLrCut", 0.5, 0, true, 1,
                    "on divergence: roll back to the last checkpoint and multiply the learning rate by this"),
            ConfigKey.integer("training.maxRollbacks", 3, 0, 1000, "divergences tolerated before training stops with exit code 1"),
            ConfigKey.longInt("training.seed", 42, Long.MIN_VALUE, Long.MAX_VALUE, "seed for weights, data order, dropout and samples"),
            ConfigKey.integer("training.devices", 1, 1, 256,
                    "train data-parallel on this many devices (DL4J's ParallelWrapper): each takes batchSize/devices of every minibatch's rows, "
                            + "parameters and Adam state are averaged after every step; GPUs on CUDA, worker threads on the CPU"));

    private static final Map<String, ConfigKey> BY_NAME = new LinkedHashMap<>();

    static {
        for (ConfigKey k : KEYS) BY_NAME.put(k.name(), k);
    }

    private ConfigSchema() {
    }

    public static ConfigKey get(String name) {
        return BY_NAME.get(name);
    }

    /** Section names ("corpus", "model", "training"), for messages about unknown keys. */
    public static List<String> sections() {
        return KEYS.stream().map(k -> k.name().substring(0, k.name().indexOf('.'))).distinct().toList();
    }

    public static List<String> keysIn(String section) {
        return KEYS.stream().map(ConfigKey::name).filter(n -> n.startsWith(section + ".")).toList();
    }
}
