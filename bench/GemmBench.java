import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;

import static org.bytedeco.openblas.global.openblas_nolapack.CblasNoTrans;
import static org.bytedeco.openblas.global.openblas_nolapack.CblasRowMajor;
import static org.bytedeco.openblas.global.openblas_nolapack.CblasTrans;
import static org.bytedeco.openblas.global.openblas_nolapack.blas_set_num_threads;
import static org.bytedeco.openblas.global.openblas_nolapack.cblas_sgemm;

/**
 * The OpenBLAS products of textgen's kernels at the shapes its bench configs use (rows x inputs x outputs, as the
 * kernels call them: out += in M^T): GFLOP/s on one thread, on two, and two single-threaded calls from two Java
 * threads at once. Run it alone on an idle machine (bench/README.md, Speed on AMD EPYC):
 *
 * <pre>mvn -B -q package -DskipTests && java -cp "app/target/lib/*" bench/GemmBench.java</pre>
 */
public class GemmBench {
    static final int[][] SHAPES = {{32, 200, 800}, {50, 128, 512}, {64, 512, 2048}, {50, 512, 128}, {1600, 200, 800}};

    static FloatBuffer random(int n) {
        FloatBuffer b = ByteBuffer.allocateDirect(n * 4).order(ByteOrder.nativeOrder()).asFloatBuffer();
        for (int i = 0; i < n; i++) b.put(i, (float) Math.random());
        return b;
    }

    /** GFLOP/s of about 2 GFLOP of m x k x n products (after a tenth as warm-up). */
    static double rate(int m, int k, int n) {
        FloatBuffer a = random(m * k), w = random(n * k), c = random(m * n);
        int reps = Math.max(10, (int) (1e9 / (2.0 * m * k * n)));
        for (int i = 0; i < reps / 10; i++) cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1f, a, k, w, k, 1f, c, n);
        long t0 = System.nanoTime();
        for (int i = 0; i < reps; i++) cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1f, a, k, w, k, 1f, c, n);
        return 2.0 * m * k * n * reps / (System.nanoTime() - t0);
    }

    public static void main(String[] args) throws InterruptedException {
        System.out.printf("%-16s %10s %10s %22s%n", "m x k x n", "1 thread", "2 threads", "two 1-thread calls");
        for (int[] s : SHAPES) {
            blas_set_num_threads(1);
            double one = rate(s[0], s[1], s[2]);
            double[] pair = new double[2];
            Thread other = new Thread(() -> pair[1] = rate(s[0], s[1], s[2]));
            other.start();
            pair[0] = rate(s[0], s[1], s[2]);
            other.join();
            blas_set_num_threads(2);
            double two = rate(s[0], s[1], s[2]);
            System.out.printf("%-16s %10.1f %10.1f %11.1f + %.1f%n", s[0] + "x" + s[1] + "x" + s[2], one, two, pair[0], pair[1]);
        }
        System.out.println("GFLOP/s (OpenBLAS as bundled with ND4J, cblas_sgemm on direct buffers)");
    }
}
