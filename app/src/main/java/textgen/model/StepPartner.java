package textgen.model;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * The second core for work too short for the fork-join pool: the products of a batch-1 step (sampling, scoring), each
 * 40-90 us, whose rows {@link #split} cuts in two halves, one here and one on a thread of its own. That thread spins
 * for the next half for up to {@link #SPIN_NANOS} after each one, then parks: waking a parked thread takes tens of
 * microseconds, as long as the half itself. The caller, in turn, spins for the partner's half for up to
 * {@link #WAIT_SPIN_NANOS}, then parks until the partner is done: a longer wait means the partner was preempted (by
 * HotSpot's compiler threads early in a run, or another process), and a caller spinning on its core would keep the
 * preempted partner off it.
 *
 * <p>Why not MKL's own threads: on an AMD EPYC (family 26), MKL's GEMV ran a 2048 x 512 step product no faster on two
 * OpenMP threads than on one (78-92 us), while two single-threaded calls on two halves took 43 us; on an Intel Xeon
 * (model 207) the halves were 5-10% faster than MKL's two threads.
 *
 * <p>The cut is the same whatever happens at run time: when the partner is busy (another caller has it) or there is
 * one core, this thread runs both halves itself, so the results do not depend on timing or thread count.
 */
final class StepPartner {
    /** How long the partner spins for the next half before it parks: longer than a step's gate arithmetic and softmax. */
    private static final long SPIN_NANOS = 200_000;
    /**
     * How long the caller spins for the partner's half before it parks. Measured on an AMD EPYC (family 26), 2,000
     * characters sampled from model c, 8 runs each: waits over 200 us fell from 11-26 per run (37-99 ms) to 8-12
     * (14-39 ms), characters/s median 4,685 -> 5,212; scoring unchanged (10,016 -> 10,046).
     */
    private static final long WAIT_SPIN_NANOS = 50_000;
    private static final int IDLE = 0, POSTED = 1, TAKEN = 2, DONE = 3;

    private static final AtomicBoolean HELD = new AtomicBoolean();
    private static final AtomicInteger STATE = new AtomicInteger(IDLE);
    private static volatile Runnable job;
    private static volatile Throwable failure;
    private static volatile boolean parked;
    private static volatile Thread waiter; // the caller, while it is parked for the partner's half
    private static Thread thread; // guarded by HELD

    private StepPartner() {
    }

    /** Runs {@code body} on rows [0, rows/2) here and [rows/2, rows) on the partner (or here), and waits for both. */
    static void split(int rows, CpuKernels.RowRange body) {
        int mid = rows / 2;
        if (mid == 0) {
            body.run(0, rows);
            return;
        }
        if (CpuKernels.THREADS < 2 || !HELD.compareAndSet(false, true)) {
            body.run(0, mid);
            body.run(mid, rows);
            return;
        }
        try {
            if (thread == null) thread = start();
            failure = null;
            job = () -> body.run(mid, rows);
            STATE.set(POSTED);
            if (parked) LockSupport.unpark(thread);
            boolean ours; // the partner had not taken its half yet: this thread runs it
            try {
                body.run(0, mid);
            } finally {
                ours = STATE.compareAndSet(POSTED, IDLE);
                if (!ours) {
                    awaitPartner();
                    STATE.set(IDLE);
                }
                job = null;
            }
            if (ours) {
                body.run(mid, rows);
            } else if (failure instanceof RuntimeException e) {
                throw e;
            } else if (failure instanceof Error e) {
                throw e;
            }
        } finally {
            HELD.set(false);
        }
    }

    private static void awaitPartner() {
        long since = System.nanoTime();
        int spins = 0;
        while (STATE.get() != DONE) {
            if ((++spins & 63) == 0 && System.nanoTime() - since > WAIT_SPIN_NANOS) {
                waiter = Thread.currentThread();
                // the partner sets DONE before it reads waiter: it unparks this thread or this check sees DONE
                if (STATE.get() != DONE) LockSupport.parkNanos(StepPartner.class, 1_000_000);
                waiter = null;
            } else {
                Thread.onSpinWait();
            }
        }
    }

    private static Thread start() {
        Thread t = new Thread(StepPartner::serve, "textgen-step-partner");
        t.setDaemon(true);
        t.start();
        return t;
    }

    private static void serve() {
        while (true) {
            long since = System.nanoTime();
            int spins = 0;
            while (STATE.get() != POSTED) {
                if ((++spins & 63) == 0 && System.nanoTime() - since > SPIN_NANOS) {
                    parked = true;
                    if (STATE.get() != POSTED) LockSupport.park(StepPartner.class);
                    parked = false;
                    since = System.nanoTime();
                } else {
                    Thread.onSpinWait();
                }
            }
            if (!STATE.compareAndSet(POSTED, TAKEN)) continue; // the caller took it back
            try {
                job.run();
            } catch (Throwable e) {
                failure = e;
            }
            STATE.set(DONE);
            Thread w = waiter;
            if (w != null) LockSupport.unpark(w);
        }
    }
}
