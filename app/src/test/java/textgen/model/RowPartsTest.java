package textgen.model;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.FloatBuffer;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The kernels run a batch as parts, each part's rows through the whole recurrence on a core of its own
 * ({@link CpuKernels#inParts}). Against the same kernel on the whole batch at once, on random input, parameters and
 * carried state: outputs, final state, every gradient and the input gradient agree to float rounding, over two
 * segments (the second from the state the first ended in, with the packed matrices' storage reused); odd sizes (H not
 * a multiple of the vector width, parts of unequal size), batch 1, and more parts than cores.
 */
class RowPartsTest {
    @ParameterizedTest
    @CsvSource({"7, 13, 17, 6, 2", "5, 9, 16, 3, 2", "11, 16, 1, 5, 2", "3, 33, 5, 4, 3", "6, 20, 2, 3, 2"})
    void lstmPartsEqualTheWholeBatch(int nIn, int hidden, int batch, int steps, int parts) {
        Random rnd = new Random(nIn * 131L + hidden * 7L + batch);
        LstmKernel whole = KernelData.lstm(nIn, hidden, new Random(1)), cut = KernelData.lstm(nIn, hidden, new Random(1));
        whole.parts = 1;
        cut.parts = parts;
        float[] h0 = KernelData.noise(rnd, batch * hidden), c0 = KernelData.noise(rnd, batch * hidden);
        for (int segment = 0; segment < 2; segment++) {
            float[] x = KernelData.noise(rnd, steps * batch * nIn), dH = KernelData.noise(rnd, steps * batch * hidden);
            for (LstmKernel k : new LstmKernel[] {whole, cut}) {
                k.prepare(steps, batch).put(0, x);
                k.setInitialState(h0, c0);
                k.forward();
            }
            assertClose(whole.outputs(), cut.outputs(), steps * batch * hidden, "outputs");
            assertClose(whole.lastH(), cut.lastH(), "final h");
            assertClose(whole.lastC(), cut.lastC(), "final c");
            FloatBuffer dxWhole = whole.backward(dH), dxCut = cut.backward(dH);
            KernelData.assertBuffersClose(whole.dWT, cut.dWT, "dW");
            KernelData.assertBuffersClose(whole.dRWT, cut.dRWT, "dRW");
            assertClose(whole.db, cut.db, "db");
            assertClose(dxWhole, dxCut, steps * batch * nIn, "dx");
            h0 = cut.lastH();
            c0 = cut.lastC();
        }
    }

    @ParameterizedTest
    @CsvSource({"7, 13, 17, 6, 2", "5, 9, 16, 3, 2", "11, 16, 1, 5, 2", "3, 33, 5, 4, 3", "6, 20, 2, 3, 2"})
    void gruPartsEqualTheWholeBatch(int nIn, int hidden, int batch, int steps, int parts) {
        Random rnd = new Random(nIn * 131L + hidden * 7L + batch);
        GruKernel whole = KernelData.gru(nIn, hidden, new Random(2)), cut = KernelData.gru(nIn, hidden, new Random(2));
        whole.parts = 1;
        cut.parts = parts;
        float[] h0 = KernelData.noise(rnd, batch * hidden);
        for (int segment = 0; segment < 2; segment++) {
            float[] x = KernelData.noise(rnd, steps * batch * nIn), dH = KernelData.noise(rnd, steps * batch * hidden);
            for (GruKernel k : new GruKernel[] {whole, cut}) {
                k.prepare(steps, batch).put(0, x);
                k.setInitialState(h0);
                k.forward();
            }
            assertClose(whole.outputs(), cut.outputs(), steps * batch * hidden, "outputs");
            assertClose(whole.lastH(), cut.lastH(), "final h");
            FloatBuffer dxWhole = whole.backward(dH), dxCut = cut.backward(dH);
            KernelData.assertBuffersClose(whole.dWT, cut.dWT, "dW");
            KernelData.assertBuffersClose(whole.dRWT, cut.dRWT, "dRW");
            assertClose(whole.db, cut.db, "db");
            assertClose(whole.drb, cut.drb, "recurrent db");
            assertClose(dxWhole, dxCut, steps * batch * nIn, "dx");
            h0 = cut.lastH();
        }
    }

    private static void assertClose(float[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length, what);
        assertClose(FloatBuffer.wrap(expected), FloatBuffer.wrap(actual), expected.length, what);
    }

    private static void assertClose(FloatBuffer expected, FloatBuffer actual, int n, String what) {
        for (int i = 0; i < n; i++) {
            float e = expected.get(i);
            assertEquals(e, actual.get(i), 2e-5f * Math.max(1f, Math.abs(e)), what + ", element " + i);
        }
    }
}
