package textgen.model;

import org.bytedeco.javacpp.ClassProperties;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.mkl.global.mkl_rt;

import java.io.IOException;
import java.net.URL;
import java.nio.FloatBuffer;

/**
 * Intel MKL (the oneMKL 2022.0 that JavaCPP ships as a Maven artifact) through its mkl_rt.
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
final class Mkl extends Blas {
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
        mkl_rt.cblas_sgemm(ROW_MAJOR, cblasOp(transA), cblasOp(transB), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    }

    @Override
    int threads() {
        return mkl_rt.MKL_Get_Max_Threads();
    }

    @Override
    void sgemv(boolean trans, int m, int n, float alpha, FloatBuffer a, int lda, FloatBuffer x, float beta, FloatBuffer y) {
        mkl_rt.cblas_sgemv(ROW_MAJOR, cblasOp(trans), m, n, alpha, a, lda, x, 1, beta, y, 1);
    }

    @Override
    Packed pack(Packed reuse, boolean transB, int m, int n, int k, FloatBuffer b, int ldb) {
        long bytes = mkl_rt.cblas_sgemm_pack_get_size(B_MATRIX, m, n, k);
        FloatBuffer dest = reuse != null && reuse.b.capacity() * 4L >= bytes ? reuse.b : CpuKernels.alloc((bytes + 3) / 4);
        mkl_rt.cblas_sgemm_pack(ROW_MAJOR, B_MATRIX, cblasOp(transB), m, n, k, 1f, b, ldb, dest);
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
}
