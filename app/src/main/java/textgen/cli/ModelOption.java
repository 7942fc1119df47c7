package textgen.cli;

import picocli.CommandLine.Option;
import textgen.checkpoint.Checkpoint;

import java.nio.file.Path;

/** {@code --model PATH}: the checkpoint a command reads (sample, perplexity). */
final class ModelOption {
    @Option(names = "--model", required = true, paramLabel = "PATH", description = "A checkpoint, or a run directory (then its best checkpoint).")
    Path model;

    /** The checkpoint, without its updater state (not needed to predict). */
    Checkpoint.Loaded load() {
        return Checkpoint.read(Checkpoint.resolve(model), false);
    }
}
