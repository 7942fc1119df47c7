package textgen.cli;

import java.util.concurrent.atomic.AtomicBoolean;

/**
 * SIGINT/SIGTERM handling. While training, the first signal asks the trainer to stop after the current step and save
 * (exit 130); a second one, or any signal outside training, ends the process at once with 130.
 */
public final class StopSignal {
    private final AtomicBoolean armed = new AtomicBoolean();
    private final AtomicBoolean requested = new AtomicBoolean();
    private final Runnable exitNow;

    public StopSignal(Runnable exitNow) {
        this.exitNow = exitNow;
    }

    /** Installs handlers for INT and TERM (only in the real process, never in tests). */
    public void install() {
        for (String name : new String[]{"INT", "TERM"}) {
            try {
                sun.misc.Signal.handle(new sun.misc.Signal(name), s -> onSignal());
            } catch (IllegalArgumentException e) {
                // signal not available on this platform
            }
        }
    }

    void onSignal() {
        if (armed.get() && requested.compareAndSet(false, true)) {
            System.err.println("textgen: stopping after this step and saving a checkpoint (signal again to quit at once)");
        } else {
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
