package textgen.model;

import org.bytedeco.openblas.global.openblas_nolapack;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;

/**
 * What textgen's CPU kernels ({@link LstmKernel}, {@link GruKernel}, the output layer, {@link Predictor}) share: direct
 * float buffers for the BLAS (allocated, reused, viewed), the thread setting, splitting a step's rows over two cores, and branch-free tanh/sigmoid that C2 turns
 * into vector code.
 */
final class CpuKernels {
    private CpuKernels() {
    }

    static FloatBuffer alloc(long n) {
        if (n > Integer.MAX_VALUE / 4) throw new IllegalArgumentException("kernel buffer too large: " + n + " floats");
        return ByteBuffer.allocateDirect((int) n * 4).order(ByteOrder.nativeOrder()).asFloatBuffer();
    }

    /** {@code buf} when it holds at least {@code n} floats, else a new direct buffer of {@code n}. */
    static FloatBuffer ensure(FloatBuffer buf, long n) {
        return buf != null && buf.capacity() >= n ? buf : alloc(n);
    }

    /** {@code buf} when it holds at least {@code n} floats, else a new array of {@code n}. */
    static float[] ensure(float[] buf, long n) {
        if (n > Integer.MAX_VALUE - 8) throw new IllegalArgumentException("kernel buffer too large: " + n + " floats");
        return buf != null && buf.length >= n ? buf : new float[(int) n];
    }

    /** {@code count} arrays of at least {@code n} floats each (the existing ones when big enough). */
    static float[][] ensure(float[][] bufs, int count, long n) {
        if (bufs != null && bufs.length >= count && bufs[0].length >= n) return bufs;
        float[][] out = new float[count][];
        for (int i = 0; i < count; i++) out[i] = ensure((float[]) null, n);
        return out;
    }

    /** A view of {@code buf} from {@code offset} on (a BLAS operand starts at a buffer's position). */
    static FloatBuffer at(FloatBuffer buf, int offset) {
        return buf.duplicate().position(offset).slice();
    }

    interface RowRange {
        void run(int r0, int r1);
    }

    /**
     * Runs rows [0, rows) of {@code width} elements as two halves, one on a pool thread and one here, when there is a
     * second core and enough work (handing half to another thread and waiting for it costs tens of microseconds: a
     * 50 x 128 step's gates take less); the halves touch disjoint rows (the caller gives each its own accumulators).
     */
    static void inHalves(int rows, int width, RowRange body) {
        if (rows < 2 || PARALLEL == null || (long) rows * width < SPLIT_MIN) {
            body.run(0, rows);
            return;
        }
        int mid = rows / 2;
        java.util.concurrent.ForkJoinTask<?> other = PARALLEL.submit(() -> body.run(mid, rows));
        body.run(0, mid);
        other.join();
    }

    /**
     * Threads for the kernel: all cores unless {@code -Dtextgen.threads=N}. The kernel's GEMMs run on {@link Blas} with
     * that many threads and the gate arithmetic in two halves, one on a pool thread. On 2 cores this ran the kernel
     * 1.6-2x faster than one thread for both (H200 B32 T50 and H512 B64 T100). ND4J's own operations use its OpenMP
     * threads (the launcher keeps them at one), but its initialization sets this same OpenBLAS library's thread
     * count to them: so ND4J is initialized first. (When ND4J started after this setting, by a kernel used before any
     * ND4J array, as {@link Predictor#warmUp} does, the products of a 2 x 512 model ran on one thread: batch-1 steps
     * took 470 us instead of 260.)
     */
    static final long SPLIT_MIN = Long.getLong("textgen.splitMin", 16384);

    static final int THREADS = Math.max(1, Integer.getInteger("textgen.threads", Runtime.getRuntime().availableProcessors()));
    private static final java.util.concurrent.ForkJoinPool PARALLEL = THREADS > 1 ? java.util.concurrent.ForkJoinPool.commonPool() : null;

    static {
        org.nd4j.linalg.factory.Nd4j.getBackend();
        openblas_nolapack.blas_set_num_threads(THREADS);
    }

    /** Runs the set-up above (once). */
    static void init() {
    }

    /** The logistic function, as 1/2 + tanh(v/2)/2 (absolute error below 3e-7). */
    static float sigmoid(float v) {
        return 0.5f + 0.5f * tanh(0.5f * v);
    }

    /**
     * tanh to float precision (absolute error below 5e-7; NaN stays NaN) without branches, so that loops calling it
     * vectorize: Eigen's rational approximation (odd degree-13 numerator, even degree-6 denominator) on v clamped to
     * [-7.9053, 7.9053], where tanh rounds to +-1 in float.
     */
    static float tanh(float v) {
        float x = Math.max(-7.90531110763549805f, Math.min(7.90531110763549805f, v));
        float x2 = x * x;
        float p = x2 * -2.76076847742355e-16f + 2.00018790482477e-13f;
        p = x2 * p - 8.60467152213735e-11f;
        p = x2 * p + 5.12229709037114e-08f;
        p = x2 * p + 1.48572235717979e-05f;
        p = x2 * p + 6.37261928875436e-04f;
        p = x2 * p + 4.89352455891786e-03f;
        float q = x2 * 1.19825839466702e-06f + 1.18534705686654e-04f;
        q = x2 * q + 2.26843463243900e-03f;
        q = x2 * q + 4.89352518554385e-03f;
        return x * p / q;
    }
}
