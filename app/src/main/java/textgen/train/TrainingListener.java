package textgen.train;

import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;

/**
 * Everything around the training loop hangs off these callbacks: progress on the console, the run directory's files
 * ({@link CheckpointWriter}, {@link MetricsWriter}, {@link SampleWriter}), the training UI. The loop calls them in the
 * order of its list and knows none of them by name.
 */
public interface TrainingListener {
    /** Before the first iteration. */
    default void onStart(Trainer.Plan plan) {
    }

    /**
     * The network about to be trained, after {@link #onStart}, and again whenever the divergence guard replaces it by one
     * restored from a checkpoint: the place to attach DL4J's own listeners to it.
     */
    default void onNetwork(MultiLayerNetwork network) {
    }

    /** After every optimizer step. */
    default void onIteration(Trainer.Progress progress) {
    }

    /**
     * The run's state to keep: at every evaluation (just before {@link #onEvaluation}), and between evaluations when
     * {@code training.checkpointMinutes} says so. The divergence guard rolls back to what was saved here.
     */
    default void onCheckpoint(Trainer.Snapshot snapshot) {
    }

    /** After every validation (every {@code training.evalEvery} iterations, and once at the end). */
    default void onEvaluation(Trainer.Evaluation evaluation) {
    }

    /** After the last iteration and evaluation, also when training stops with an error. */
    default void onEnd() {
    }

    /** Something went wrong that training survives (e.g. the loss chart could not be drawn). */
    default void onWarning(String message) {
    }

    /** The divergence guard rolled back to the last checkpoint and cut the learning rate. */
    default void onRollback(Trainer.Rollback rollback) {
    }
}
