package textgen.model;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;
import static textgen.model.KernelData.copy;
import static textgen.model.KernelData.noise;
import static textgen.model.KernelData.noiseBuffer;

/** The native batch-1 LSTM recurrence ({@link NativeLstm}, {@link LstmKernel#infer}) against the Java forward pass. */
class NativeLstmTest {
    private static void assumeNative() {
        assumeTrue(NativeLstm.AVAILABLE, "native kernels not in use: " + NativeGemv.STATUS);
    }

    /** What a forward pass leaves for inference: the outputs h_1..h_T, the final h and c. */
    private record Result(float[] outputs, float[] lastH, float[] lastC) {
    }

    private static Result run(LstmKernel k, float[] x, float[] h0, float[] c0, int steps, boolean infer) {
        k.prepare(steps, 1).put(0, x);
        k.setInitialState(h0, c0);
        if (infer) k.infer();
        else k.forward();
        float[] out = new float[steps * k.hiddenSize()];
        k.outputs(out);
        return new Result(out, k.lastH(), k.lastC());
    }

    private static void assertSameBits(float[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length, what);
        for (int i = 0; i < expected.length; i++) {
            assertEquals(Float.floatToIntBits(expected[i]), Float.floatToIntBits(actual[i]), what + " " + i + ": " + expected[i] + " vs " + actual[i]);
        }
    }

    /**
     * The same bits as the Java forward pass (its gate loops, the same native product), from a carried state, for
     * widths around the 16-unit cut and the kernels' vector widths, and weights large enough (standard deviation 0.5
     * at H = 512) that many gates saturate past tanh's clamp.
     */
    @ParameterizedTest
    @CsvSource({"1, 1, 1", "3, 13, 7", "5, 37, 20", "16, 64, 9", "65, 100, 33", "40, 512, 12"})
    void sameBitsAsTheJavaForwardPass(int nIn, int hidden, int steps) {
        assumeNative();
        for (float scale : new float[] {1f, 0.05f}) {
            Random rnd = new Random(hidden * 131L + steps);
            LstmKernel k = KernelData.lstm(nIn, hidden, rnd);
            if (scale != 1f) for (int i = 0; i < 4 * hidden * hidden; i++) k.rwT.put(i, k.rwT.get(i) * scale);
            float[] x = noise(rnd, steps * nIn), h0 = noise(rnd, hidden), c0 = noise(rnd, hidden);
            Result java = run(k, x, h0, c0, steps, false), mine = run(k, x, h0, c0, steps, true);
            String what = "H " + hidden + ", RW x " + scale;
            assertSameBits(java.outputs, mine.outputs, what + ", output");
            assertSameBits(java.lastH, mine.lastH, what + ", last h");
            assertSameBits(java.lastC, mine.lastC, what + ", last c");
            // and from zeros, as the first chunk of a stream
            java = run(k, x, null, null, steps, false);
            mine = run(k, x, null, null, steps, true);
            assertSameBits(java.outputs, mine.outputs, what + ", from zeros");
        }
    }

    /** NaN in the input stays NaN through the gates (the clamp keeps it, as Math.min/max do) in the same places. */
    @Test
    void nanPropagatesAsInJava() {
        assumeNative();
        Random rnd = new Random(5);
        LstmKernel k = KernelData.lstm(4, 21, rnd);
        float[] x = noise(rnd, 6 * 4);
        x[2 * 4 + 1] = Float.NaN;
        Result java = run(k, x, null, null, 6, false), mine = run(k, x, null, null, 6, true);
        assertTrue(Float.isNaN(mine.lastC[0]));
        assertSameBits(java.outputs, mine.outputs, "output");
    }

    /** Several streams keep to the Java forward pass (the native recurrence is for batch 1 only). */
    @Test
    void batchesAboveOneRunInJava() {
        Random rnd = new Random(9);
        LstmKernel k = KernelData.lstm(3, 10, rnd);
        float[] x = noise(rnd, 4 * 2 * 3);
        k.prepare(4, 2).put(0, x);
        k.setInitialState(null, null);
        k.forward();
        float[] java = new float[4 * 2 * 10], mine = new float[java.length];
        k.outputs(java);
        k.prepare(4, 2).put(0, x);
        k.setInitialState(null, null);
        k.infer();
        k.outputs(mine);
        assertSameBits(java, mine, "output");
    }

    /** Inputs for {@link NativeLstm#forward} directly: RW, z (bias and input projection), hs with h_0, c. */
    private record Chunk(FloatBuffer rwT, FloatBuffer z, FloatBuffer hs, FloatBuffer c) {
        static Chunk random(int hidden, int steps, long seed) {
            Random rnd = new Random(seed);
            FloatBuffer rw = noiseBuffer(rnd, 4 * hidden * hidden);
            for (int i = 0; i < rw.capacity(); i++) rw.put(i, rw.get(i) * 0.1f);
            return new Chunk(rw, noiseBuffer(rnd, steps * 4 * hidden), noiseBuffer(rnd, (steps + 1) * hidden), noiseBuffer(rnd, hidden));
        }

        Chunk copied() {
            return new Chunk(rwT, copy(z), copy(hs), copy(c));
        }
    }

    /**
     * Which thread takes which half of a step changes nothing: this thread alone, and this thread with the partner
     * (over many chunks, so that both take halves of steps in varying order), give the same bits.
     */
    @Test
    void theSameBitsWhoeverTakesEachHalf() {
        assumeNative();
        int hidden = 96, steps = 300;
        Chunk start = Chunk.random(hidden, steps, 3);
        Chunk alone = start.copied();
        NativeLstm.forward(NativeGemv.LANES, steps, hidden, alone.rwT, alone.z, alone.hs, alone.c, NativeLstm.counters(), false);
        ByteBuffer counters = NativeLstm.counters();
        for (int run = 0; run < 20; run++) {
            Chunk shared = start.copied();
            NativeLstm.forward(steps, hidden, shared.rwT, shared.z, shared.hs, shared.c, counters);
            assertEquals(alone.hs, shared.hs, "run " + run + ": h");
            assertEquals(alone.c, shared.c, "run " + run + ": c");
        }
    }

    /** The AVX2 kernel (its own product's summation) agrees with the AVX-512 one to float rounding. */
    @Test
    void theAvx2KernelAgrees() {
        assumeNative();
        assumeTrue(NativeGemv.LANES == 512, "one kernel on this CPU");
        int hidden = 77, steps = 40;
        Chunk start = Chunk.random(hidden, steps, 4), wide = start.copied(), narrow = start.copied();
        NativeLstm.forward(512, steps, hidden, wide.rwT, wide.z, wide.hs, wide.c, NativeLstm.counters(), true);
        NativeLstm.forward(256, steps, hidden, narrow.rwT, narrow.z, narrow.hs, narrow.c, NativeLstm.counters(), true);
        KernelData.assertBuffersClose(wide.hs, narrow.hs, "h");
        KernelData.assertBuffersClose(wide.c, narrow.c, "c");
    }

    /** Sizes past an operand's end are refused in Java, before native code could read or write past it. */
    @Test
    void outOfBoundsOperandsAreRefused() {
        assumeNative();
        int hidden = 8, steps = 3;
        Chunk ok = Chunk.random(hidden, steps, 6);
        ByteBuffer counters = NativeLstm.counters();
        List<Runnable> bad = new ArrayList<>(List.of(
                () -> NativeLstm.forward(steps + 1, hidden, ok.rwT, ok.z, ok.hs, ok.c, counters),
                () -> NativeLstm.forward(steps, hidden + 1, ok.rwT, ok.z, ok.hs, ok.c, counters),
                () -> NativeLstm.forward(steps, hidden, CpuKernels.at(ok.rwT, 1), ok.z, ok.hs, ok.c, counters),
                () -> NativeLstm.forward(steps, hidden, ok.rwT, ok.z, CpuKernels.at(ok.hs, 1), ok.c, counters),
                () -> NativeLstm.forward(steps, hidden, ok.rwT, ok.z, ok.hs, CpuKernels.at(ok.c, 1), counters),
                () -> NativeLstm.forward(steps, hidden, ok.rwT, ok.z, ok.hs, ok.c, ByteBuffer.allocateDirect(64)),
                () -> NativeLstm.forward(steps, hidden, ok.rwT, FloatBuffer.allocate(steps * 4 * hidden), ok.hs, ok.c, counters),
                () -> NativeLstm.forward(-1, hidden, ok.rwT, ok.z, ok.hs, ok.c, counters)));
        for (int i = 0; i < bad.size(); i++) assertThrows(IllegalArgumentException.class, bad.get(i)::run, "case " + i);
        NativeLstm.forward(steps, hidden, ok.rwT, ok.z, ok.hs, ok.c, counters);
    }
}
