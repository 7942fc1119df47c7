package textgen.tensor;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;

import static org.junit.jupiter.api.Assertions.*;

class TokenTensorsTest {
    private static final int V = 5;
    private static final int[] TEXT = {0, 3, 1, 4, 2, 2, 0, 1};

    /** The one-hot array at (row, token, step) is 1 exactly where row r's step t is that token. */
    private static void assertOneHot(INDArray x, int[][] expectedIds) {
        int rows = expectedIds.length, n = expectedIds[0].length;
        assertArrayEquals(new long[]{rows, V, n}, x.shape());
        for (int r = 0; r < rows; r++) {
            for (int v = 0; v < V; v++) {
                for (int t = 0; t < n; t++) assertEquals(expectedIds[r][t] == v ? 1.0 : 0.0, x.getDouble(r, v, t), "row " + r + " token " + v + " step " + t);
            }
        }
    }

    @Test
    void oneHotRowsOfOneTextStartWhereTold() {
        int[] starts = {0, 4};
        assertOneHot(TokenTensors.oneHot(TEXT, starts, 0, 3, V), new int[][]{{0, 3, 1}, {2, 2, 0}});
        assertOneHot(TokenTensors.oneHot(TEXT, starts, 1, 3, V), new int[][]{{3, 1, 4}, {2, 0, 1}}); // the next tokens: labels
    }

    @Test
    void oneHotRowsOfSeveralTextsShareTheirStart() {
        int[][] texts = {{1, 2, 3, 4}, {4, 0, 0, 2}};
        assertOneHot(TokenTensors.oneHot(texts, 1, 3, V), new int[][]{{2, 3, 4}, {0, 0, 2}});
    }

    @Test
    void oneHotArraysAreTimeMajorInMemory() {
        INDArray x = TokenTensors.oneHot(TEXT, new int[]{0, 4}, 0, 3, V);
        INDArray tbf = x.permute(2, 0, 1); // [n, rows, vocab]
        assertEquals(1, tbf.stride(2));
        assertEquals(V, tbf.stride(1));
        assertEquals(2L * V, tbf.stride(0));
    }

    @Test
    void oneHotRowWritesTheSameLayoutIntoAJavaArray() {
        float[] into = new float[2 * V * 3];
        TokenTensors.oneHotRow(TEXT, 0, 3, 0, 2, V, into);
        TokenTensors.oneHotRow(TEXT, 4, 3, 1, 2, V, into);
        float[] fromTensor = TokenTensors.oneHot(TEXT, new int[]{0, 4}, 0, 3, V).permute(2, 0, 1).dup('c').data().asFloat();
        assertArrayEquals(fromTensor, into);
    }

    @Test
    void idsAreOneRowPerStreamForAnEmbeddingLayer() {
        INDArray a = TokenTensors.ids(TEXT, new int[]{1, 5}, 3);
        INDArray b = TokenTensors.ids(new int[][]{TEXT, {9, 8, 7, 6, 5, 4}}, new int[]{1, 2}, 3);
        assertArrayEquals(new long[]{2, 1, 3}, a.shape());
        assertArrayEquals(new float[]{3, 1, 4, 2, 0, 1}, a.dup('c').data().asFloat());
        assertArrayEquals(new float[]{3, 1, 4, 7, 6, 5}, b.dup('c').data().asFloat());
    }

    @Test
    void detachedArraysLiveOutsideWorkspacesAndHoldTheirData() {
        INDArray a = HostArrays.detached(new float[]{1, 2, 3, 4, 5, 6}, 2, 3);
        assertFalse(a.isAttached());
        assertEquals(6f, a.getFloat(1, 2));
        assertThrows(IllegalStateException.class, () -> HostArrays.fill(a, new float[5]));
    }
}
