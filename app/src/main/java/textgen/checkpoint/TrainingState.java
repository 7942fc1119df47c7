package textgen.checkpoint;

/**
 * Where a run stands, stored in every checkpoint: counters, position in the corpus, losses so far.
 *
 * @param iteration     optimizer steps taken
 * @param epoch         completed passes over the training text
 * @param batchInEpoch  next minibatch of the current epoch
 * @param tokensSeen    training characters processed
 * @param valLoss       validation loss (nats/char) at this checkpoint, NaN if not evaluated
 * @param bestValLoss   lowest validation loss so far, NaN if none
 * @param trainSeconds  seconds spent training (excluding evaluation)
 */
public record TrainingState(long iteration, int epoch, int batchInEpoch, long tokensSeen, double valLoss, double bestValLoss,
                            double trainSeconds) {
}
