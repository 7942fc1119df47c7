package textgen.corpus;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import textgen.TextgenException;
import textgen.config.RunConfig.Sampling;

import java.nio.FloatBuffer;
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
 */
public final class BatchSource {
    private final int[] ids;
    private final int vocabSize;
    private final int batchSize;
    private final int length;
    private final Sampling sampling;
    private final long seed;
    private final int streamLength;
    private final int batchesPerEpoch;
    private final boolean indexInput;

    public BatchSource(int[] ids, int vocabSize, int batchSize, int length, Sampling sampling, long seed) {
        this(ids, vocabSize, batchSize, length, sampling, seed, false);
    }

    /** {@code indexInput}: features are token ids [batch, 1, time] (for an embedding layer), not one-hot vectors. */
    public BatchSource(int[] ids, int vocabSize, int batchSize, int length, Sampling sampling, long seed, boolean indexInput) {
        this.indexInput = indexInput;
        this.ids = ids;
        this.vocabSize = vocabSize;
        this.batchSize = batchSize;
        this.length = length;
        this.sampling = sampling;
        this.seed = seed;
        long needed = (long) batchSize * length + 1;
        if (ids.length < needed) {
            throw TextgenException.usage("training text has " + ids.length + " tokens, fewer than one minibatch needs: "
                    + "training.batchSize (" + batchSize + ") x training.tbpttLength (" + length + ") + 1 = " + needed
                    + "; lower them or use a longer corpus");
        }
        this.streamLength = (ids.length - 1) / batchSize;
        this.batchesPerEpoch = sampling == Sampling.CONSECUTIVE ? streamLength / length : (ids.length - 1) / (batchSize * length);
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
        if (n < 1 || batchSize % n != 0) throw new IllegalArgumentException(batchSize + " rows do not split into " + n + " shards");
        int[] starts = starts(epoch, k);
        int rows = batchSize / n;
        DataSet[] out = new DataSet[n];
        for (int i = 0; i < n; i++) out[i] = rows(java.util.Arrays.copyOfRange(starts, i * rows, (i + 1) * rows));
        return out;
    }

    /** Where each row of minibatch k starts in the text. */
    private int[] starts(int epoch, int k) {
        if (k < 0 || k >= batchesPerEpoch) throw new IndexOutOfBoundsException("batch " + k + " of " + batchesPerEpoch);
        int[] starts = new int[batchSize];
        if (sampling == Sampling.CONSECUTIVE) {
            for (int b = 0; b < batchSize; b++) starts[b] = b * streamLength + k * length;
        } else {
            SplittableRandom rng = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + epoch * 1_000_003L + k);
            for (int b = 0; b < batchSize; b++) starts[b] = rng.nextInt(ids.length - length);
        }
        return starts;
    }

    private DataSet rows(int[] starts) {
        if (!indexInput) return oneHot(ids, starts, length, vocabSize);
        int[][] rows = new int[starts.length][];
        java.util.Arrays.fill(rows, ids);
        return new DataSet(indexRows(rows, starts, length), nextTokens(ids, starts, length, vocabSize));
    }

    /** Token ids as features for an embedding layer: row r holds ids[r][starts[r] .. starts[r]+n), shape [rows, 1, n]. */
    public static INDArray indexRows(int[][] ids, int[] starts, int n) {
        float[] x = new float[ids.length * n];
        for (int r = 0; r < ids.length; r++) {
            for (int t = 0; t < n; t++) x[r * n + t] = ids[r][starts[r] + t];
        }
        return detached(x, ids.length, 1, n);
    }

    /**
     * Features and labels for rows starting at {@code starts}, built in bulk (no per-element ND4J calls). Both are
     * [rows, vocab, length] arrays laid out time-major in memory ([length, rows, vocab] row-major, permuted), the
     * layout the LSTM layers read without a transpose.
     */
    public static DataSet oneHot(int[] ids, int[] starts, int length, int vocabSize) {
        int rows = starts.length;
        float[] x = new float[rows * vocabSize * length];
        for (int t = 0; t < length; t++) {
            for (int b = 0; b < rows; b++) x[(t * rows + b) * vocabSize + ids[starts[b] + t]] = 1f;
        }
        return new DataSet(timeMajor(x, rows, vocabSize, length), nextTokens(ids, starts, length, vocabSize));
    }

    /** Labels: the token after each input position, one-hot, laid out like {@link #oneHot}'s arrays. */
    private static INDArray nextTokens(int[] ids, int[] starts, int length, int vocabSize) {
        int rows = starts.length;
        float[] y = new float[rows * vocabSize * length];
        for (int t = 0; t < length; t++) {
            for (int b = 0; b < rows; b++) y[(t * rows + b) * vocabSize + ids[starts[b] + t + 1]] = 1f;
        }
        return timeMajor(y, rows, vocabSize, length);
    }

    /** One-hot input for a single row of ids, shape [1, vocab, n]. */
    public static INDArray oneHotInput(int[] ids, int from, int n, int vocabSize) {
        return oneHotRows(new int[][]{ids}, from, n, vocabSize);
    }

    /** One-hot input for several rows, row r taking ids[r][from .. from+n), shape [rows, vocab, n] (time-major in memory). */
    public static INDArray oneHotRows(int[][] ids, int from, int n, int vocabSize) {
        int rows = ids.length;
        float[] x = new float[rows * vocabSize * n];
        for (int t = 0; t < n; t++) {
            for (int r = 0; r < rows; r++) x[(t * rows + r) * vocabSize + ids[r][from + t]] = 1f;
        }
        return timeMajor(x, rows, vocabSize, n);
    }

    /** [rows, vocab, n] over time-major data [n, rows, vocab]. */
    private static INDArray timeMajor(float[] data, int rows, int vocabSize, int n) {
        return detached(data, n, rows, vocabSize).permute(1, 2, 0);
    }

    /** A row-major array of {@code shape} holding {@code data}, copied in bulk, outside any workspace. */
    private static INDArray detached(float[] data, long... shape) {
        try (MemoryWorkspace ignored = Nd4j.getMemoryManager().scopeOutOfWorkspaces()) {
            INDArray a = Nd4j.createUninitialized(DataType.FLOAT, shape, 'c');
            FloatBuffer fb = a.data().asNioFloat();
            fb.put(fb.position(), data, 0, data.length);
            // written through host memory: on CUDA the device copy is stale until the allocator is told (no-op on CPU)
            Nd4j.getAffinityManager().tagLocation(a, org.nd4j.linalg.api.concurrency.AffinityManager.Location.HOST);
            return a;
        }
    }
}
