package textgen.train;

import java.util.Locale;

/**
 * Decides after every step whether training goes on, rolls back to a checkpoint with a cut learning rate, or gives up.
 * A step diverged when its loss is NaN/Inf, or when the short running mean of the loss (span about 5 steps) is above
 * {@code factor} times, and at least 1 nat above, the lowest long running mean so far: a single high batch, e.g. the
 * first of an epoch from a zero state, moves the short mean only a fifth of the way, and on a memorised text the lowest
 * mean nears 0, where ratios mean nothing. After {@code maxRollbacks} rollbacks it gives up.
 *
 * <p>It also says where to roll back to: the latest checkpoint, unless the run diverged again before writing a newer
 * one than the checkpoint it last restored, which then is stepped over to the one before it.
 */
final class DivergenceGuard {
    enum Verdict { CONTINUE, ROLL_BACK, GIVE_UP }

    private final double factor;
    private final int maxRollbacks;
    /** Iteration of the checkpoint last restored (-1: none this session). */
    private long restoredFrom = -1;

    DivergenceGuard(double factor, int maxRollbacks) {
        this.factor = factor;
        this.maxRollbacks = maxRollbacks;
    }

    /** The short running mean once {@code loss} is counted in. */
    static double recentMean(double recent, double loss) {
        return Double.isNaN(recent) ? loss : 0.8 * recent + 0.2 * loss;
    }

    /** The verdict on a step's {@code loss}, given the running means before it and the rollbacks so far. */
    Verdict check(double loss, double recent, double lowestMean, int rollbacks) {
        double recentIfKept = recentMean(recent, loss);
        boolean exploded = factor > 0 // false while lowestMean is NaN
                && recentIfKept > Math.max(factor * lowestMean, lowestMean + 1.0);
        if (Double.isFinite(loss) && !exploded) return Verdict.CONTINUE;
        return rollbacks + 1 > maxRollbacks ? Verdict.GIVE_UP : Verdict.ROLL_BACK;
    }

    /**
     * The newest checkpoint to roll back to must be older than this iteration: any ({@link Long#MAX_VALUE}), or, when
     * nothing was saved since the last restore ({@code lastSaveIteration} is that checkpoint's), one before it.
     */
    long restoreBefore(long lastSaveIteration) {
        return restoredFrom >= 0 && lastSaveIteration == restoredFrom ? restoredFrom : Long.MAX_VALUE;
    }

    /** The run went back to the checkpoint of {@code iteration} (0: a fresh start). */
    void restored(long iteration) {
        restoredFrom = iteration;
    }

    /** What diverged, for messages: the loss and the means it was judged by. */
    static String describe(long iteration, double loss, double recent, double lowestMean) {
        return "training diverged at iteration " + iteration + ": loss " + fmt(loss)
                + (Double.isNaN(lowestMean) ? "" : " (recent mean " + fmt(recentMean(recent, loss)) + ", lowest running mean " + fmt(lowestMean) + ")");
    }

    static String fmt(double d) {
        return String.format(Locale.ROOT, "%.4g", d);
    }
}
