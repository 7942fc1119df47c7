package textgen.config;

import java.util.LinkedHashMap;
import java.util.Map;

/** The validated configuration of one run. Built only by {@link ConfigLoader}, so every value is in range. */
public record RunConfig(CorpusConfig corpus, ModelConfig model, TrainingConfig training) {

    public enum Tokenizer { CHAR, WORD }

    public record CorpusConfig(String path, double validationFraction, String validationPath, Tokenizer tokenizer, boolean lowercase,
                               int maxVocabulary, int minCount) {
        /** A character-level corpus. */
        public CorpusConfig(String path, double validationFraction, String validationPath) {
            this(path, validationFraction, validationPath, Tokenizer.CHAR, false, 0, 1);
        }
    }

    public enum Cell { LSTM, SIMPLE }

    public record ModelConfig(boolean embedding, int embeddingSize, Cell cell, String activation, int layers, int hiddenSize, double dropout) {
        /** The recurrent stack as a person would name it: "2 x LSTM(256)", "2 x SimpleRnn(256, relu)". */
        public String describe() {
            return (embedding ? "Embedding(" + embeddingSize + ") -> " : "")
                    + layers + " x " + (cell == Cell.LSTM ? "LSTM(" + hiddenSize + ")" : "SimpleRnn(" + hiddenSize + ", " + activation + ")");
        }
    }

    public enum Sampling { CONSECUTIVE, RANDOM }

    public enum LrSchedule { STEP, COSINE }

    public record TrainingConfig(int batchSize, int tbpttLength, Sampling sampling, double stateResetProbability, double learningRate,
                                 LrSchedule lrSchedule, double lrDecay,
                                 int lrDecayAfter, double gradientClip, int maxEpochs, long maxIterations, double maxMinutes,
                                 int evalEvery, int sampleLength, double sampleTemperature, int keepLast,
                                 double checkpointMinutes, double divergenceFactor, double divergenceLrCut, int maxRollbacks,
                                 long seed, int devices) {
    }

    static RunConfig fromValues(Map<String, Object> v) {
        return new RunConfig(
                new CorpusConfig((String) v.get("corpus.path"), (Double) v.get("corpus.validationFraction"),
                        (String) v.get("corpus.validationPath"), Tokenizer.valueOf(((String) v.get("corpus.tokenizer")).toUpperCase()),
                        (Boolean) v.get("corpus.lowercase"), (Integer) v.get("corpus.maxVocabulary"), (Integer) v.get("corpus.minCount")),
                new ModelConfig("embedding".equals(v.get("model.input")), (Integer) v.get("model.embeddingSize"), Cell.valueOf(((String) v.get("model.cell")).toUpperCase()), (String) v.get("model.activation"),
                        (Integer) v.get("model.layers"), (Integer) v.get("model.hiddenSize"), (Double) v.get("model.dropout")),
                new TrainingConfig((Integer) v.get("training.batchSize"), (Integer) v.get("training.tbpttLength"),
                        Sampling.valueOf(((String) v.get("training.sampling")).toUpperCase()),
                        (Double) v.get("training.stateResetProbability"),
                        (Double) v.get("training.learningRate"),
                        LrSchedule.valueOf(((String) v.get("training.lrSchedule")).toUpperCase()), (Double) v.get("training.lrDecay"),
                        (Integer) v.get("training.lrDecayAfter"), (Double) v.get("training.gradientClip"),
                        (Integer) v.get("training.maxEpochs"), (Long) v.get("training.maxIterations"),
                        (Double) v.get("training.maxMinutes"), (Integer) v.get("training.evalEvery"),
                        (Integer) v.get("training.sampleLength"), (Double) v.get("training.sampleTemperature"),
                        (Integer) v.get("training.keepLast"), (Double) v.get("training.checkpointMinutes"),
                        (Double) v.get("training.divergenceFactor"), (Double) v.get("training.divergenceLrCut"),
                        (Integer) v.get("training.maxRollbacks"), (Long) v.get("training.seed"), (Integer) v.get("training.devices")));
    }

    /** Flat key -> value view, in schema order: the inverse of {@link #fromValues}, used to write the effective config. */
    public Map<String, Object> toValues() {
        Map<String, Object> v = new LinkedHashMap<>();
        v.put("corpus.path", corpus.path);
        v.put("corpus.validationFraction", corpus.validationFraction);
        v.put("corpus.validationPath", corpus.validationPath);
        v.put("corpus.tokenizer", corpus.tokenizer.name().toLowerCase());
        v.put("corpus.lowercase", corpus.lowercase);
        v.put("corpus.maxVocabulary", corpus.maxVocabulary);
        v.put("corpus.minCount", corpus.minCount);
        v.put("model.input", model.embedding ? "embedding" : "onehot");
        v.put("model.embeddingSize", model.embeddingSize);
        v.put("model.cell", model.cell.name().toLowerCase());
        v.put("model.activation", model.activation);
        v.put("model.layers", model.layers);
        v.put("model.hiddenSize", model.hiddenSize);
        v.put("model.dropout", model.dropout);
        TrainingConfig t = training;
        v.put("training.batchSize", t.batchSize);
        v.put("training.tbpttLength", t.tbpttLength);
        v.put("training.sampling", t.sampling.name().toLowerCase());
        v.put("training.stateResetProbability", t.stateResetProbability);
        v.put("training.learningRate", t.learningRate);
        v.put("training.lrSchedule", t.lrSchedule.name().toLowerCase());
        v.put("training.lrDecay", t.lrDecay);
        v.put("training.lrDecayAfter", t.lrDecayAfter);
        v.put("training.gradientClip", t.gradientClip);
        v.put("training.maxEpochs", t.maxEpochs);
        v.put("training.maxIterations", t.maxIterations);
        v.put("training.maxMinutes", t.maxMinutes);
        v.put("training.evalEvery", t.evalEvery);
        v.put("training.sampleLength", t.sampleLength);
        v.put("training.sampleTemperature", t.sampleTemperature);
        v.put("training.keepLast", t.keepLast);
        v.put("training.checkpointMinutes", t.checkpointMinutes);
        v.put("training.divergenceFactor", t.divergenceFactor);
        v.put("training.divergenceLrCut", t.divergenceLrCut);
        v.put("training.maxRollbacks", t.maxRollbacks);
        v.put("training.seed", t.seed);
        v.put("training.devices", t.devices);
        return v;
    }
}
