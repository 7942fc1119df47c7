package textgen.tensor;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Token ids as network input, the one place that lays them out: one-hot vectors ({@code [rows, vocab, n]}) or ids for
 * an embedding layer ({@code [rows, 1, n]}), row r holding n consecutive tokens of its own text. One-hot arrays are
 * time-major in memory ({@code [n, rows, vocab]} row-major, permuted), the layout the LSTM layers read without a
 * transpose; {@link #oneHotRow} writes that layout into a Java array for code that computes on the host. Arrays are
 * built in bulk ({@link HostArrays}), never element by element.
 */
public final class TokenTensors {
    private TokenTensors() {
    }

    /**
     * Writes row {@code row} of {@code rows}, tokens {@code ids[start .. start+n)}, as one-hot vectors into time-major
     * {@code into}: step t's vector starts at {@code (t*rows + row)*vocab}. Those positions must be zero.
     */
    public static void oneHotRow(int[] ids, int start, int n, int row, int rows, int vocab, float[] into) {
        for (int t = 0; t < n; t++) into[(t * rows + row) * vocab + ids[start + t]] = 1f;
    }

    /** One-hot [rows, vocab, n]: row r holds {@code ids[starts[r]+offset ..]} (offset 1: the next tokens, as labels). */
    public static INDArray oneHot(int[] ids, int[] starts, int offset, int n, int vocab) {
        int rows = starts.length;
        float[] x = new float[rows * vocab * n];
        for (int r = 0; r < rows; r++) oneHotRow(ids, starts[r] + offset, n, r, rows, vocab, x);
        return timeMajor(x, rows, vocab, n);
    }

    /** One-hot [rows, vocab, n]: row r holds {@code ids[r][from .. from+n)}. */
    public static INDArray oneHot(int[][] ids, int from, int n, int vocab) {
        int rows = ids.length;
        float[] x = new float[rows * vocab * n];
        for (int r = 0; r < rows; r++) oneHotRow(ids[r], from, n, r, rows, vocab, x);
        return timeMajor(x, rows, vocab, n);
    }

    /**
     * Reads row r, {@code ids[starts[r] + offset .. + n)}, of a long-indexed sequence into {@code rows[r]} (reused when
     * already of length n), so that the tensors below are filled from plain arrays.
     */
    public static int[][] windows(TokenIds ids, long[] starts, int offset, int n, int[][] rows) {
        int[][] out = rows != null && rows.length == starts.length ? rows : new int[starts.length][];
        for (int r = 0; r < starts.length; r++) {
            if (out[r] == null || out[r].length != n) out[r] = new int[n];
            ids.copy(starts[r] + offset, out[r], 0, n);
        }
        return out;
    }

    /** Token ids [rows, 1, n] for an embedding layer: row r holds {@code ids[starts[r] .. starts[r]+n)}. */
    public static INDArray ids(int[] ids, int[] starts, int n) {
        float[] x = new float[starts.length * n];
        for (int r = 0; r < starts.length; r++) idsRow(ids, starts[r], n, r, x);
        return HostArrays.detached(x, starts.length, 1, n);
    }

    /** Token ids [rows, 1, n] for an embedding layer: row r holds {@code ids[r][starts[r] .. starts[r]+n)}. */
    public static INDArray ids(int[][] ids, int[] starts, int n) {
        float[] x = new float[ids.length * n];
        for (int r = 0; r < ids.length; r++) idsRow(ids[r], starts[r], n, r, x);
        return HostArrays.detached(x, ids.length, 1, n);
    }

    private static void idsRow(int[] ids, int start, int n, int row, float[] into) {
        for (int t = 0; t < n; t++) into[row * n + t] = ids[start + t];
    }

    /** [rows, vocab, n] over time-major data [n, rows, vocab]. */
    private static INDArray timeMajor(float[] data, int rows, int vocab, int n) {
        return HostArrays.detached(data, n, rows, vocab).permute(1, 2, 0);
    }
}
