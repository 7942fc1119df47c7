package textgen.cli;

import java.util.concurrent.atomic.AtomicBoolean;

/**
 * SIGINT/SIGTERM/SIGHUP handling. While training, the first signal asks the trainer to stop after the current step and
 * save (exit 130); a second one, or any signal outside training, ends the process at once with 130. SIGHUP (the
 * terminal or ssh session went away) saves like the others: the run is not lost with its terminal; under nohup it
 * stays ignored (the JVM leaves a signal ignored at start-up alone). A second signal within
 * {@link #DUPLICATE_NANOS} of the first is the same request delivered twice, not a second one: a wrapper script (the
 * batch scripts in scripts/) passes on the signal that its process group, or the whole Slurm job, also sent to textgen.
 */
public final class StopSignal {
    static final long DUPLICATE_NANOS = 1_000_000_000L;
    private final AtomicBoolean armed = new AtomicBoolean();
    private final AtomicBoolean requested = new AtomicBoolean();
    private final Runnable exitNow;
    private final java.util.function.LongSupplier nanoTime;
    private volatile long requestedAt;

    public StopSignal(Runnable exitNow) {
        this(exitNow, System::nanoTime);
    }

    StopSignal(Runnable exitNow, java.util.function.LongSupplier nanoTime) {
        this.exitNow = exitNow;
        this.nanoTime = nanoTime;
    }

    /** Installs handlers for INT, TERM and HUP (only in the real process, never in tests). */
    public void install() {
        for (String name : new String[]{"INT", "TERM", "HUP"}) {
            try {
                sun.misc.Signal.handle(new sun.misc.Signal(name), s -> onSignal());
            } catch (IllegalArgumentException e) {
                // signal not available on this platform
            }
        }
    }

    void onSignal() {
        long now = nanoTime.getAsLong();
        if (armed.get() && requested.compareAndSet(false, true)) {
            requestedAt = now;
            System.err.println("textgen: stopping after this step and saving a checkpoint (signal again to quit at once)");
        } else if (!armed.get() || now - requestedAt >= DUPLICATE_NANOS) {
            exitNow.run();
        }
    }

    /** Runs {@code work} (a training run) with the first signal turned into a stop request. */
    public <T> T armedDuring(java.util.function.Supplier<T> work) {
        armed.set(true);
        try {
            return work.get();
        } finally {
            armed.set(false);
        }
    }

    public boolean requested() {
        return requested.get();
    }
}
