package textgen.generate;

/**
 * How the next token is drawn from the model's distribution.
 *
 * @param temperature divides the log-probabilities (lower = more conservative); must be > 0
 * @param topK        keep only the k most likely tokens (0 = all)
 * @param topP        keep the smallest set of most likely tokens whose probability reaches p (1 = all)
 * @param greedy      always take the most likely token (ignores the rest)
 */
public record SamplingOptions(double temperature, int topK, double topP, boolean greedy) {
    public static SamplingOptions withTemperature(double t) {
        return new SamplingOptions(t, 0, 1.0, false);
    }
}
