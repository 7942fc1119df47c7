package textgen.model;

import java.nio.FloatBuffer;

/**
 * A recurrent kernel's input when it is one-hot (characters without an embedding): the column of each row's 1. The
 * input products then become lookups: forward puts bias + a column of W (as a row of the lookup table) into each row
 * of the gate pre-activations, bit for bit what the product gives (bias + 1 * w + 0 * ..., one rounding), and the
 * weight gradient sums rows of the gate gradients; the first layer's input gradient, which DL4J drops, can be skipped.
 * For 2 x 128 character models this took about a tenth off a training step (bench/README.md).
 */
final class OneHotInput {
    private final int nIn, width;
    private int[] hot, buf;
    private float[] row, lookup, sums, gRow;
    private boolean lookupFresh;
    /** Treats all input as dense (the products), for tests comparing the two paths. */
    boolean denseOnly;

    /** For input rows of {@code nIn} columns and gate rows of {@code width} (4H for an LSTM, 3H for a GRU). */
    OneHotInput(int nIn, int width) {
        this.nIn = nIn;
        this.width = width;
    }

    /**
     * Whether the first {@code rows} rows of {@code x} ([rows, nIn]) are all one-hot (exactly one 1, zeros
     * elsewhere); stops at the first dense row (a layer's output is dense from its first row on).
     */
    boolean find(FloatBuffer x, int rows) {
        hot = null;
        if (denseOnly) return false;
        int[] cols = buf = buf != null && buf.length >= rows ? buf : new int[rows];
        row = CpuKernels.ensure(row, nIn);
        for (int r = 0; r < rows; r++) {
            x.get(r * nIn, row);
            int col = -1;
            for (int k = 0; k < nIn; k++) {
                float v = row[k];
                if (v == 1f && col < 0) col = k;
                else if (v != 0f) return false;
            }
            if (col < 0) return false;
            cols[r] = col;
        }
        hot = cols;
        return true;
    }

    /** Whether the last {@link #find} found one-hot rows. */
    boolean active() {
        return hot != null;
    }

    /** To be called when the weights or bias change. */
    void parametersChanged() {
        lookupFresh = false;
    }

    /** Rows [r0, r1) of {@code z} [rows, width] = bias + W^T's column of each row's input ({@code wT} [width, nIn]). */
    void project(FloatBuffer z, int r0, int r1, float[] bias, FloatBuffer wT) {
        if (!lookupFresh) {
            lookup = CpuKernels.ensure(lookup, (long) nIn * width);
            for (int k = 0; k < nIn; k++) {
                for (int j = 0; j < width; j++) lookup[k * width + j] = bias[j] + wT.get(j * nIn + k);
            }
            lookupFresh = true;
        }
        for (int r = r0; r < r1; r++) z.put(r * width, lookup, hot[r] * width, width);
    }

    /** dW^T [width, nIn] = dZ^T X for the first {@code rows} rows of {@code dz} [rows, width]: sums of dZ rows per input. */
    void weightGradient(FloatBuffer dz, int rows, FloatBuffer dWT) {
        sums = CpuKernels.ensure(sums, (long) nIn * width);
        gRow = CpuKernels.ensure(gRow, width);
        java.util.Arrays.fill(sums, 0, nIn * width, 0f);
        for (int r = 0; r < rows; r++) {
            dz.get(r * width, gRow, 0, width);
            int o = hot[r] * width;
            for (int j = 0; j < width; j++) sums[o + j] += gRow[j];
        }
        float[] col = new float[nIn];
        for (int j = 0; j < width; j++) {
            for (int k = 0; k < nIn; k++) col[k] = sums[k * width + j];
            dWT.put(j * nIn, col);
        }
    }
}
