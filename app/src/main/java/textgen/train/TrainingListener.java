package textgen.train;

/** Everything around the training loop (progress, logs, files) hangs off these callbacks. */
public interface TrainingListener {
    /** Before the first iteration. */
    default void onStart(Trainer.Plan plan) {
    }

    /**
     * The network about to be trained, after {@link #onStart}, and again whenever the divergence guard replaces it by one
     * restored from a checkpoint: the place to attach DL4J's own listeners to it.
     */
    default void onNetwork(org.deeplearning4j.nn.multilayer.MultiLayerNetwork network) {
    }

    /** After every optimizer step. */
    default void onIteration(Trainer.Progress progress) {
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
