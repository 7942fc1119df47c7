package textgen.train;

import textgen.checkpoint.RunDirectory;
import textgen.report.LossChart;
import textgen.report.Metrics;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.function.Consumer;

/**
 * A row of {@code metrics.jsonl} / {@code metrics.csv} at every evaluation, and {@code loss.png} redrawn from all rows so
 * far (see {@link Metrics}). A chart that cannot be drawn (e.g. a JRE without fonts) is reported once through
 * {@code warnings} and not tried again: the metrics files have the numbers.
 */
public final class MetricsWriter implements TrainingListener {
    private final RunDirectory dir;
    private final Consumer<String> warnings;
    private String chartError;

    public MetricsWriter(RunDirectory dir, Consumer<String> warnings) {
        this.dir = dir;
        this.warnings = warnings;
    }

    @Override
    public void onEvaluation(Trainer.Evaluation e) {
        var s = e.state();
        Metrics.append(dir.path(), new Metrics.Row(s.iteration(), e.epochs(), s.tokensSeen(), e.trainLoss(), e.valLoss(), e.learningRate(),
                s.trainSeconds() > 0 ? s.tokensSeen() / s.trainSeconds() : 0, s.elapsedSeconds(),
                Instant.now().truncatedTo(ChronoUnit.SECONDS).toString()));
        if (chartError != null) return;
        try {
            LossChart.write(List.of(new LossChart.Run(null, Metrics.read(dir.path()))), dir.path().resolve(LossChart.FILE),
                    "textgen " + dir.path().getFileName());
        } catch (RuntimeException | LinkageError | InternalError | java.awt.AWTError ex) {
            chartError = ex.toString();
            warnings.accept("cannot draw " + LossChart.FILE + " (" + chartError + "); metrics are in " + Metrics.JSONL);
        }
    }
}
