package textgen.model;

import java.io.InputStream;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * A batch-1 step's product (sampling, scoring) in textgen's own native code, {@code app/src/main/c/textgen_gemv.c}:
 * y += A x for a row-major A, eight rows at a time with AVX-512 or AVX2. Streaming A is the whole cost of that
 * product: on 2 vCPUs of an AMD EPYC (family 26), a 2048 x 512 product in two halves on two threads took a median
 * 31-33 us here against oneDNN's 35 (aligned buffers, runs alternating), and 26.6 us in a C program alone, about
 * the rate the two cores stream memory at; sampling ran 12-18% faster, scoring 4-7% (bench/README.md, A native
 * batch-1 product).
 *
 * <p>The library, which also holds {@link NativeLstm}'s recurrence, is built with the jar when gcc is there ({@code scripts/lib/build-native.sh}) and loaded from it;
 * without it, on a CPU with neither instruction set, or with {@code -Dtextgen.gemv=blas}, {@link Blas#stepGemv} uses
 * the BLAS. A row's result does not depend on which rows are computed with it, so where the rows are cut changes
 * nothing.
 */
final class NativeGemv {
    /** The resource the build puts the library at. */
    static final String RESOURCE = "/textgen/native/linux-x86_64/libtextgen.so";
    /** 512 (AVX-512), 256 (AVX2 with FMA), or 0: not in use ({@link #STATUS} says why). */
    static final int LANES;
    /** What {@link #LANES} came from, for the banner: "AVX-512", "AVX2", or why the BLAS does the product. */
    static final String STATUS;

    static {
        int lanes = 0;
        String status;
        try {
            status = load();
            if (status == null) {
                lanes = lanes();
                status = lanes == 512 ? "AVX-512" : lanes == 256 ? "AVX2" : "unused: no AVX2 or AVX-512 on this CPU";
            }
        } catch (java.io.IOException | RuntimeException | LinkageError e) {
            status = "not loadable: " + e.getMessage();
        }
        LANES = lanes;
        STATUS = status;
    }

    private NativeGemv() {
    }

    /** For the banner: "batch-1 steps native AVX-512" (this product and {@link NativeLstm}), or why the BLAS and Java do them. */
    static String describe() {
        return "batch-1 steps " + (LANES > 0 ? "native " + STATUS : "on it, native kernels " + STATUS);
    }

    /** Loads the library from the jar (or the classes directory); null, or why it was not. */
    private static String load() throws java.io.IOException {
        if (System.getProperty("textgen.gemv", "native").equals("blas")) return "switched off by -Dtextgen.gemv=blas";
        if (!System.getProperty("os.name").equals("Linux") || !System.getProperty("os.arch").equals("amd64")) return "not built for this platform";
        try (InputStream in = NativeGemv.class.getResourceAsStream(RESOURCE)) {
            if (in == null) return "not built: no working gcc when textgen was built";
            Path tmp = Files.createTempFile("libtextgen", ".so");
            try {
                Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
                System.load(tmp.toAbsolutePath().toString());
            } finally {
                Files.deleteIfExists(tmp); // the loaded library stays mapped
            }
        }
        return null;
    }

    /** y[yOff + j] += A[aOff + j n ...] . x for j in [0, m), A's rows n floats apart; x and y contiguous. */
    static void gemv(int m, int n, FloatBuffer a, long aOff, FloatBuffer x, FloatBuffer y, long yOff) {
        gemv(LANES, m, n, a, aOff, x, y, yOff);
    }

    /** As {@link #gemv(int, int, FloatBuffer, long, FloatBuffer, FloatBuffer, long)} with the kernel for {@code lanes}. */
    static void gemv(int lanes, int m, int n, FloatBuffer a, long aOff, FloatBuffer x, FloatBuffer y, long yOff) {
        if (LANES == 0) throw new IllegalStateException("native GEMV not in use: " + STATUS);
        if (lanes != 256 && lanes != LANES) throw new IllegalArgumentException("no " + lanes + "-bit kernel on this CPU");
        if (m < 0 || n < 0 || aOff < 0 || yOff < 0 || aOff + (long) m * n > a.remaining() || n > x.remaining() || yOff + m > y.remaining()
                || !a.isDirect() || !x.isDirect() || !y.isDirect()) {
            throw new IllegalArgumentException("native GEMV out of bounds: m " + m + ", n " + n + ", A " + a.remaining() + " from " + aOff
                    + ", x " + x.remaining() + ", y " + y.remaining() + " from " + yOff);
        }
        if (m == 0 || n == 0) return;
        run(lanes, m, n, a, aOff + a.position(), x, x.position(), y, yOff + y.position());
    }

    private static native int lanes();

    private static native void run(int lanes, int m, int n, FloatBuffer a, long aOff, FloatBuffer x, long xOff, FloatBuffer y, long yOff);
}
