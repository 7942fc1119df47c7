package textgen.train;

import textgen.checkpoint.RunDirectory;

import java.util.Locale;

/** Appends the sample of every evaluation to the run directory's {@code samples.txt}. */
public final class SampleWriter implements TrainingListener {
    public static final String FILE = "samples.txt";
    private final RunDirectory dir;

    public SampleWriter(RunDirectory dir) {
        this.dir = dir;
    }

    @Override
    public void onEvaluation(Trainer.Evaluation e) {
        if (e.sample().isEmpty()) return;
        dir.appendText(FILE, "=== iteration " + e.iteration() + ", validation loss " + String.format(Locale.ROOT, "%.4f", e.valLoss())
                + "\n" + e.sample() + "\n\n");
    }
}
