package textgen.eval;

import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.ndarray.INDArray;
import textgen.corpus.BatchSource;

/**
 * Streaming cross-entropy of a text under a network. The text is cut into {@code streams} parallel streams (1 for
 * exact whole-file scoring) that are fed in chunks through {@code rnnTimeStep}, so the hidden state carries through
 * each whole stream while memory stays bounded by the chunk size.
 */
public final class Evaluator {
    /** Result: total negative log-likelihood (nats) over {@code tokens} predicted tokens. */
    public record Score(double totalNats, long tokens) {
        public double nats() {
            return totalNats / tokens;
        }

        public double bits() {
            return nats() / Math.log(2);
        }

        public double perplexity() {
            return Math.exp(nats());
        }
    }

    private static final double MIN_PROB = 1e-30;

    private Evaluator() {
    }

    /**
     * Scores {@code ids}: every token after the first of each stream is predicted from all tokens before it in its
     * stream. Clears the network's {@code rnnTimeStep} state before and after.
     */
    public static Score score(MultiLayerNetwork net, int[] ids, int vocabSize, int streams, int chunk) {
        if (ids.length < 2) throw new IllegalArgumentException("need at least 2 tokens to score");
        streams = Math.max(1, Math.min(streams, (ids.length - 1) / 2));
        int streamLength = ids.length / streams; // tokens per stream, including the first (unpredicted) one
        int[][] rows = new int[streams][];
        for (int s = 0; s < streams; s++) {
            rows[s] = java.util.Arrays.copyOfRange(ids, s * streamLength, (s + 1) * streamLength);
        }
        double total = 0;
        net.rnnClearPreviousState();
        try {
            for (int pos = 0; pos < streamLength - 1; pos += chunk) {
                int n = Math.min(chunk, streamLength - 1 - pos);
                INDArray out = net.rnnTimeStep(BatchSource.oneHotRows(rows, pos, n, vocabSize));
                float[] p = out.dup('c').data().asFloat(); // [streams, vocab, n]
                for (int s = 0; s < streams; s++) {
                    int base = s * vocabSize * n;
                    for (int t = 0; t < n; t++) {
                        total -= Math.log(Math.max(p[base + rows[s][pos + t + 1] * n + t], MIN_PROB));
                    }
                }
            }
        } finally {
            net.rnnClearPreviousState();
        }
        return new Score(total, (long) streams * (streamLength - 1));
    }
}
