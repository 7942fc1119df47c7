package textgen.model;

import org.bytedeco.openblas.global.openblas_nolapack;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The kernels' OpenBLAS thread count survives ND4J's initialization, which sets the same library's count to its
 * OpenMP threads (one, under the launcher). Needs a JVM in which ND4J has not started yet, so it runs one: the kernels
 * first (as {@link Predictor#warmUp} does while a checkpoint loads), then ND4J.
 */
class KernelThreadsTest {
    /** The child JVM: uses the kernels, then starts ND4J, and prints the thread count the kernels' products get. */
    public static void main(String[] args) {
        try (Predictor.WarmUp ignored = Predictor.warmUp()) {
            org.nd4j.linalg.factory.Nd4j.create(2, 2); // what reading a checkpoint does meanwhile
        }
        System.out.println("threads=" + openblas_nolapack.blas_get_num_threads());
    }

    @Test
    void nd4jStartingAfterTheKernelsKeepsTheirThreads() throws Exception {
        List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx256m",
                "-Dtextgen.threads=2", "-cp", System.getProperty("java.class.path"), KernelThreadsTest.class.getName());
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().put("OMP_NUM_THREADS", "1");
        Process p = pb.start();
        try {
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(120, TimeUnit.SECONDS), out);
            assertEquals(0, p.exitValue(), out);
            assertTrue(out.contains("threads=2"), out);
        } finally {
            p.destroyForcibly();
        }
    }
}
