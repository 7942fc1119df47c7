package textgen.model;

import java.nio.ByteBuffer;
import java.nio.FloatBuffer;

/**
 * The batch-1 LSTM recurrence of a chunk (sampling, scoring) in textgen's native code, {@code app/src/main/c/textgen_lstm.c},
 * in the library {@link NativeGemv} loads: every step's product and gate arithmetic in one call, its two halves on
 * this thread and the {@link StepPartner}, with one handshake per step between them in native code. In Java the same
 * steps took a handshake for the product and a copy of each gate between direct buffers and heap arrays, and ran
 * code HotSpot compiles while the first characters are scored. The result is bit for bit what
 * {@link LstmKernel#forward} computes with the native product: the same product kernel, and the gate arithmetic as
 * the same float operations in the same order.
 */
final class NativeLstm {
    /** Whether the library is there to run it (not with {@code -Dtextgen.gemv=blas}, which switches it off). */
    static final boolean AVAILABLE = NativeGemv.LANES > 0;

    private NativeLstm() {
    }

    /** The counters one chunk's two threads share ({@code tickets} in the C source): two cache lines. */
    static ByteBuffer counters() {
        return ByteBuffer.allocateDirect(3 * 64).alignedSlice(64).limit(128).slice();
    }

    /**
     * Runs {@code steps} steps of an LSTM layer of {@code hidden} units at batch 1: for s = 1..steps,
     * z_s += RW h_{s-1}, the gates, c and h_s (DL4J's gate order, as {@link LstmKernel}). {@code rwT} [4H, H]
     * row-major; {@code z} [steps, 4H] holding bias plus the input projection (left as pre-activations); {@code hs}
     * [steps+1, H] with h_0 in row 0, gets h_1..h_steps; {@code c} [H], c_0 in and c_steps out. {@code counters} from
     * {@link #counters}, used by one caller at a time.
     */
    static void forward(int steps, int hidden, FloatBuffer rwT, FloatBuffer z, FloatBuffer hs, FloatBuffer c, ByteBuffer counters) {
        forward(NativeGemv.LANES, steps, hidden, rwT, z, hs, c, counters, true);
    }

    /** As {@link #forward(int, int, FloatBuffer, FloatBuffer, FloatBuffer, FloatBuffer, ByteBuffer)} with the kernel for {@code lanes}, on the partner's core too or not. */
    static void forward(int lanes, int steps, int hidden, FloatBuffer rwT, FloatBuffer z, FloatBuffer hs, FloatBuffer c,
                        ByteBuffer counters, boolean partner) {
        if (!AVAILABLE) throw new IllegalStateException("native LSTM not in use: " + NativeGemv.STATUS);
        if (lanes != 256 && lanes != NativeGemv.LANES) throw new IllegalArgumentException("no " + lanes + "-bit kernel on this CPU");
        long g4 = 4L * hidden;
        if (steps < 0 || hidden < 1 || rwT.remaining() < g4 * hidden || z.remaining() < steps * g4 || hs.remaining() < (steps + 1L) * hidden
                || c.remaining() < hidden || counters.capacity() < 128 || !rwT.isDirect() || !z.isDirect() || !hs.isDirect()
                || !c.isDirect() || !counters.isDirect()) {
            throw new IllegalArgumentException("native LSTM out of bounds: " + steps + " steps of " + hidden + " units, RW " + rwT.remaining()
                    + ", z " + z.remaining() + ", hs " + hs.remaining() + ", c " + c.remaining() + ", counters " + counters.capacity());
        }
        if (steps == 0) return;
        counters.putLong(0, 0).putLong(8, 0).putLong(64, 0).putLong(72, 0);
        // r0: the half the thread keeps to, 0 here and 1 on the partner (or here after the first call, which left none)
        CpuKernels.RowRange body = (r0, r1) -> run(lanes, steps, hidden, rwT, rwT.position(), z, z.position(), hs, hs.position(),
                c, c.position(), counters, r0);
        if (partner) StepPartner.split(2, body);
        else body.run(0, 2);
    }

    private static native void run(int lanes, int steps, int hidden, FloatBuffer rwT, long rwOff, FloatBuffer z, long zOff,
                                   FloatBuffer hs, long hsOff, FloatBuffer c, long cOff, ByteBuffer counters, int own);
}
