package textgen.checkpoint;

/**
 * Where a run stands, stored in every checkpoint: everything besides the network, its updater and the carried hidden
 * state that {@code --resume} needs to continue exactly where the run was.
 *
 * @param iteration      optimizer steps taken
 * @param epoch          current pass over the training text (0-based)
 * @param batchInEpoch   next minibatch of that pass
 * @param tokensSeen     training characters processed
 * @param valLoss        validation loss (nats/char) at this checkpoint, NaN if not evaluated
 * @param bestValLoss    lowest validation loss so far, NaN if none
 * @param trainSeconds   seconds spent in optimizer steps (for characters/second)
 * @param elapsedSeconds wall-clock seconds of the run so far, over all sessions (training.maxMinutes counts these)
 * @param smoothedLoss   running mean of the training loss (span about 50 iterations; progress display)
 * @param recentLoss     short running mean of the training loss (span about 5 iterations; divergence guard)
 * @param lowestMean     lowest {@code smoothedLoss} so far (divergence guard reference)
 * @param lrScale        factor the divergence guard has cut the learning rate by (1 = never)
 * @param rollbacks      divergences so far
 */
public record TrainingState(long iteration, int epoch, int batchInEpoch, long tokensSeen, double valLoss, double bestValLoss,
                            double trainSeconds, double elapsedSeconds, double smoothedLoss, double recentLoss, double lowestMean,
                            double lrScale, int rollbacks) {

    /** A run that has not started. */
    public static TrainingState start() {
        return new TrainingState(0, 0, 0, 0, Double.NaN, Double.NaN, 0, 0, Double.NaN, Double.NaN, Double.NaN, 1.0, 0);
    }

    public TrainingState withValidation(double val) {
        double best = Double.isNaN(val) || (!Double.isNaN(bestValLoss) && bestValLoss <= val) ? bestValLoss : val;
        return new TrainingState(iteration, epoch, batchInEpoch, tokensSeen, val, best, trainSeconds, elapsedSeconds,
                smoothedLoss, recentLoss, lowestMean, lrScale, rollbacks);
    }

    /** The same state at minibatch {@code batchInEpoch} of pass {@code epoch}. */
    public TrainingState withEpoch(int epoch, int batchInEpoch) {
        return new TrainingState(iteration, epoch, batchInEpoch, tokensSeen, valLoss, bestValLoss, trainSeconds, elapsedSeconds,
                smoothedLoss, recentLoss, lowestMean, lrScale, rollbacks);
    }

    /** The same position with the session's clock and the divergence guard's count and cuts. */
    public TrainingState withSession(double trainSeconds, double elapsedSeconds, double lrScale, int rollbacks) {
        return new TrainingState(iteration, epoch, batchInEpoch, tokensSeen, valLoss, bestValLoss, trainSeconds, elapsedSeconds,
                smoothedLoss, recentLoss, lowestMean, lrScale, rollbacks);
    }

    /** True when {@code val} is a new best validation loss compared with this state. */
    public boolean improvesOn(double val) {
        return !Double.isNaN(val) && (Double.isNaN(bestValLoss) || val < bestValLoss);
    }
}
