package textgen.cli;

import textgen.train.Trainer;
import textgen.train.TrainingListener;

import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarConsumer;
import me.tongfei.progressbar.ProgressBarStyle;

import java.io.IOException;
import java.io.PrintWriter;
import java.util.Locale;

/**
 * Progress on the console. On a terminal, a live progress bar (me.tongfei:progressbar) with iteration, loss,
 * characters per second, elapsed time and time left, redrawn in place 4 times a second; otherwise, for logs and
 * batch scripts, a plain line every {@code plainEverySeconds}. Evaluations, samples and warnings are always printed in
 * full, above the bar.
 *
 * <p>The bar draws through a consumer of our own, onto the command's output, under this object's lock, so it never
 * interleaves with a line being printed. It does not use the library's terminal detection: that builds a JLine
 * terminal, which resets the process's SIGINT handler to the default and would make Ctrl-C kill training without
 * the checkpoint textgen saves on an interrupt.
 */
final class ConsoleProgress implements TrainingListener {
    private final PrintWriter out;
    private final PrintWriter err;
    private final boolean terminal;
    private final double plainEverySeconds;
    private long lastPrintNanos;
    private String unit = "char";
    private boolean lineOpen;
    private ProgressBar bar;
    private volatile double secondsLeft = Double.NaN;
    private long sessionStartIteration = -1;
    private double sessionStartSeconds;

    ConsoleProgress(PrintWriter out, PrintWriter err, boolean terminal, double plainEverySeconds) {
        this.out = out;
        this.err = err;
        this.terminal = terminal;
        this.plainEverySeconds = plainEverySeconds;
    }

    @Override
    public synchronized void onStart(Trainer.Plan p) {
        var m = p.config().model();
        var t = p.config().training();
        out.println(textgen.model.Backend.banner());
        unit = p.unit();
        out.printf(Locale.ROOT, "corpus: %,d training and %,d validation %ss, vocabulary %,d%n",
                p.trainTokens(), p.validationTokens(), "char".equals(unit) ? "character" : unit, p.vocabSize());
        out.printf(Locale.ROOT, "model: %s%s, %,d parameters; batch %d x %d (%s), %,d batches per epoch%n",
                m.describe(), (m.dropout() > 0 ? ", dropout " + m.dropout() : "")
                        + (m.recurrentDropout() > 0 ? ", recurrent dropout (weight drop) " + m.recurrentDropout() : ""), p.parameters(),
                t.batchSize(), t.tbpttLength(), t.sampling().name().toLowerCase(Locale.ROOT), p.batchesPerEpoch());
        if (t.devices() > 1) {
            out.printf(Locale.ROOT, "data-parallel on %d devices (ParallelWrapper, parameters and Adam state averaged after every step): "
                    + "%d rows of every minibatch each%n", t.devices(), t.batchSize() / t.devices());
        }
        out.println("run directory: " + p.runDir() + (p.startIteration() > 0 ? String.format(Locale.ROOT, " (resuming at iteration %,d)", p.startIteration()) : ""));
        out.flush();
        lastPrintNanos = System.nanoTime();
        if (terminal) {
            bar = new ProgressBarBuilder().setTaskName("train").setInitialMax(-1).setUnit(" it", 1)
                    .setUpdateIntervalMillis(250).setStyle(ProgressBarStyle.UNICODE_BLOCK)
                    .startsFrom(p.startIteration(), java.time.Duration.ZERO)
                    .setEtaFunction(state -> Double.isFinite(secondsLeft)
                            ? java.util.Optional.of(java.time.Duration.ofSeconds(Math.round(secondsLeft))) : java.util.Optional.empty())
                    .setConsumer(new Line(terminalWidth())).build();
        }
    }

    @Override
    public void onIteration(Trainer.Progress p) {
        if (bar != null) {
            // the bar's length: iterations so far plus those that fit in the time left, at this session's pace
            if (sessionStartIteration < 0) {
                sessionStartIteration = p.iteration();
                sessionStartSeconds = p.elapsedSeconds();
            }
            secondsLeft = p.secondsLeft();
            double perIteration = p.iteration() > sessionStartIteration
                    ? (p.elapsedSeconds() - sessionStartSeconds) / (p.iteration() - sessionStartIteration) : Double.NaN;
            if (Double.isFinite(p.secondsLeft()) && perIteration > 0) bar.maxHint(p.iteration() + Math.round(p.secondsLeft() / perIteration));
            bar.stepTo(p.iteration());
            bar.setExtraMessage(String.format(Locale.ROOT, "epoch %.2f  loss %.4f  %,.0f %ss/s", p.epochs(), p.smoothedLoss(), p.charsPerSecond(), unit));
            return;
        }
        long now = System.nanoTime();
        if ((now - lastPrintNanos) / 1e9 < plainEverySeconds) return;
        lastPrintNanos = now;
        synchronized (this) {
            out.println(String.format(Locale.ROOT, "iter %,d  epoch %.2f  loss %.4f  %,.0f %ss/s  elapsed %s  left %s",
                    p.iteration(), p.epochs(), p.smoothedLoss(), p.charsPerSecond(), unit, clock(p.elapsedSeconds()), clock(p.secondsLeft())));
            out.flush();
        }
    }

    @Override
    public synchronized void onEvaluation(Trainer.Evaluation e) {
        endProgressLine();
        out.printf(Locale.ROOT, "iter %,d  epoch %.2f  train loss %.4f  val loss %.4f nats/%s (%.3f bits, perplexity %.2f)%s%n",
                e.iteration(), e.epochs(), e.trainLoss(), e.valLoss(), unit, e.valLoss() / Math.log(2), Math.exp(e.valLoss()), e.best() ? "  best, saved" : "  saved");
        if (!e.sample().isEmpty()) {
            out.println("---- sample ----");
            out.println(e.sample());
            out.println("----------------");
        }
        out.flush();
    }

    @Override
    public synchronized void onWarning(String message) {
        endProgressLine();
        out.flush();
        err.println("warning: " + message);
        err.flush();
    }

    @Override
    public synchronized void onRollback(Trainer.Rollback r) {
        endProgressLine();
        out.printf(Locale.ROOT, "diverged at iteration %,d (loss %.4g, lowest running mean %.4g): rolled back to iteration %,d, learning rate now %.3g (rollback %d of %d)%n",
                r.iteration(), r.loss(), r.lowestMean(), r.toIteration(), r.newLearningRate(), r.rollbacks(), r.maxRollbacks());
        out.flush();
    }

    /** Training is over: the bar's last state stays on screen, on a line of its own. */
    @Override
    public void onEnd() {
        if (bar == null) return;
        bar.close(); // stops the drawing thread after a final draw
        synchronized (this) {
            if (lineOpen) out.println();
            lineOpen = false;
            out.flush();
        }
        bar = null;
    }

    /** Clears the progress line a terminal is showing, so a full line can be printed in its place (under the lock). */
    private void endProgressLine() {
        if (lineOpen) {
            out.print("\r\u001b[K");
            lineOpen = false;
        }
    }

    /** Draws the bar in place on {@link #out}. */
    private final class Line implements ProgressBarConsumer {
        private final int width;

        Line(int width) {
            this.width = width;
        }

        @Override
        public int getMaxRenderedLength() {
            return width;
        }

        @Override
        public void accept(String rendered) {
            synchronized (ConsoleProgress.this) {
                out.print("\r" + rendered + "\u001b[K");
                out.flush();
                lineOpen = true;
            }
        }

        @Override
        public void close() {
        }
    }

    /** The terminal's width from {@code stty size} on /dev/tty (COLUMNS if set), else 100; one column spare. */
    static int terminalWidth() {
        try {
            String columns = System.getenv("COLUMNS");
            if (columns != null) return Math.max(40, Integer.parseInt(columns.trim()) - 1);
            Process p = new ProcessBuilder("stty", "size").redirectInput(new java.io.File("/dev/tty"))
                    .redirectError(ProcessBuilder.Redirect.DISCARD).start();
            String[] rc = new String(p.getInputStream().readAllBytes()).trim().split("\\s+");
            if (p.waitFor() == 0 && rc.length == 2) return Math.max(40, Integer.parseInt(rc[1]) - 1);
        } catch (IOException | RuntimeException e) {
            // no terminal to ask
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return 100;
    }

    static String clock(double seconds) {
        if (!Double.isFinite(seconds) || seconds < 0) return "?";
        long s = Math.round(seconds);
        return s >= 3600 ? String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
                : String.format(Locale.ROOT, "%d:%02d", s / 60, s % 60);
    }
}
