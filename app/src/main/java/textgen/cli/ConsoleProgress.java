package textgen.cli;

import textgen.train.Trainer;
import textgen.train.TrainingListener;

import java.io.PrintWriter;
import java.util.Locale;

/**
 * Progress on the console: on a terminal one line redrawn in place (at most 4 times a second); otherwise, for logs and
 * batch scripts, a plain line every {@code plainEverySeconds}. Evaluations and samples are always printed in full.
 */
final class ConsoleProgress implements TrainingListener {
    private final PrintWriter out;
    private final PrintWriter err;
    private final boolean terminal;
    private final double plainEverySeconds;
    private long lastPrintNanos;
    private boolean lineOpen;

    ConsoleProgress(PrintWriter out, PrintWriter err, boolean terminal, double plainEverySeconds) {
        this.out = out;
        this.err = err;
        this.terminal = terminal;
        this.plainEverySeconds = plainEverySeconds;
    }

    @Override
    public void onStart(Trainer.Plan p) {
        var m = p.config().model();
        var t = p.config().training();
        out.printf(Locale.ROOT, "corpus: %,d training and %,d validation characters, vocabulary %d%n",
                p.trainTokens(), p.validationTokens(), p.vocabSize());
        out.printf(Locale.ROOT, "model: %d x LSTM(%d)%s, %,d parameters; batch %d x %d (%s), %,d batches per epoch%n",
                m.layers(), m.hiddenSize(), m.dropout() > 0 ? ", dropout " + m.dropout() : "", p.parameters(),
                t.batchSize(), t.tbpttLength(), t.sampling().name().toLowerCase(Locale.ROOT), p.batchesPerEpoch());
        out.println(textgen.model.Backend.banner());
        out.println("run directory: " + p.runDir() + (p.startIteration() > 0 ? String.format(Locale.ROOT, " (resuming at iteration %,d)", p.startIteration()) : ""));
        out.flush();
        lastPrintNanos = System.nanoTime();
    }

    @Override
    public void onIteration(Trainer.Progress p) {
        long now = System.nanoTime();
        double since = (now - lastPrintNanos) / 1e9;
        if (terminal ? since < 0.25 : since < plainEverySeconds) return;
        lastPrintNanos = now;
        String line = String.format(Locale.ROOT, "iter %,d  epoch %.2f  loss %.4f  %,.0f chars/s  elapsed %s  left %s",
                p.iteration(), p.epochs(), p.smoothedLoss(), p.charsPerSecond(), clock(p.elapsedSeconds()), clock(p.secondsLeft()));
        if (terminal) {
            out.print("\r\u001b[K" + line);
            lineOpen = true;
        } else {
            out.println(line);
        }
        out.flush();
    }

    @Override
    public void onEvaluation(Trainer.Evaluation e) {
        endProgressLine();
        out.printf(Locale.ROOT, "iter %,d  epoch %.2f  train loss %.4f  val loss %.4f nats/char (%.3f bits)%s%n",
                e.iteration(), e.epochs(), e.trainLoss(), e.valLoss(), e.valLoss() / Math.log(2), e.best() ? "  best, saved" : "  saved");
        if (!e.sample().isEmpty()) {
            out.println("---- sample ----");
            out.println(e.sample());
            out.println("----------------");
        }
        out.flush();
    }

    @Override
    public void onWarning(String message) {
        endProgressLine();
        out.flush();
        err.println("warning: " + message);
        err.flush();
    }

    @Override
    public void onRollback(Trainer.Rollback r) {
        endProgressLine();
        out.printf(Locale.ROOT, "diverged at iteration %,d (loss %.4g, lowest running mean %.4g): rolled back to iteration %,d, learning rate now %.3g (rollback %d of %d)%n",
                r.iteration(), r.loss(), r.lowestMean(), r.toIteration(), r.newLearningRate(), r.rollbacks(), r.maxRollbacks());
        out.flush();
    }

    /** Clears the progress line a terminal is showing, so a full line can be printed in its place. */
    private void endProgressLine() {
        if (lineOpen) {
            out.print("\r\u001b[K");
            lineOpen = false;
        }
    }

    static String clock(double seconds) {
        if (!Double.isFinite(seconds) || seconds < 0) return "?";
        long s = Math.round(seconds);
        return s >= 3600 ? String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
                : String.format(Locale.ROOT, "%d:%02d", s / 60, s % 60);
    }
}
