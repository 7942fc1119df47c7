package textgen.cli;

import picocli.CommandLine.Option;
import textgen.checkpoint.Checkpoint;
import textgen.model.Predictor;

import java.nio.file.Path;

/** {@code --model PATH}: the checkpoint a command reads (sample, perplexity). */
final class ModelOption {
    @Option(names = "--model", required = true, paramLabel = "PATH", description = "A checkpoint, or a run directory (then its best checkpoint).")
    Path model;

    /**
     * The checkpoint, without its updater state (not needed to predict). The prediction kernels' code is compiled
     * meanwhile, on another core ({@link Predictor#warmUp}).
     */
    Checkpoint.Loaded load() {
        try (Predictor.WarmUp ignored = Predictor.warmUp()) {
            return Checkpoint.read(Checkpoint.resolve(model), false);
        }
    }
}
