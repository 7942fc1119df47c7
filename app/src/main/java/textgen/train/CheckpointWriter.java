package textgen.train;

import textgen.checkpoint.Checkpoint;
import textgen.checkpoint.RunDirectory;
import textgen.config.RunConfig;
import textgen.corpus.Vocabulary;

/** Writes each {@link Trainer.Snapshot} as a checkpoint into the run directory (which keeps the index, links and retention). */
public final class CheckpointWriter implements TrainingListener {
    private final RunDirectory dir;
    private final Vocabulary vocabulary;
    private final RunConfig config;
    private final Checkpoint.Provenance provenance;

    public CheckpointWriter(RunDirectory dir, Vocabulary vocabulary, RunConfig config, Checkpoint.Provenance provenance) {
        this.dir = dir;
        this.vocabulary = vocabulary;
        this.config = config;
        this.provenance = provenance;
    }

    @Override
    public void onCheckpoint(Trainer.Snapshot s) {
        dir.saveCheckpoint(s.state().iteration(), s.epochs(), s.state().valLoss(), s.best(), config.training().keepLast(),
                file -> Checkpoint.write(file, s.network(), vocabulary, config, s.state(), provenance, s.carried()));
    }
}
