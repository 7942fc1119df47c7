package textgen.model;

import org.bytedeco.openblas.global.openblas_nolapack;

import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.IntPredicate;

/**
 * Two stacked LSTM layers on two cores at once (a wavefront): while the lower layer's kernel runs step t+k on the
 * pipeline thread, the upper layer's kernel runs the steps before on the training thread, taking its input in chunks
 * of steps as soon as the lower one has written them; backward runs the other way round (the upper layer on the
 * pipeline thread hands the lower one its input gradient chunk by chunk). Each kernel then calls OpenBLAS with one
 * thread and keeps its gate arithmetic on its own thread.
 *
 * <p>Why: a small model's step is a chain of small products (32 x 200 x 800 for a 2 x 200 model), which two OpenBLAS
 * threads speed up little; two layers side by side keep both cores on useful work.
 *
 * <p>Determinism: which layers pair up and how steps are chunked depend on the shapes only, every product is computed
 * by one thread in a fixed order, and the threads only wait for each other, so the results are the same run to run
 * (and equal to the one-layer-at-a-time kernel: LstmKernelTest).
 */
final class LayerPipeline {
    /** On when there are two cores for the kernels ({@code -Dtextgen.pipeline=off} turns it off, for comparisons). */
    static final boolean ENABLED = CpuKernels.THREADS >= 2 && !"off".equals(System.getProperty("textgen.pipeline"));
    private static final int CHUNKS = Math.max(1, Integer.getInteger("textgen.pipelineChunks", 8));
    private static final ExecutorService THREAD = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "textgen-layer-pipeline");
        t.setDaemon(true);
        return t;
    });

    private LayerPipeline() {
    }

    /** Steps per chunk for a segment of {@code steps}: the segment in 8 parts ({@code -Dtextgen.pipelineChunks=N}). */
    static int chunk(int steps) {
        return Math.max(1, (steps + CHUNKS - 1) / CHUNKS);
    }

    /** Starts {@code work} on the pipeline thread, with single-threaded OpenBLAS calls until {@link #end}. */
    static Future<?> start(Runnable work) {
        openblas_nolapack.blas_set_num_threads(1);
        return THREAD.submit(work);
    }

    /**
     * Starts {@code lower}'s forward pass (prepared, with its input and initial state) on the pipeline thread; then
     * {@link #follow} runs the kernel above it.
     */
    static Future<?> startForward(LstmKernel lower) {
        lower.splitRows = false;
        return start(lower::forward);
    }

    /**
     * Runs {@code upper}'s forward pass (prepared, with its initial state) on this thread in chunks of steps, each as
     * soon as {@code lower} (started by {@link #startForward}) has written it, reading lower's output buffer as input;
     * waits for {@code lower} to finish.
     */
    static void follow(Future<?> lowerTask, LstmKernel lower, LstmKernel upper) {
        int steps = lower.steps();
        upper.useInput(lower.outputs());
        upper.splitRows = false;
        try {
            int chunk = chunk(steps);
            for (int s0 = 0; s0 < steps; s0 += chunk) {
                int s1 = Math.min(steps, s0 + chunk);
                await(lowerTask, want -> lower.forwardDone >= want, s1);
                upper.projectInput(s0, s1);
                upper.recur(s0, s1);
            }
        } finally {
            upper.splitRows = true;
        }
    }

    /** Waits for {@code task} (rethrowing what it threw) and gives OpenBLAS its threads back. */
    static void end(Future<?> task) {
        try {
            join(task);
        } finally {
            openblas_nolapack.blas_set_num_threads(CpuKernels.THREADS);
        }
    }

    private static void join(Future<?> task) {
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    task.get();
                    return;
                } catch (InterruptedException e) {
                    interrupted = true; // the pipeline thread's work must finish before anyone reuses its buffers
                }
            }
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof RuntimeException r) throw r;
            if (c instanceof Error err) throw err;
            throw new IllegalStateException(c);
        } finally {
            if (interrupted) Thread.currentThread().interrupt();
        }
    }

    /**
     * Waits until {@code reached} holds for {@code want} (the other thread publishes its progress through a volatile
     * field): spinning, as the wait is usually a fraction of a step, and yielding the core after a few thousand
     * spins, for when other processes want it.
     */
    static void await(Future<?> task, IntPredicate reached, int want) {
        long t0 = StepProfile.start();
        for (int spins = 0; !reached.test(want); spins++) {
            if (task.isDone()) {
                join(task); // throws what the other side threw
                if (!reached.test(want)) throw new IllegalStateException("layer pipeline: the other layer stopped early");
            }
            if (spins < 4096) Thread.onSpinWait();
            else Thread.yield();
        }
        StepProfile.stop(StepProfile.Phase.WAIT, t0);
    }
}
