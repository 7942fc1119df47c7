package textgen.eval;

import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import textgen.model.Predictor;
import textgen.tensor.TokenIds;
import textgen.tensor.TokenTensors;

/**
 * Streaming cross-entropy of a text under a network. The text is cut into {@code streams} parallel streams (1 for
 * exact whole-file scoring) that are fed in chunks through a {@link Predictor}, so the hidden state carries through
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
    /**
     * What one chunk of all streams may hold in the predictor's buffers, in floats (32 MB): at 64 streams of a 2 x 512
     * LSTM a 512-step chunk held about 400 MB, the peak of a training run's memory.
     */
    private static final long CHUNK_FLOATS = 8L << 20;

    private Evaluator() {
    }

    /**
     * Scores {@code ids}: every token after the first of each stream is predicted from all tokens before it in its
     * stream. Leaves the network's {@code rnnTimeStep} state cleared (or untouched).
     */
    public static Score score(MultiLayerNetwork net, int[] ids, int vocabSize, int streams, int chunk) {
        return score(net, TokenIds.of(ids), vocabSize, streams, chunk);
    }

    /** As {@link #score(MultiLayerNetwork, int[], int, int, int)}, reading each chunk's window of {@code ids} as it goes. */
    public static Score score(MultiLayerNetwork net, TokenIds ids, int vocabSize, int streams, int chunk) {
        long size = ids.size();
        if (size < 2) throw new IllegalArgumentException("need at least 2 tokens to score");
        streams = (int) Math.max(1, Math.min(streams, (size - 1) / 2));
        long streamLength = size / streams; // tokens per stream, including the first (unpredicted) one
        Predictor predictor = Predictor.of(net);
        chunk = chunkSize(streams, chunk, predictor.rowFloats());
        long[] starts = new long[streams];
        int[][] rows = null;
        double total = 0;
        predictor.reset();
        try {
            for (long pos = 0; pos < streamLength - 1; pos += chunk) {
                int n = (int) Math.min(chunk, streamLength - 1 - pos);
                for (int s = 0; s < streams; s++) starts[s] = s * streamLength + pos;
                rows = TokenTensors.windows(ids, starts, 0, n + 1, rows); // this chunk's inputs and the token after them
                float[] p = predictor.feedReusing(rows, 0, n); // [streams, n, vocab], overwritten by the next call
                for (int s = 0; s < streams; s++) {
                    for (int t = 0; t < n; t++) {
                        total -= Math.log(Math.max(p[(s * n + t) * vocabSize + rows[s][t + 1]], MIN_PROB));
                    }
                }
            }
        } finally {
            predictor.reset();
        }
        return new Score(total, (long) streams * (streamLength - 1));
    }

    /** {@code chunk}, cut so that one chunk of all streams stays within {@link #CHUNK_FLOATS} (and at least 1). */
    static int chunkSize(int streams, int chunk, long rowFloats) {
        return (int) Math.max(1, Math.min(chunk, CHUNK_FLOATS / ((long) streams * rowFloats)));
    }
}
