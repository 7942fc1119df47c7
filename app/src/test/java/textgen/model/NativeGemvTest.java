package textgen.model;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;
import static textgen.model.KernelData.copy;
import static textgen.model.KernelData.noiseBuffer;

/** textgen's native batch-1 product ({@link NativeGemv}) against OpenBLAS, and what its callers rely on. */
class NativeGemvTest {
    private static final Blas OPENBLAS = new Blas.OpenBlas();

    /** The kernels this CPU can run: AVX-512 and AVX2 on a CPU with AVX-512 (every such CPU has AVX2 with FMA). */
    private static List<Integer> kernels() {
        assumeTrue(NativeGemv.LANES > 0, "native GEMV not in use: " + NativeGemv.STATUS);
        return NativeGemv.LANES == 512 ? List.of(512, 256) : List.of(256);
    }

    /** CI installs gcc (.ci/run), so there the build must have made the library and this CPU must run it. */
    @Test
    void inUseWhereCiBuiltIt() {
        assumeTrue("true".equals(System.getenv("CI")), "not CI");
        assertTrue(NativeGemv.LANES > 0, NativeGemv.STATUS);
    }

    /**
     * y += A x as OpenBLAS gives it (to float rounding), y accumulated, for sizes around both kernels' widths: rows
     * not a multiple of 8 (the kernels' block), columns below, at and not a multiple of the 8 or 16 lanes.
     */
    @ParameterizedTest
    @CsvSource({"1, 1", "1, 7", "3, 5", "7, 16", "9, 17", "8, 8", "16, 31", "257, 65", "801, 200", "2048, 512", "1024, 1000"})
    void equalsOpenBlas(int m, int n) {
        for (int lanes : kernels()) {
            Random rnd = new Random(m * 31L + n);
            FloatBuffer a = noiseBuffer(rnd, m * n), x = noiseBuffer(rnd, n), y0 = noiseBuffer(rnd, m);
            FloatBuffer mine = copy(y0), reference = copy(y0);
            NativeGemv.gemv(lanes, m, n, a, 0, x, mine, 0);
            OPENBLAS.sgemv(false, m, n, 1f, a, n, x, 1f, reference);
            for (int i = 0; i < m; i++) assertEquals(reference.get(i), mine.get(i), 2e-6f * n, lanes + " lanes, row " + i);
        }
    }

    /**
     * A row's result does not depend on the rows computed with it: any cut of the rows (as {@link StepPartner} makes,
     * inside or across the kernels' blocks of 8) gives the same bits as one call, and so does a single row.
     */
    @Test
    void rowsGiveTheSameBitsWhereverTheyAreCut() {
        int m = 203, n = 77;
        for (int lanes : kernels()) {
            Random rnd = new Random(13);
            FloatBuffer a = noiseBuffer(rnd, m * n), x = noiseBuffer(rnd, n), y0 = noiseBuffer(rnd, m);
            FloatBuffer whole = copy(y0);
            NativeGemv.gemv(lanes, m, n, a, 0, x, whole, 0);
            for (int[] cuts : new int[][] {{0, 101, 203}, {0, 5, 13, 200, 203}, {0, 8, 16, 24, 203}}) {
                FloatBuffer cut = copy(y0);
                for (int c = 0; c + 1 < cuts.length; c++) {
                    NativeGemv.gemv(lanes, cuts[c + 1] - cuts[c], n, a, (long) cuts[c] * n, x, cut, cuts[c]);
                }
                assertEquals(whole, cut, lanes + " lanes, cut at " + java.util.Arrays.toString(cuts));
            }
            for (int j = 0; j < m; j++) {
                FloatBuffer one = copy(y0);
                NativeGemv.gemv(lanes, 1, n, a, (long) j * n, x, one, j);
                assertEquals(Float.floatToIntBits(whole.get(j)), Float.floatToIntBits(one.get(j)), lanes + " lanes, row " + j + " alone");
            }
        }
    }

    /** Operands that start inside their buffers (a position, or a view) and the rows after m are left alone. */
    @Test
    void readsAndWritesOnlyItsOperands() {
        int m = 37, n = 29;
        for (int lanes : kernels()) {
            Random rnd = new Random(17);
            FloatBuffer a = noiseBuffer(rnd, 3 + m * n), x = noiseBuffer(rnd, 1 + n), y0 = noiseBuffer(rnd, 2 + m + 5);
            FloatBuffer mine = copy(y0), reference = copy(y0);
            NativeGemv.gemv(lanes, m, n, CpuKernels.at(a, 3), 0, x.position(1), CpuKernels.at(mine, 2), 0);
            x.position(0);
            OPENBLAS.sgemv(false, m, n, 1f, CpuKernels.at(a, 3), n, CpuKernels.at(x, 1), 1f, CpuKernels.at(reference, 2));
            for (int i = 0; i < y0.capacity(); i++) {
                boolean written = i >= 2 && i < 2 + m;
                if (written) assertEquals(reference.get(i), mine.get(i), 2e-6f * n, lanes + " lanes, y " + i);
                else assertEquals(y0.get(i), mine.get(i), lanes + " lanes, y " + i + " is not an output");
            }
        }
    }

    /**
     * Without gcc, or with one that fails, the build script says so in one line, succeeds and builds nothing (textgen
     * then runs on the BLAS); with a working one (where this JVM loaded the library the build made), a shared library.
     */
    @Test
    void theBuildScriptWithAndWithoutGcc(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        java.nio.file.Path root = java.nio.file.Path.of(System.getProperty("textgen.root", "..")).toAbsolutePath().normalize();
        java.nio.file.Path bin = java.nio.file.Files.createDirectories(dir.resolve("bin")), out = dir.resolve("lib/libtextgen.so");
        for (String tool : List.of("bash", "uname", "mkdir", "mv", "rm", "dirname")) {
            java.nio.file.Files.createSymbolicLink(bin.resolve(tool), java.nio.file.Path.of("/usr/bin", tool).toRealPath());
        }
        ProcessBuilder pb = new ProcessBuilder(bin.resolve("bash").toString(), root.resolve("scripts/lib/build-native.sh").toString(),
                root.resolve("app/src/main/c").toString(), out.toString(), System.getProperty("java.home")).redirectErrorStream(true);
        pb.environment().put("PATH", bin.toString());
        Process p = pb.start();
        String said = new String(p.getInputStream().readAllBytes()).strip();
        assertEquals(0, p.waitFor(), said);
        assertEquals("textgen: native kernels not built: gcc is not installed; the BLAS does batch-1 products (slower sampling and scoring)", said);
        assertFalse(java.nio.file.Files.exists(out));
        java.nio.file.Files.writeString(bin.resolve("gcc"), "#!" + bin.resolve("bash") + "\necho 'gcc: error: unrecognized command-line option' >&2\nexit 1\n");
        assertTrue(bin.resolve("gcc").toFile().setExecutable(true));
        p = pb.start();
        said = new String(p.getInputStream().readAllBytes()).strip();
        assertEquals(0, p.waitFor(), said);
        assertEquals("gcc: error: unrecognized command-line option\n"
                + "textgen: native kernels not built: gcc failed (above); the BLAS does batch-1 products (slower sampling and scoring)", said);
        assertFalse(java.nio.file.Files.exists(out));
        assumeTrue(NativeGemv.LANES > 0, "native GEMV not in use: " + NativeGemv.STATUS);
        pb.environment().put("PATH", System.getenv("PATH"));
        p = pb.start();
        said = new String(p.getInputStream().readAllBytes()).strip();
        assertEquals(0, p.waitFor(), said);
        assertEquals("", said);
        byte[] elf = java.util.Arrays.copyOf(java.nio.file.Files.readAllBytes(out), 4);
        assertArrayEquals(new byte[] {0x7f, 'E', 'L', 'F'}, elf, "a shared library");
        assertFalse(java.nio.file.Files.exists(dir.resolve("lib/libtextgen.so.tmp")));
    }

    /** Sizes past an operand's end are refused in Java, before native code could read or write past it. */
    @Test
    void outOfBoundsOperandsAreRefused() {
        kernels();
        FloatBuffer a = CpuKernels.alloc(4 * 3), x = CpuKernels.alloc(3), y = CpuKernels.alloc(4);
        List<Runnable> bad = new ArrayList<>(List.of(
                () -> NativeGemv.gemv(5, 3, a, 0, x, y, 0),
                () -> NativeGemv.gemv(4, 3, a, 1, x, y, 0),
                () -> NativeGemv.gemv(4, 4, a, 0, x, y, 0),
                () -> NativeGemv.gemv(4, 3, a, 0, x, y, 1),
                () -> NativeGemv.gemv(-1, 3, a, 0, x, y, 0),
                () -> NativeGemv.gemv(4, 3, FloatBuffer.allocate(12), 0, x, y, 0)));
        for (int i = 0; i < bad.size(); i++) assertThrows(IllegalArgumentException.class, bad.get(i)::run, "case " + i);
    }
}
