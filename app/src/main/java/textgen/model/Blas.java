package textgen.model;

import org.bytedeco.openblas.global.openblas_nolapack;

import java.nio.FloatBuffer;

/**
 * The BLAS under textgen's CPU kernels: Intel MKL (the oneMKL 2022.0 that JavaCPP ships as a Maven artifact), oneDNN
 * on AMD CPUs with AVX-512 ({@link OneDnn}), ND4J's own OpenBLAS 0.3.19 when neither loads ({@link #choose}).
 * Row-major throughout. With a library that takes concurrent calls, each call runs on one thread and textgen cuts the
 * work into one part per core on its own threads, with fixed boundaries: products in {@link #sgemm} and
 * {@link CpuKernels#inParts}, a batch-1 step's GEMV in {@link #stepGemv}.
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
     * characters/s instead of 2,400.) With textgen's native product ({@link NativeGemv}) or a library that takes
     * concurrent calls, the rows are cut in two halves, each on one thread ({@link StepPartner}); else the library's
     * own threads share the product.
     */
    static void stepGemv(int m, int n, FloatBuffer a, FloatBuffer x, FloatBuffer y) {
        if (NativeGemv.LANES > 0) {
            StepPartner.split(m, (r0, r1) -> NativeGemv.gemv(r1 - r0, n, a, (long) r0 * n, x, y, r0));
            return;
        }
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

    static final int ROW_MAJOR = 101, NO_TRANS = 111, TRANS = 112;

    static int cblasOp(boolean trans) {
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
            openblas_nolapack.cblas_sgemm(ROW_MAJOR, cblasOp(transA), cblasOp(transB), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        }

        @Override
        void sgemv(boolean trans, int m, int n, float alpha, FloatBuffer a, int lda, FloatBuffer x, float beta, FloatBuffer y) {
            openblas_nolapack.cblas_sgemv(ROW_MAJOR, cblasOp(trans), m, n, alpha, a, lda, x, 1, beta, y, 1);
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
}
