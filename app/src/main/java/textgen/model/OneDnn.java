package textgen.model;

import org.bytedeco.dnnl.global.dnnl;
import org.nd4j.nativeblas.NativeOps;
import org.nd4j.nativeblas.NativeOpsHolder;

import java.nio.FloatBuffer;

/**
 * Intel's oneDNN 2.5 (JavaCPP's build) as the BLAS under textgen's CPU kernels: its {@code dnnl_sgemm} generates its
 * kernels for the instruction sets the CPU reports, whoever made it, where MKL gives CPUs not made by Intel its
 * generic code. On 2 vCPUs of an AMD EPYC (family 26, AVX-512), one thread, the kernels' per-step shapes ran at
 * 128-213 GFLOP/s against MKL's 71-95 (16x200x800 to 1600x200x800), and a batch-1 step's 2048 x 512 GEMV in 52 us
 * against 77 ({@link Blas#choose}).
 *
 * <p>oneDNN runs on the GNU OpenMP that ND4J loads, with the calling thread's OpenMP thread count: each thread's
 * count is set to 1 on its first call (textgen cuts products into parts on its own threads, as with MKL), and
 * {@link #withThreads} changes it for a body through ND4J's {@code setOmpNumThreads}, which sets the calling thread's
 * count in that same library. oneDNN has no packed-operand API ({@link #pack} keeps B as it is). Its results do not
 * depend on the operands' alignment (BlasTest).
 */
final class OneDnn extends Blas {
    private static final NativeOps OPS = NativeOpsHolder.getInstance().getDeviceNativeOps();
    private static final ThreadLocal<Boolean> SET = ThreadLocal.withInitial(() -> {
        OPS.setOmpNumThreads(1);
        return Boolean.TRUE;
    });

    /** Loads oneDNN (its class's initialization) here, so that a library that cannot load fails in {@link Blas#choose}. */
    OneDnn() {
        if (dnnl.dnnl_get_effective_cpu_isa() == dnnl.dnnl_cpu_isa_all) throw new IllegalStateException("oneDNN found no instruction set");
    }

    @Override
    String name() {
        return "oneDNN";
    }

    @Override
    void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha, FloatBuffer a, int lda,
              FloatBuffer b, int ldb, float beta, FloatBuffer c, int ldc) {
        SET.get();
        check(dnnl.dnnl_sgemm(op(transA), op(transB), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc));
    }

    /** As a one-row product: y' = x' A' (or x' A when transposed), x and y contiguous. */
    @Override
    void sgemv(boolean trans, int m, int n, float alpha, FloatBuffer a, int lda, FloatBuffer x, float beta, FloatBuffer y) {
        if (trans) gemm(false, false, 1, n, m, alpha, x, m, a, lda, beta, y, n);
        else gemm(false, true, 1, m, n, alpha, x, n, a, lda, beta, y, m);
    }

    @Override
    boolean parallelCalls() {
        return true;
    }

    @Override
    int threads() {
        SET.get();
        return OPS.ompGetMaxThreads();
    }

    @Override
    void withThreads(int threads, Runnable body) {
        int previous = threads();
        if (previous == threads) {
            body.run();
            return;
        }
        OPS.setOmpNumThreads(threads);
        try {
            body.run();
        } finally {
            OPS.setOmpNumThreads(previous);
        }
    }

    private static byte op(boolean trans) {
        return (byte) (trans ? 'T' : 'N');
    }

    private static void check(int status) {
        if (status != dnnl.dnnl_success) throw new IllegalStateException("oneDNN sgemm failed with status " + status);
    }
}
