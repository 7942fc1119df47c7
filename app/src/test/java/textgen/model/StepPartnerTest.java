package textgen.model;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.*;
import static textgen.model.KernelData.copy;
import static textgen.model.KernelData.noiseBuffer;

/** Batch-1 step products cut in two halves ({@link Blas#stepGemv}, {@link StepPartner}). */
class StepPartnerTest {
    private static final Blas OPENBLAS = new Blas.OpenBlas();

    /** The halves give what one GEMV gives (to float rounding), odd sizes and one row included, y accumulated. */
    @ParameterizedTest
    @CsvSource({"1, 7", "3, 5", "257, 65", "801, 200", "2048, 512"})
    void halvesEqualOneGemv(int m, int n) {
        Random rnd = new Random(m * 31L + n);
        FloatBuffer a = noiseBuffer(rnd, m * n), x = noiseBuffer(rnd, n), y0 = noiseBuffer(rnd, m);
        FloatBuffer mine = copy(y0), reference = copy(y0);
        Blas.stepGemv(m, n, a, x, mine);
        OPENBLAS.sgemv(false, m, n, 1f, a, n, x, 1f, reference);
        for (int i = 0; i < m; i++) assertEquals(reference.get(i), mine.get(i), 1e-6f * n, "row " + i);
    }

    /**
     * The same bits whoever computes the second half: the partner, this thread when the partner is held by another
     * caller (here: a product started inside the first half of another), or after the partner has parked.
     */
    @Test
    void theSameBitsWhoeverRunsTheSecondHalf() throws InterruptedException {
        int m = 2048, n = 512;
        Random rnd = new Random(3);
        FloatBuffer a = noiseBuffer(rnd, m * n), x = noiseBuffer(rnd, n), y0 = noiseBuffer(rnd, m);
        FloatBuffer byPartner = copy(y0);
        Blas.stepGemv(m, n, a, x, byPartner);
        FloatBuffer whileHeld = copy(y0);
        StepPartner.split(2, (r0, r1) -> {
            if (r0 == 0) Blas.stepGemv(m, n, a, x, whileHeld);
        });
        Thread.sleep(20); // the partner parks after 0.2 ms without work
        FloatBuffer afterParking = copy(y0);
        Blas.stepGemv(m, n, a, x, afterParking);
        assertEquals(byPartner, whileHeld);
        assertEquals(byPartner, afterParking);
    }

    /** Several threads stepping at once (one holds the partner, the others run both halves) all get the right bits. */
    @Test
    void concurrentCallersEachGetTheirOwnResult() throws Exception {
        int m = 1024, n = 256, callers = 4;
        Random rnd = new Random(5);
        FloatBuffer a = noiseBuffer(rnd, m * n);
        List<FloatBuffer> xs = new ArrayList<>(), expected = new ArrayList<>();
        for (int c = 0; c < callers; c++) {
            FloatBuffer x = noiseBuffer(rnd, n), y = CpuKernels.alloc(m);
            Blas.stepGemv(m, n, a, x, y);
            xs.add(x);
            expected.add(y);
        }
        ExecutorService pool = Executors.newFixedThreadPool(callers);
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int c = 0; c < callers; c++) {
                int caller = c;
                done.add(pool.submit(() -> {
                    for (int rep = 0; rep < 300; rep++) {
                        FloatBuffer y = CpuKernels.alloc(m);
                        Blas.stepGemv(m, n, a, xs.get(caller), y);
                        assertEquals(expected.get(caller), y, "caller " + caller + ", repetition " + rep);
                    }
                }));
            }
            for (Future<?> f : done) f.get();
        } finally {
            pool.shutdownNow();
        }
    }

    /** A failure in the partner's half is thrown in the caller, and the partner serves the next call. */
    @Test
    void aFailureInThePartnersHalfReachesTheCaller() {
        assumeTwoCores();
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> StepPartner.split(4, (r0, r1) -> {
            if (r0 > 0) throw new IllegalStateException("half " + r0);
            sleepMillis(5); // the partner takes its half meanwhile
        }));
        assertEquals("half 2", e.getMessage());
        int[] rows = new int[4];
        StepPartner.split(4, (r0, r1) -> {
            for (int r = r0; r < r1; r++) rows[r]++;
        });
        assertArrayEquals(new int[] {1, 1, 1, 1}, rows);
    }

    /**
     * A partner's half that takes long (as when the partner is preempted) is waited for with the caller parked, not
     * spinning: the call returns only with both halves done, and the next call works as before.
     */
    @Test
    void aSlowPartnersHalfIsWaitedFor() {
        assumeTwoCores();
        for (int rep = 0; rep < 3; rep++) {
            int[] rows = new int[4];
            String[] by = new String[4];
            StepPartner.split(4, (r0, r1) -> {
                by[r0] = Thread.currentThread().getName();
                if (r0 > 0) sleepMillis(20); // longer than the first half: the caller waits past its spin
                else sleepMillis(5); // the partner takes its half meanwhile
                for (int r = r0; r < r1; r++) rows[r]++;
            });
            assertArrayEquals(new int[] {1, 1, 1, 1}, rows, "repetition " + rep);
            assertEquals("textgen-step-partner", by[2], "repetition " + rep);
        }
    }

    private static void assumeTwoCores() {
        org.junit.jupiter.api.Assumptions.assumeTrue(CpuKernels.THREADS > 1, "one core: no partner");
    }

    private static void sleepMillis(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
