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

    /**
     * A direct buffer of {@code n} floats starting on a 64-byte boundary (a cache line): Java's own direct buffers
     * start 16 bytes past one, so that every 64-byte vector load of a product crossed two lines. On an AMD EPYC
     * (family 26) a 2048 x 512 step product in two halves took 33-39 us instead of 27-30 ({@link NativeGemv}), and
     * oneDNN's on one thread 75-102 instead of 67-70.
     */
    static FloatBuffer alloc(long n) {
        if (n > (Integer.MAX_VALUE - 127) / 4) throw new IllegalArgumentException("kernel buffer too large: " + n + " floats");
        return aligned((int) n * 4).order(ByteOrder.nativeOrder()).asFloatBuffer();
    }

    /** {@code bytes} direct bytes from a 64-byte boundary on (of at least bytes + 1 allocated, once aligned). */
    static ByteBuffer aligned(int bytes) {
        return ByteBuffer.allocateDirect(bytes + 127).alignedSlice(64).limit(bytes).slice();
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

    interface PartRange {
        void run(int part, int r0, int r1);
    }

    /** Fewest batch rows worth a core of their own in {@link #rowParts} (fewer make each product GEMV-like). */
    static final int PART_MIN_ROWS = Integer.getInteger("textgen.partMinRows", 8);

    /**
     * Into how many parts a kernel cuts a batch of {@code rows}, each to run the whole recurrence on a core of its own
     * ({@link #inParts}): a batch row's recurrence never reads another row, so the parts never wait for each other
     * inside a pass. 1 (the rows together, each product on all threads) when the BLAS cannot take concurrent calls
     * with a thread count each, or when parts would have fewer than {@link #PART_MIN_ROWS} rows.
     */
    static int rowParts(int rows) {
        if (PARALLEL == null || !Blas.CPU.parallelCalls()) return 1;
        return Math.max(1, Math.min(THREADS, rows / PART_MIN_ROWS));
    }

    /** {@code forced} parts (at most one per row) when above 0, as tests ask for; else {@link #rowParts(int)}. */
    static int rowParts(int rows, int forced) {
        return forced > 0 ? Math.min(forced, rows) : rowParts(rows);
    }

    /**
     * Runs rows [0, rows) as {@code parts} contiguous ranges, all but the first on pool threads, each calling the
     * BLAS with its share of the threads (one part: all of them), and waits for all of them.
     */
    static void inParts(int rows, int parts, PartRange body) {
        int each = Math.max(1, THREADS / parts);
        if (parts == 1) {
            Blas.CPU.withThreads(each, () -> body.run(0, 0, rows));
            return;
        }
        java.util.concurrent.ForkJoinTask<?>[] others = new java.util.concurrent.ForkJoinTask<?>[parts - 1];
        for (int p = 1; p < parts; p++) {
            int part = p, r0 = p * rows / parts, r1 = (p + 1) * rows / parts;
            others[p - 1] = PARALLEL.submit(() -> part(each, () -> body.run(part, r0, r1)));
        }
        try {
            part(each, () -> body.run(0, 0, rows / parts));
        } finally {
            long t0 = StepProfile.start();
            for (java.util.concurrent.ForkJoinTask<?> other : others) other.join();
            StepProfile.stop(StepProfile.Phase.WAIT, t0);
        }
    }

    private static final ThreadLocal<boolean[]> IN_PART = ThreadLocal.withInitial(() -> new boolean[1]);

    private static void part(int threads, Runnable body) {
        boolean[] flag = IN_PART.get();
        boolean outer = flag[0];
        flag[0] = true;
        try {
            Blas.CPU.withThreads(threads, body);
        } finally {
            flag[0] = outer;
        }
    }

    /** Whether this thread runs one of several parts of {@link #inParts} (which then must not cut its work again). */
    static boolean inPart() {
        return IN_PART.get()[0];
    }

    /**
     * A recurrent matrix {@code src} (leading dimension {@code ld}) packed for the per-step products of each of
     * {@code parts} parts of a batch of {@code rows} ({@link #inParts}; one part: all rows, on all threads), as
     * {@code C [part rows, n] = A op(src)} with inner dimension {@code k}; packed with the thread count the part
     * computes with (MKL packs for it). Parts of one size share one; {@code reuse} (the previous result) lends its
     * storage.
     */
    static Blas.Packed[] packParts(Blas.Packed[] reuse, int rows, int parts, boolean trans, int n, int k, FloatBuffer src, int ld) {
        Blas.Packed[] out = new Blas.Packed[parts];
        long t0 = StepProfile.start();
        Blas.CPU.withThreads(Math.max(1, THREADS / parts), () -> {
            for (int p = 0; p < parts; p++) {
                int m = (p + 1) * rows / parts - p * rows / parts;
                for (int q = 0; q < p && out[p] == null; q++) if (out[q].m == m) out[p] = out[q];
                if (out[p] != null) continue;
                Blas.Packed old = reuse != null && p < reuse.length ? reuse[p] : null;
                for (int q = 0; q < p && old != null; q++) if (out[q].b == old.b) old = null; // its storage is taken
                out[p] = Blas.CPU.pack(old, trans, m, n, k, src, ld);
            }
        });
        StepProfile.stop(StepProfile.Phase.GEMM, t0);
        return out;
    }

    /**
     * Threads for the kernel: all cores unless {@code -Dtextgen.threads=N}: one part of the batch per core
     * ({@link #inParts}), or, where the batch is not cut, products on that many BLAS threads and the gate arithmetic in two
     * halves. On 2 cores the latter ran the kernel 1.6-2x faster than one thread (H200 B32 T50 and H512 B64 T100).
     * ND4J's own operations use its OpenMP threads (the launcher keeps them at one), but its initialization sets this
     * same OpenBLAS library's thread count to them: so ND4J is initialized first. (When ND4J started after this
     * setting, by a kernel used before any ND4J array, as {@link Predictor#warmUp} does, the products of a 2 x 512
     * model ran on one thread: batch-1 steps took 470 us instead of 260.)
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
