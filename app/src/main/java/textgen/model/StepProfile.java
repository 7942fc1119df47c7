package textgen.model;

import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Where a training step's time goes, by phase (with {@code -Dtextgen.profile=true}; off, every call is a constant
 * test): the CPU kernels time their matrix products, their gate arithmetic, their copies between DL4J's arrays and
 * the kernels' buffers and how long the step's thread waits for the parts of a batch other cores run; the trainer
 * times whole steps ({@link #beginStep}/{@link #endStep}); "other" is the rest
 * (DL4J's bookkeeping, the updater, gradient clipping, batch assembly). Times are wall-clock on the thread that runs
 * the step (work it hands to other threads shows as what it waits for), and only time inside steps counts (not
 * evaluation or sampling). Global by nature: it measures the process. With {@code --devices N} the devices' own
 * threads are not timed (their work shows as "other").
 * bench/run prints the shares per training configuration.
 */
public final class StepProfile {
    /** The phases a kernel reports; {@code OTHER} is what is left of the step. */
    public enum Phase {
        GEMM("matrix products (MKL or OpenBLAS)"),
        GATES("recurrent gate arithmetic"),
        OUTPUT("softmax and loss"),
        COPIES("copies between DL4J arrays and kernel buffers"),
        WAIT("waiting for the other cores' parts of the batch"),
        OTHER("everything else (DL4J bookkeeping, updater, clipping, batches)");

        public final String description;

        Phase(String description) {
            this.description = description;
        }
    }

    public static final boolean ON = Boolean.getBoolean("textgen.profile");
    private static final Phase[] MEASURED = {Phase.GEMM, Phase.GATES, Phase.OUTPUT, Phase.COPIES, Phase.WAIT};
    private static final AtomicLongArray NANOS = new AtomicLongArray(Phase.values().length + 1);
    private static final int TOTAL = Phase.values().length;
    private static volatile Thread stepThread;
    private static long stepStart;

    private StepProfile() {
    }

    /** A start time for {@link #stop}, or 0 when profiling is off. */
    public static long start() {
        return ON && Thread.currentThread() == stepThread ? System.nanoTime() : 0;
    }

    /** Adds the time since {@code start} (from {@link #start}) to {@code phase}. */
    public static void stop(Phase phase, long start) {
        if (ON && start != 0) NANOS.addAndGet(phase.ordinal(), System.nanoTime() - start);
    }

    public static void beginStep() {
        if (!ON) return;
        stepStart = System.nanoTime();
        stepThread = Thread.currentThread();
    }

    public static void endStep() {
        if (!ON) return;
        stepThread = null;
        NANOS.addAndGet(TOTAL, System.nanoTime() - stepStart);
    }

    /** Each phase's share of the time in steps so far (OTHER is the rest), or empty when off or before any step. */
    public static Map<Phase, Double> shares() {
        Map<Phase, Double> out = new EnumMap<>(Phase.class);
        long total = NANOS.get(TOTAL);
        if (!ON || total == 0) return out;
        long measured = 0;
        for (Phase p : MEASURED) {
            long v = NANOS.get(p.ordinal());
            measured += v;
            out.put(p, v / (double) total);
        }
        out.put(Phase.OTHER, Math.max(0, total - measured) / (double) total);
        return out;
    }

    /** One line: "gemm 41%, gates 12%, ...". */
    public static String summary() {
        StringBuilder b = new StringBuilder();
        shares().forEach((p, s) -> b.append(b.length() == 0 ? "" : ", ").append(p.name().toLowerCase(Locale.ROOT))
                .append(String.format(Locale.ROOT, " %.1f%%", 100 * s)));
        return b.toString();
    }
}
