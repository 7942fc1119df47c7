package textgen.model;

import org.bytedeco.javacpp.ClassProperties;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.mkl.global.mkl_rt;
import org.bytedeco.openblas.global.openblas_nolapack;

import java.io.IOException;
import java.net.URL;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;

/**
 * The BLAS under textgen's CPU kernels: Intel MKL (the oneMKL 2022.0 that JavaCPP ships as a Maven artifact), oneDNN
 * on AMD CPUs with AVX-512 ({@link OneDnn}), ND4J's own OpenBLAS 0.3.19 when neither loads ({@link #choose}).
 * Row-major throughout.
 *
 * <p>Why MKL: a recurrent layer multiplies the same recurrent matrix by every time step's state, and OpenBLAS packs
 * that matrix again on every call; MKL's packed API ({@link #pack}) packs it once per pass. On 2 cores of an Intel
 * Xeon (model 207), per-step products of H512 B64 (64 x 512 x 2048) ran at 137 GFLOP/s with OpenBLAS and 254-298
 * packed with MKL; H200 B32 (32 x 200 x 800) at 86 and 225-242. MKL runs with conditional numerical reproducibility
 * (AUTO: the same inputs give the same bits run to run whatever the buffers' alignment) and one thread per call: the
 * kernels and {@link #sgemm} cut their work into one part per core on textgen's own threads
 * ({@link CpuKernels#inParts}), with fixed boundaries; a batch-1 step's GEMV in two halves of its rows
 * ({@link #stepGemv}). MKL's own threads (GNU OpenMP, the library ND4J already loads; Intel's OpenMP was slower here)
 * serve only batches too small for parts, through {@link #withThreads}: OpenMP's threads spin for milliseconds after
 * their work, and spinning beside textgen's own threads made training 10-20% slower.
 */
abstract class Blas {
    /** The library the kernels use, chosen once. */
    static final Blas CPU = choose();

    abstract String name();

    /** C [m, n] = alpha op(A) op(B) + beta C in one call of the library, on this thread's thread count. */
    abstract void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha, FloatBuffer a, int lda,
                       FloatBuffer b, int ldb, float beta, FloatBuffer c, int ldc);

    /** This thread's thread count for calls into the library ({@link #withThreads}). */
    abstract int threads();

    /** Fewest multiply-adds for which {@link #sgemm} cuts a product into parts, one per core. */
    private static final long SPLIT_MIN = 1 << 20;

    /**
     * C [m, n] = alpha op(A) op(B) + beta C. With a library that takes concurrent calls, a large product is cut along
     * its longer side of C into one part per core ({@link CpuKernels#inParts}), each on one library thread; a small
     * one, one inside a part, or one whose caller asked for the library's threads ({@link #withThreads}) is one call.
     */
    final void sgemm(boolean transA, boolean transB, int m, int n, int k, float alpha, FloatBuffer a, int lda,
                     FloatBuffer b, int ldb, float beta, FloatBuffer c, int ldc) {
        int parts = !parallelCalls() || (long) m * n * k < SPLIT_MIN || CpuKernels.inPart() || threads() > 1 ? 1
                : Math.min(CpuKernels.THREADS, Math.max(m, n) / 16);
        if (parts < 2) {
            gemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        } else if (m >= n) {
            CpuKernels.inParts(m, parts, (p, r0, r1) -> gemm(transA, transB, r1 - r0, n, k, alpha,
                    CpuKernels.at(a, transA ? r0 : r0 * lda), lda, b, ldb, beta, CpuKernels.at(c, r0 * ldc), ldc));
        } else {
            CpuKernels.inParts(n, parts, (p, c0, c1) -> gemm(transA, transB, m, c1 - c0, k, alpha,
                    a, lda, CpuKernels.at(b, transB ? c0 * ldb : c0), ldb, beta, CpuKernels.at(c, c0), ldc));
        }
    }

    /** y = alpha op(A) x + beta y, A [m, n]. */
    abstract void sgemv(boolean trans, int m, int n, float alpha, FloatBuffer a, int lda, FloatBuffer x, float beta, FloatBuffer y);

    /**
     * y += A x for A [m, n] on all cores: a recurrent step at batch 1 (sampling, scoring), where streaming A from
     * memory is the whole cost. (Run on one thread, as the kernels' other calls, a 2 x 512 model sampled at 1,600
     * characters/s instead of 2,400.) With a library that takes concurrent calls, the rows are cut in two halves, each
     * on one thread ({@link StepPartner}); else the library's own threads share the product.
     */
    static void stepGemv(int m, int n, FloatBuffer a, FloatBuffer x, FloatBuffer y) {
        if (!CPU.parallelCalls()) {
            CPU.withThreads(CpuKernels.THREADS, () -> CPU.sgemv(false, m, n, 1f, a, n, x, 1f, y));
            return;
        }
        StepPartner.split(m, (r0, r1) -> CPU.withThreads(1, () ->
                CPU.sgemv(false, r1 - r0, n, 1f, CpuKernels.at(a, r0 * n), n, x, 1f, CpuKernels.at(y, r0))));
    }

    /**
     * B prepared for {@link #compute}: C [m, n] = A [m, k] op(B) + beta C with this B, these m, n, k, until B changes.
     * {@code reuse} is a previous result whose storage may be taken over. Here B as it is, for libraries without a
     * packed-operand API (OpenBLAS and oneDNN pack it inside every product); MKL packs it once.
     */
    Packed pack(Packed reuse, boolean transB, int m, int n, int k, FloatBuffer b, int ldb) {
        return new Packed(transB, m, n, k, b, ldb);
    }

    /** C [m, n] = A [m, k] op(B) + beta C, with B, m, n, k as packed. */
    void compute(Packed p, FloatBuffer a, int lda, float beta, FloatBuffer c, int ldc) {
        gemm(false, p.transB, p.m, p.n, p.k, 1f, a, lda, p.b, p.ldb, beta, c, ldc);
    }

    /**
     * Whether threads of our own may call this library at the same time, each with its own thread count
     * ({@link #withThreads}): then a kernel can give each core its own rows of the batch.
     */
    abstract boolean parallelCalls();

    /** Runs {@code body} with this thread's calls into the library using {@code threads} threads. */
    abstract void withThreads(int threads, Runnable body);

    /** A right-hand matrix as {@link #pack} left it. */
    static final class Packed {
        final boolean transB;
        final int m, n, k, ldb;
        final FloatBuffer b;

        Packed(boolean transB, int m, int n, int k, FloatBuffer b, int ldb) {
            this.transB = transB;
            this.m = m;
            this.n = n;
            this.k = k;
            this.b = b;
            this.ldb = ldb;
        }
    }

    /**
     * MKL, except on AMD CPUs with AVX-512 (measured: EPYC family 26), where MKL runs its generic code and oneDNN its
     * AVX-512 kernels, 1.7-2.2x as fast ({@link OneDnn}); {@code -Dtextgen.blas=mkl|onednn|openblas} asks for one.
     * A library that cannot load (another platform, the CUDA build) gives way to the next; ND4J's OpenBLAS is always
     * there. Chosen from the CPU, never from a timing, so that one machine always computes with the same library.
     */
    private static Blas choose() {
        CpuKernels.init();
        String flags = " " + Backend.cpuinfo("flags") + " ";
        boolean amdAvx512 = Backend.cpuinfo("vendor_id").equals("AuthenticAMD")
                && java.util.stream.Stream.of("avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl").allMatch(f -> flags.contains(" " + f + " "));
        java.util.List<java.util.function.Supplier<Blas>> order = switch (System.getProperty("textgen.blas", "")) {
            case "openblas" -> java.util.List.of();
            case "mkl" -> java.util.List.of(Mkl::new);
            case "onednn" -> java.util.List.of(OneDnn::new);
            default -> amdAvx512 ? java.util.List.of(OneDnn::new, Mkl::new) : java.util.List.of(Mkl::new, OneDnn::new);
        };
        for (java.util.function.Supplier<Blas> library : order) {
            try {
                return library.get();
            } catch (RuntimeException | LinkageError e) {
                // not loadable here: the next
            }
        }
        return new OpenBlas();
    }

    private static final int ROW_MAJOR = 101, NO_TRANS = 111, TRANS = 112;

    private static int op(boolean trans) {
        return trans ? TRANS : NO_TRANS;
    }

    /** ND4J's OpenBLAS. */
    static final class OpenBlas extends Blas {
        @Override
        String name() {
            return "OpenBLAS";
        }

        @Override
        void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha, FloatBuffer a, int lda,
                  FloatBuffer b, int ldb, float beta, FloatBuffer c, int ldc) {
            openblas_nolapack.cblas_sgemm(ROW_MAJOR, op(transA), op(transB), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        }

        @Override
        void sgemv(boolean trans, int m, int n, float alpha, FloatBuffer a, int lda, FloatBuffer x, float beta, FloatBuffer y) {
            openblas_nolapack.cblas_sgemv(ROW_MAJOR, op(trans), m, n, alpha, a, lda, x, 1, beta, y, 1);
        }

        /** OpenBLAS 0.3.19 has one thread count for the process, and concurrent calls wait for each other. */
        @Override
        boolean parallelCalls() {
            return false;
        }

        @Override
        void withThreads(int threads, Runnable body) {
            body.run();
        }

        @Override
        int threads() {
            return CpuKernels.THREADS;
        }
    }

    /** Intel MKL through JavaCPP's mkl_rt. */
    static final class Mkl extends Blas {
        private static final int PACKED = 151, B_MATRIX = 162, THREADING_GNU = 3, CBWR_AUTO = 2;

        Mkl() {
            loadOnlyWhatIsUsed();
            mkl_rt.MKL_Set_Threading_Layer(THREADING_GNU);
            if (mkl_rt.MKL_CBWR_Set(CBWR_AUTO) != 0) throw new IllegalStateException("MKL refused reproducible mode");
            mkl_rt.MKL_Set_Dynamic(0);
            mkl_rt.MKL_Set_Num_Threads(1);
        }

        @Override
        String name() {
            return "MKL";
        }

        /**
         * Loads MKL the way Intel intends, through its one dynamic library, mkl_rt, which then loads beside itself the
         * core, threading layer and instruction-set libraries this CPU needs. The mkl_rt class's own initializer
         * (JavaCPP's presets) first tries all 30 (every instruction set, both threading layers, Intel's OpenMP), most of
         * which fail to load on their own: 0.5-1.0 s of every command's start on a Xeon model 207, where this takes
         * 0.05-0.15 s. The files are still extracted into JavaCPP's cache, so that mkl_rt finds them beside itself; then
         * mkl_rt and the JNI library are loaded, and the class is initialized with JavaCPP's loading switched off so
         * that it does not try the rest. Anything unexpected (another platform, a missing file) leaves the class to
         * load the usual way. Switching the (process-wide) flag is safe here because ND4J and OpenBLAS, the process's
         * other JavaCPP libraries, are loaded before ({@link CpuKernels}).
         */
        private static void loadOnlyWhatIsUsed() {
            String flag = "org.bytedeco.javacpp.loadlibraries";
            try {
                ClassProperties p = Loader.loadProperties(mkl_rt.class, Loader.loadProperties(), true);
                URL[] rt = Loader.findLibrary(mkl_rt.class, p, "mkl_rt@.2", false);
                URL[] jni = Loader.findLibrary(mkl_rt.class, p, p.getProperty("platform.library"), false);
                if (rt.length == 0 || jni.length == 0 || !rt[0].toString().endsWith("/libmkl_rt.so.2")) return;
                // the other libraries sit beside libmkl_rt.so.2 in the same jar (JavaCPP's findLibrary for each: 0.3 s)
                String dir = rt[0].toString().substring(0, rt[0].toString().lastIndexOf('/') + 1);
                for (String lib : p.get("platform.preload")) {
                    String[] nameVersion = lib.split("@", 2);
                    try {
                        Loader.cacheResource(new URL(dir + "lib" + nameVersion[0] + ".so" + (nameVersion.length > 1 ? nameVersion[1] : "")));
                    } catch (IOException e) {
                        // not in this jar (another platform's name)
                    }
                }
                if (Loader.loadLibrary(mkl_rt.class, rt, "mkl_rt@.2") == null || Loader.loadLibrary(mkl_rt.class, jni, p.getProperty("platform.library")) == null) return;
            } catch (RuntimeException | LinkageError e) {
                return;
            }
            synchronized (Loader.class) {
                String before = System.getProperty(flag);
                System.setProperty(flag, "false");
                try {
                    Class.forName(mkl_rt.class.getName(), true, Blas.class.getClassLoader());
                } catch (ClassNotFoundException e) {
                    throw new NoClassDefFoundError(e.toString());
                } finally {
                    if (before == null) System.clearProperty(flag);
                    else System.setProperty(flag, before);
                }
            }
        }

        @Override
        void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha, FloatBuffer a, int lda,
                  FloatBuffer b, int ldb, float beta, FloatBuffer c, int ldc) {
            mkl_rt.cblas_sgemm(ROW_MAJOR, op(transA), op(transB), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        }

        @Override
        int threads() {
            return mkl_rt.MKL_Get_Max_Threads();
        }

        @Override
        void sgemv(boolean trans, int m, int n, float alpha, FloatBuffer a, int lda, FloatBuffer x, float beta, FloatBuffer y) {
            mkl_rt.cblas_sgemv(ROW_MAJOR, op(trans), m, n, alpha, a, lda, x, 1, beta, y, 1);
        }

        @Override
        Packed pack(Packed reuse, boolean transB, int m, int n, int k, FloatBuffer b, int ldb) {
            long bytes = mkl_rt.cblas_sgemm_pack_get_size(B_MATRIX, m, n, k);
            FloatBuffer dest = reuse != null && reuse.b.capacity() * 4L >= bytes ? reuse.b : aligned(bytes);
            mkl_rt.cblas_sgemm_pack(ROW_MAJOR, B_MATRIX, op(transB), m, n, k, 1f, b, ldb, dest);
            return new Packed(transB, m, n, k, dest, ldb);
        }

        @Override
        void compute(Packed p, FloatBuffer a, int lda, float beta, FloatBuffer c, int ldc) {
            mkl_rt.cblas_sgemm_compute(ROW_MAJOR, NO_TRANS, PACKED, p.m, p.n, p.k, a, lda, p.b, p.ldb, beta, c, ldc);
        }

        @Override
        boolean parallelCalls() {
            return true;
        }

        @Override
        void withThreads(int threads, Runnable body) {
            int previous = mkl_rt.MKL_Set_Num_Threads_Local(threads);
            try {
                body.run();
            } finally {
                mkl_rt.MKL_Set_Num_Threads_Local(previous);
            }
        }

        /** A direct buffer of at least {@code bytes}, starting on a 64-byte boundary (as MKL's own allocator gives). */
        private static FloatBuffer aligned(long bytes) {
            if (bytes > Integer.MAX_VALUE - 64) throw new IllegalArgumentException("packed matrix too large: " + bytes + " bytes");
            return ByteBuffer.allocateDirect((int) bytes + 64).alignedSlice(64).order(ByteOrder.nativeOrder()).asFloatBuffer();
        }
    }
}
