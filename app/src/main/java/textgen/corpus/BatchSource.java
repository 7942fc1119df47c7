package textgen.corpus;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import textgen.TextgenException;
import textgen.config.RunConfig.Sampling;
import textgen.tensor.TokenIds;
import textgen.tensor.TokenTensors;

import java.util.SplittableRandom;

/**
 * Cuts token ids into minibatches of one-hot features and next-token labels, shape [batch, vocab, time].
 * <ul>
 * <li>{@code CONSECUTIVE}: the text is cut into {@code batchSize} equal streams; minibatch k holds steps
 * [k*T, (k+1)*T) of every stream, so row b of minibatch k+1 continues row b of minibatch k (the trainer carries
 * the hidden state across them).</li>
 * <li>{@code RANDOM}: every row is a window at a random position, drawn from a generator seeded by (seed, epoch,
 * batch), so any position in the run can be reproduced.</li>
 * </ul>
 * Positions are {@code long}: the ids may be a memory-mapped corpus of any length. Each row's window is copied into an
 * {@code int[]} once per minibatch and the tensors are filled from those.
 */
public final class BatchSource {
    private final TokenIds ids;
    private final int vocabSize;
    private final int batchSize;
    private final int length;
    private final Sampling sampling;
    private final long seed;
    private final long streamLength;
    private final int batchesPerEpoch;
    private final boolean indexInput;

    public BatchSource(int[] ids, int vocabSize, int batchSize, int length, Sampling sampling, long seed) {
        this(TokenIds.of(ids), vocabSize, batchSize, length, sampling, seed, false);
    }

    public BatchSource(int[] ids, int vocabSize, int batchSize, int length, Sampling sampling, long seed, boolean indexInput) {
        this(TokenIds.of(ids), vocabSize, batchSize, length, sampling, seed, indexInput);
    }

    /** {@code indexInput}: features are token ids [batch, 1, time] (for an embedding layer), not one-hot vectors. */
    public BatchSource(TokenIds ids, int vocabSize, int batchSize, int length, Sampling sampling, long seed, boolean indexInput) {
        this.indexInput = indexInput;
        this.ids = ids;
        this.vocabSize = vocabSize;
        this.batchSize = batchSize;
        this.length = length;
        this.sampling = sampling;
        this.seed = seed;
        long needed = (long) batchSize * length + 1;
        long size = ids.size();
        if (size < needed) {
            throw TextgenException.usage("training text has " + size + " tokens, fewer than one minibatch needs: "
                    + "training.batchSize (" + batchSize + ") x training.tbpttLength (" + length + ") + 1 = " + needed
                    + "; lower them or use a longer corpus");
        }
        this.streamLength = (size - 1) / batchSize;
        long batches = sampling == Sampling.CONSECUTIVE ? streamLength / length : (size - 1) / ((long) batchSize * length);
        this.batchesPerEpoch = (int) Math.min(Integer.MAX_VALUE, batches);
    }

    public int batchesPerEpoch() {
        return batchesPerEpoch;
    }

    /** Characters (predicted tokens) in one minibatch. */
    public long tokensPerBatch() {
        return (long) batchSize * length;
    }

    /** Minibatch {@code k} (0-based) of epoch {@code epoch} (0-based). */
    public DataSet batch(int epoch, int k) {
        return rows(starts(epoch, k));
    }

    /**
     * Minibatch {@code k} of epoch {@code epoch} cut into {@code n} shards of batchSize / n rows: shard i holds rows
     * [i*batchSize/n, (i+1)*batchSize/n) of {@link #batch}, so in consecutive mode it always continues the same streams
     * (data-parallel training gives shard i to device i, which carries those streams' state).
     */
    public DataSet[] shards(int epoch, int k, int n) {
        DataSet[] out = new DataSet[n];
        for (int i = 0; i < n; i++) out[i] = shard(epoch, k, n, i);
        return out;
    }

    /** Shard {@code i} of {@link #shards}: reads only its own rows' tokens (a cluster worker's part of the corpus). */
    public DataSet shard(int epoch, int k, int n, int i) {
        if (n < 1 || batchSize % n != 0) throw new IllegalArgumentException(batchSize + " rows do not split into " + n + " shards");
        if (i < 0 || i >= n) throw new IndexOutOfBoundsException("shard " + i + " of " + n);
        int rows = batchSize / n;
        return rows(java.util.Arrays.copyOfRange(starts(epoch, k), i * rows, (i + 1) * rows));
    }

    /** Where each row of minibatch k starts in the text. */
    private long[] starts(int epoch, int k) {
        if (k < 0 || k >= batchesPerEpoch) throw new IndexOutOfBoundsException("batch " + k + " of " + batchesPerEpoch);
        long[] starts = new long[batchSize];
        if (sampling == Sampling.CONSECUTIVE) {
            for (int b = 0; b < batchSize; b++) starts[b] = b * streamLength + (long) k * length;
        } else {
            SplittableRandom rng = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + epoch * 1_000_003L + k);
            long bound = ids.size() - length;
            // nextInt below 2^31 keeps the windows of runs (and checkpoints) made before positions became long
            for (int b = 0; b < batchSize; b++) starts[b] = bound <= Integer.MAX_VALUE ? rng.nextInt((int) bound) : rng.nextLong(bound);
        }
        return starts;
    }

    /** Features (one-hot, or ids for an embedding layer) and next-token labels (one-hot) for rows starting at {@code starts}. */
    private DataSet rows(long[] starts) {
        int[][] rows = TokenTensors.windows(ids, starts, 0, length + 1, null);
        INDArray features = indexInput ? TokenTensors.ids(rows, new int[rows.length], length) : TokenTensors.oneHot(rows, 0, length, vocabSize);
        return new DataSet(features, TokenTensors.oneHot(rows, 1, length, vocabSize));
    }
}
