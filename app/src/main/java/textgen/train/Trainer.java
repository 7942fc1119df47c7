package textgen.train;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import textgen.TextgenException;
import textgen.checkpoint.Checkpoint;
import textgen.checkpoint.RunDirectory;
import textgen.checkpoint.TrainingState;
import textgen.config.RunConfig;
import textgen.config.RunConfig.Sampling;
import textgen.config.RunConfig.TrainingConfig;
import textgen.corpus.BatchSource;
import textgen.corpus.Corpus;
import textgen.eval.Evaluator;
import textgen.generate.Sampler;
import textgen.generate.SamplingOptions;
import textgen.model.CarriedStateNetwork;
import textgen.model.NetworkFactory;
import textgen.report.LossChart;
import textgen.report.Metrics;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.BooleanSupplier;

/**
 * The training loop, written once: minibatches from a {@link BatchSource}, one truncated-BPTT step each, validation,
 * a sample and checkpoints every {@code training.evalEvery} iterations and at the end. Stops at the first of
 * maxEpochs, maxIterations, maxMinutes or an external stop request (then it still evaluates and saves).
 */
public final class Trainer {
    /** What is about to be trained; {@code startIteration} > 0 when a run resumes. */
    public record Plan(RunConfig config, int vocabSize, String unit, int trainTokens, int validationTokens, long parameters,
                       int batchesPerEpoch, Path runDir, long startIteration) {
    }

    /** After one iteration. {@code secondsLeft} is NaN when no limit bounds the run. */
    public record Progress(long iteration, double epochs, double loss, double smoothedLoss, double charsPerSecond,
                           double elapsedSeconds, double secondsLeft) {
    }

    /** After one validation. */
    public record Evaluation(long iteration, double epochs, double trainLoss, double valLoss, boolean best, String sample,
                             Path checkpoint) {
    }

    /** The divergence guard rolled back: the loss at {@code iteration}, now continuing from {@code toIteration}. */
    public record Rollback(long iteration, double loss, double lowestMean, long toIteration, double newLearningRate,
                           int rollbacks, int maxRollbacks) {
    }

    /**
     * How the run ended. {@code bestCheckpoint} is null when nothing was saved. {@code deviceSteps}: optimizer steps
     * each device ran in this session (one entry per device; steps the divergence guard rolled back included).
     */
    public record Result(double bestValLoss, double finalValLoss, long iterations, double epochs, double charsPerSecond,
                         double seconds, Path bestCheckpoint, boolean interrupted, long[] deviceSteps) {
    }

    private static final int EVAL_CHUNK = 512;

    private final RunConfig config;
    private final Corpus corpus;
    private final BatchSource source;
    private final List<TrainingListener> listeners;
    private final BooleanSupplier stopRequested;
    private final Checkpoint.Provenance provenance;
    private RunDirectory runDir;
    private String chartError;
    /** Takes the optimizer steps on the current network (replaced when the divergence guard rolls back). */
    private StepRunner runner;
    /** Steps per device of the runners already replaced, this session. */
    private long[] deviceSteps;

    /** Checks that the corpus fits the config (a usage error if not) before anything is created on disk. */
    public Trainer(RunConfig config, Corpus corpus, List<TrainingListener> listeners, BooleanSupplier stopRequested) {
        this.config = config;
        this.corpus = corpus;
        this.listeners = listeners;
        this.stopRequested = stopRequested;
        this.provenance = Checkpoint.Provenance.of(corpus);
        TrainingConfig tc = config.training();
        this.source = new BatchSource(corpus.train(), corpus.vocabulary().size(), tc.batchSize(), tc.tbpttLength(),
                tc.sampling(), tc.seed(), config.model().embedding());
        ParallelStepRunner.check(tc.devices());
    }

    /** A new run from freshly initialised weights. */
    public Result run(RunDirectory runDir) {
        return run(runDir, null, null);
    }

    /** What one token is, in rates: "char" or "word". */
    public String unit() {
        return corpus.vocabulary().shortUnit();
    }

    /**
     * Trains into {@code runDir}: continuing {@code resume} exactly (parameters, updater, counters, corpus position,
     * carried state, learning-rate cuts, best loss) when given, else from {@code initParams} (fine-tuning) when
     * given, else from a fresh initialisation.
     */
    public Result run(RunDirectory runDir, Checkpoint.Loaded resume, INDArray initParams) {
        try {
            return train(runDir, resume, initParams);
        } finally {
            if (runner != null) runner.close();
            listeners.forEach(TrainingListener::onEnd);
        }
    }

    private Result train(RunDirectory runDir, Checkpoint.Loaded resume, INDArray initParams) {
        this.runDir = runDir;
        TrainingConfig tc = config.training();
        int vocabSize = corpus.vocabulary().size();
        Position pos = resume != null ? Position.of(CarriedStateNetwork.from(resume.network()), resume.state(), resume.carried())
                : Position.start(fresh(initParams));
        Plan plan = new Plan(config, vocabSize, unit(), corpus.train().length, corpus.validation().length, pos.net.numParams(),
                source.batchesPerEpoch(), runDir.path(), pos.state.iteration());
        listeners.forEach(l -> l.onStart(plan));
        for (TrainingListener l : listeners) l.onNetwork(pos.net);

        long sessionStart = System.nanoTime();
        double elapsedBefore = pos.state.elapsedSeconds();
        long maxIterations = tc.maxIterations() > 0 ? tc.maxIterations() : Long.MAX_VALUE;
        long totalIterations = Math.min(maxIterations, (long) tc.maxEpochs() * source.batchesPerEpoch());
        double maxSeconds = tc.maxMinutes() > 0 ? tc.maxMinutes() * 60 : Double.POSITIVE_INFINITY;
        TrainingState st = pos.state;
        use(pos.net);
        long iteration = st.iteration();
        int epoch = st.epoch();
        int k = st.batchInEpoch();
        long tokens = st.tokensSeen();
        double trainSeconds = st.trainSeconds();
        double smoothed = st.smoothedLoss();
        double recent = st.recentLoss();
        double lowest = st.lowestMean();
        double best = st.bestValLoss();
        double lrScale = st.lrScale();
        int rollbacks = st.rollbacks();
        double lastVal = Double.NaN;
        long sessionIterations = 0;
        long lastSaveIteration = iteration;
        long lastEvalIteration = iteration;
        long restoredFrom = -1; // iteration of the checkpoint the divergence guard last rolled back to
        double lastSaveSeconds = 0;
        boolean interrupted = false;
        double lr = Double.NaN;
        boolean entering = true; // (re)entering a position: restore its carried state

        while (true) {
            if (k >= source.batchesPerEpoch()) {
                epoch++;
                k = 0;
                runner.incrementEpochCount();
            }
            double el = elapsedBefore + elapsed(sessionStart);
            if (epoch >= tc.maxEpochs() || iteration >= maxIterations || el >= maxSeconds) break;
            if (stopRequested.getAsBoolean()) {
                interrupted = true;
                break;
            }
            double wantLr = lrScale * scheduledLr(tc, epoch, Math.max((double) iteration / totalIterations, el / maxSeconds));
            if (wantLr != lr) {
                runner.setLearningRate(wantLr);
                lr = wantLr;
            }
            if (k == 0) runner.resetTrainingState();
            else if (entering) runner.restoreTrainingState(pos.carried);
            entering = false;
            if (k > 0 && tc.stateResetProbability() > 0 && tc.sampling() == Sampling.CONSECUTIVE) {
                runner.resetRows(resetRows(epoch, k, tc));
            }

            DataSet[] batch = runner.batch(source, epoch, k);
            long t0 = System.nanoTime();
            // dropout masks depend on the iteration only
            double loss = runner.step(batch, tc.sampling() == Sampling.CONSECUTIVE, tc.seed() * 1_000_003L + iteration) / tc.tbpttLength();
            trainSeconds += (System.nanoTime() - t0) / 1e9;

            // divergence: NaN/Inf, or the short running mean above divergenceFactor x the lowest long running mean so far
            // (a single high batch, e.g. the first of an epoch from a zero state, moves the short mean only a fifth of the way)
            // and at least 1 nat above it (on a memorised text the lowest mean nears 0 and ratios mean nothing)
            double recentIfKept = Double.isNaN(recent) ? loss : 0.8 * recent + 0.2 * loss;
            boolean exploded = tc.divergenceFactor() > 0 // false while lowest is NaN
                    && recentIfKept > Math.max(tc.divergenceFactor() * lowest, lowest + 1.0);
            if (!Double.isFinite(loss) || exploded) {
                rollbacks++;
                String what = "training diverged at iteration " + (iteration + 1) + ": loss " + fmt(loss)
                        + (Double.isNaN(lowest) ? "" : " (recent mean " + fmt(recentIfKept) + ", lowest running mean " + fmt(lowest) + ")");
                if (rollbacks > tc.maxRollbacks()) {
                    throw TextgenException.runtime(what + " after " + tc.maxRollbacks() + " rollback(s) with the learning rate cut to "
                            + fmt(lr) + "; giving up. Lower training.learningRate or training.gradientClip; the last good checkpoint is "
                            + (java.nio.file.Files.exists(runDir.latest()) ? runDir.latest() : "(none)"), null);
                }
                lrScale *= tc.divergenceLrCut();
                long divergedAt = iteration + 1;
                double lowestBefore = lowest;
                // the latest checkpoint; if it diverged again before a newer one was written, the one before it
                Path target = runDir.checkpointBefore(restoredFrom >= 0 && lastSaveIteration == restoredFrom ? restoredFrom : Long.MAX_VALUE);
                pos = target != null ? restore(target) : Position.start(fresh(initParams));
                restoredFrom = pos.state.iteration();
                if (target != null && !target.equals(runDir.latest())) runDir.discardAfter(restoredFrom, target);
                use(pos.net);
                for (TrainingListener l : listeners) l.onNetwork(pos.net);
                st = pos.state;
                iteration = st.iteration();
                epoch = st.epoch();
                k = st.batchInEpoch();
                tokens = st.tokensSeen();
                smoothed = st.smoothedLoss();
                recent = st.recentLoss();
                lowest = st.lowestMean();
                best = st.bestValLoss();
                lastSaveIteration = iteration;
                lr = Double.NaN;
                entering = true;
                Rollback rb = new Rollback(divergedAt, loss, lowestBefore, iteration,
                        lrScale * scheduledLr(tc, epoch, Math.max((double) iteration / totalIterations, el / maxSeconds)), rollbacks,
                        tc.maxRollbacks());
                listeners.forEach(l -> l.onRollback(rb));
                continue;
            }
            iteration++;
            k++;
            sessionIterations++;
            tokens += source.tokensPerBatch();
            smoothed = Double.isNaN(smoothed) ? loss : 0.98 * smoothed + 0.02 * loss;
            recent = recentIfKept;
            lowest = Double.isNaN(lowest) ? smoothed : Math.min(lowest, smoothed);
            double cps = tokens / trainSeconds;
            double epochs = epoch + (double) k / source.batchesPerEpoch();
            el = elapsedBefore + elapsed(sessionStart);
            double left = Math.min(maxSeconds - el, (totalIterations - iteration) * (elapsed(sessionStart) / sessionIterations));
            for (TrainingListener l : listeners) {
                l.onIteration(new Progress(iteration, epochs, loss, smoothed, cps, el, left));
            }
            TrainingState now = new TrainingState(iteration, epoch, k, tokens, Double.NaN, best, trainSeconds, el, smoothed,
                    recent, lowest, lrScale, rollbacks);
            if (iteration % tc.evalEvery() == 0) {
                Evaluation ev = evaluate(now, epochs, smoothed, lr);
                lastVal = ev.valLoss();
                if (ev.best()) best = ev.valLoss();
                lastSaveIteration = iteration;
                lastEvalIteration = iteration;
                lastSaveSeconds = elapsed(sessionStart);
            } else if (tc.checkpointMinutes() > 0 && elapsed(sessionStart) - lastSaveSeconds >= tc.checkpointMinutes() * 60) {
                save(runner.network(), now, epochs, false, tc.sampling() == Sampling.CONSECUTIVE ? runner.trainingState() : Map.of());
                lastSaveIteration = iteration;
                lastSaveSeconds = elapsed(sessionStart);
            }
        }
        double epochs = Math.min(tc.maxEpochs(), epoch + (double) k / source.batchesPerEpoch());
        double el = elapsedBefore + elapsed(sessionStart);
        if (iteration > 0 && lastEvalIteration != iteration) {
            TrainingState now = new TrainingState(iteration, epoch, k, tokens, Double.NaN, best, trainSeconds, el, smoothed,
                    recent, lowest, lrScale, rollbacks);
            Evaluation ev = evaluate(now, epochs, smoothed, lr);
            lastVal = ev.valLoss();
            if (ev.best()) best = ev.valLoss();
        }
        if (iteration == 0 && !interrupted) {
            throw TextgenException.usage("no training happened: the limits allow no iteration"
                    + " (training.maxIterations, training.maxMinutes, training.maxEpochs)");
        }
        long[] steps = runner.stepsPerDevice();
        for (int d = 0; d < steps.length; d++) steps[d] += deviceSteps[d];
        return new Result(best, lastVal, iteration, epochs, trainSeconds > 0 ? tokens / trainSeconds : 0, el,
                java.nio.file.Files.exists(runDir.best()) ? runDir.best() : null, interrupted, steps);
    }

    /** Trains {@code net} from now on, on training.devices devices. */
    private void use(CarriedStateNetwork net) {
        int devices = config.training().devices();
        if (runner != null) {
            long[] steps = runner.stepsPerDevice();
            for (int d = 0; d < devices; d++) deviceSteps[d] += steps[d];
            runner.close();
        } else {
            deviceSteps = new long[devices];
        }
        runner = null; // a runner that fails to start is not closed twice
        runner = StepRunner.of(net, devices, config.training().batchSize());
    }

    /**
     * The learning rate of {@code training.lrSchedule} in {@code epoch} (0-based) at {@code progress}, the fraction of
     * the run done (iterations or time, whichever limit is nearer). Cosine moves in steps of 0.1% of the run: DL4J
     * rebuilds the updater on every learning-rate change.
     */
    static double scheduledLr(TrainingConfig tc, int epoch, double progress) {
        return switch (tc.lrSchedule()) {
            case STEP -> tc.learningRate() * Math.pow(tc.lrDecay(), Math.max(0, epoch - tc.lrDecayAfter()));
            case COSINE -> tc.learningRate() * 0.5 * (1 + Math.cos(Math.PI * Math.min(1, Math.floor(progress * 1000 + 1e-9) / 1000)));
        };
    }

    /** A network and where it stands. */
    private record Position(CarriedStateNetwork net, TrainingState state, Map<Integer, Map<String, INDArray>> carried) {
        static Position of(CarriedStateNetwork net, TrainingState state, Map<Integer, Map<String, INDArray>> carried) {
            return new Position(net, state, carried);
        }

        static Position start(CarriedStateNetwork net) {
            return new Position(net, TrainingState.start(), Map.of());
        }
    }

    private CarriedStateNetwork fresh(INDArray initParams) {
        CarriedStateNetwork net = NetworkFactory.create(config.model(), config.training(), corpus.vocabulary().size());
        if (initParams != null) net.setParams(initParams.dup());
        return net;
    }

    /** A checkpoint of this run, for the divergence guard. */
    private Position restore(Path file) {
        Checkpoint.Loaded l = Checkpoint.read(file, true);
        return Position.of(CarriedStateNetwork.from(l.network()), l.state(), l.carried());
    }

    /**
     * Validation loss, a sample and checkpoints, on the network that holds the run's parameters (with several devices,
     * device 0's: the average of all after every step), with the carried training state set aside and put back.
     */
    private Evaluation evaluate(TrainingState state, double epochs, double trainLoss, double lr) {
        TrainingConfig tc = config.training();
        CarriedStateNetwork net = runner.network();
        Map<Integer, Map<String, INDArray>> carried = runner.trainingState();
        Evaluator.Score score = Evaluator.score(net, corpus.validation(), corpus.vocabulary().size(), tc.batchSize(), EVAL_CHUNK);
        double val = score.nats();
        String sample = "";
        if (tc.sampleLength() > 0) {
            Sampler sampler = new Sampler(net, corpus.vocabulary(), SamplingOptions.withTemperature(tc.sampleTemperature()));
            sample = sampler.generate(new int[0], tc.sampleLength(), null, new SplittableRandom(tc.seed() + state.iteration()), s -> {
            });
        }
        runner.restoreTrainingState(carried);
        boolean best = state.improvesOn(val);
        Path file = save(net, state.withValidation(val), epochs, best,
                tc.sampling() == Sampling.CONSECUTIVE ? carried : Map.of());
        if (!sample.isEmpty()) runDir.appendText("samples.txt", "=== iteration " + state.iteration() + ", validation loss "
                + String.format(java.util.Locale.ROOT, "%.4f", val) + "\n" + sample + "\n\n");
        appendMetrics(state, epochs, trainLoss, val, lr);
        Evaluation ev = new Evaluation(state.iteration(), epochs, trainLoss, val, best, sample, file);
        listeners.forEach(l -> l.onEvaluation(ev));
        return ev;
    }

    /** A row of metrics.jsonl / metrics.csv, and loss.png redrawn from all rows so far (see {@link Metrics}). */
    private void appendMetrics(TrainingState state, double epochs, double trainLoss, double val, double lr) {
        Metrics.append(runDir.path(), new Metrics.Row(state.iteration(), epochs, state.tokensSeen(), trainLoss, val, lr,
                state.trainSeconds() > 0 ? state.tokensSeen() / state.trainSeconds() : 0, state.elapsedSeconds(),
                java.time.Instant.now().truncatedTo(java.time.temporal.ChronoUnit.SECONDS).toString()));
        if (chartError != null) return;
        try {
            LossChart.write(List.of(new LossChart.Run(null, Metrics.read(runDir.path()))), runDir.path().resolve(LossChart.FILE),
                    "textgen " + runDir.path().getFileName());
        } catch (RuntimeException | LinkageError | InternalError | java.awt.AWTError e) {
            chartError = e.toString(); // e.g. a JRE without fonts: training goes on, the metrics files have the numbers
            listeners.forEach(l -> l.onWarning("cannot draw " + LossChart.FILE + " (" + chartError + "); metrics are in " + Metrics.JSONL));
        }
    }

    private Path save(CarriedStateNetwork net, TrainingState state, double epochs, boolean best,
                      Map<Integer, Map<String, INDArray>> carried) {
        return runDir.saveCheckpoint(state.iteration(), epochs, state.valLoss(), best, config.training().keepLast(),
                file -> Checkpoint.write(file, net, corpus.vocabulary(), config, state, provenance, carried));
    }

    /** The streams whose carried state restarts at minibatch k of an epoch: drawn from (seed, epoch, k), so resume replays them. */
    private static int[] resetRows(int epoch, int k, TrainingConfig tc) {
        SplittableRandom rng = new SplittableRandom(tc.seed() * 0x2545F4914F6CDD1DL + epoch * 1_000_003L + k);
        return java.util.stream.IntStream.range(0, tc.batchSize()).filter(b -> rng.nextDouble() < tc.stateResetProbability()).toArray();
    }

    private static String fmt(double d) {
        return String.format(java.util.Locale.ROOT, "%.4g", d);
    }

    private static double elapsed(long start) {
        return (System.nanoTime() - start) / 1e9;
    }
}
