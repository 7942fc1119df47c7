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
    /** What is about to be trained. */
    public record Plan(RunConfig config, int vocabSize, int trainTokens, int validationTokens, long parameters,
                       int batchesPerEpoch, Path runDir) {
    }

    /** After one iteration. {@code secondsLeft} is NaN when no limit bounds the run. */
    public record Progress(long iteration, double epochs, double loss, double smoothedLoss, double charsPerSecond,
                           double elapsedSeconds, double secondsLeft) {
    }

    /** After one validation. */
    public record Evaluation(long iteration, double epochs, double trainLoss, double valLoss, boolean best, String sample,
                             Path checkpoint) {
    }

    /** How the run ended. */
    public record Result(double bestValLoss, double finalValLoss, long iterations, double epochs, double charsPerSecond,
                         double seconds, Path bestCheckpoint, boolean interrupted) {
    }

    private static final int EVAL_CHUNK = 512;

    private final RunConfig config;
    private final Corpus corpus;
    private final BatchSource source;
    private final List<TrainingListener> listeners;
    private final BooleanSupplier stopRequested;
    private RunDirectory runDir;

    /** Checks that the corpus fits the config (a usage error if not) before anything is created on disk. */
    public Trainer(RunConfig config, Corpus corpus, List<TrainingListener> listeners, BooleanSupplier stopRequested) {
        this.config = config;
        this.corpus = corpus;
        this.listeners = listeners;
        this.stopRequested = stopRequested;
        TrainingConfig tc = config.training();
        this.source = new BatchSource(corpus.train(), corpus.vocabulary().size(), tc.batchSize(), tc.tbpttLength(),
                tc.sampling(), tc.seed());
    }

    public Result run(RunDirectory runDir) {
        this.runDir = runDir;
        TrainingConfig tc = config.training();
        int vocabSize = corpus.vocabulary().size();
        CarriedStateNetwork net = NetworkFactory.create(config.model(), tc, vocabSize);
        Plan plan = new Plan(config, vocabSize, corpus.train().length, corpus.validation().length, net.numParams(),
                source.batchesPerEpoch(), runDir.path());
        listeners.forEach(l -> l.onStart(plan));

        long start = System.nanoTime();
        long maxIterations = tc.maxIterations() > 0 ? tc.maxIterations() : Long.MAX_VALUE;
        long totalIterations = Math.min(maxIterations, (long) tc.maxEpochs() * source.batchesPerEpoch());
        double maxSeconds = tc.maxMinutes() > 0 ? tc.maxMinutes() * 60 : Double.POSITIVE_INFINITY;
        long iteration = 0;
        long tokens = 0;
        double trainSeconds = 0;
        double smoothed = Double.NaN;
        double lastLoss = Double.NaN;
        double best = Double.NaN;
        double lastVal = Double.NaN;
        long lastEvalIteration = -1;
        boolean interrupted = false;
        int epoch = 0;
        int k = 0;

        training:
        for (; epoch < tc.maxEpochs(); epoch++) {
            net.setLearningRate(tc.learningRate() * Math.pow(tc.lrDecay(), Math.max(0, epoch - tc.lrDecayAfter())));
            net.resetTrainingState();
            for (k = 0; k < source.batchesPerEpoch(); k++) {
                if (iteration >= maxIterations || elapsed(start) >= maxSeconds) break training;
                if (stopRequested.getAsBoolean()) {
                    interrupted = true;
                    break training;
                }
                DataSet batch = source.batch(epoch, k);
                long t0 = System.nanoTime();
                if (tc.sampling() == Sampling.CONSECUTIVE) net.fitCarryingState(batch);
                else net.fit(batch);
                lastLoss = net.score() / tc.tbpttLength();
                trainSeconds += (System.nanoTime() - t0) / 1e9;
                if (!Double.isFinite(lastLoss)) {
                    throw new TextgenException(TextgenException.RUNTIME, "training diverged: loss is " + lastLoss
                            + " at iteration " + (iteration + 1) + "; lower training.learningRate or training.gradientClip"
                            + " (the last good checkpoint is " + runDir.latest() + ")");
                }
                iteration++;
                tokens += source.tokensPerBatch();
                smoothed = Double.isNaN(smoothed) ? lastLoss : 0.98 * smoothed + 0.02 * lastLoss;
                double cps = tokens / trainSeconds;
                double epochs = epoch + (k + 1.0) / source.batchesPerEpoch();
                double el = elapsed(start);
                double left = Math.min(maxSeconds - el, (totalIterations - iteration) * (el / iteration));
                for (TrainingListener l : listeners) {
                    l.onIteration(new Progress(iteration, epochs, lastLoss, smoothed, cps, el, left));
                }
                if (iteration % tc.evalEvery() == 0) {
                    TrainingState state = new TrainingState(iteration, epoch, k + 1, tokens, Double.NaN, best, trainSeconds);
                    Evaluation ev = evaluate(net, state, epochs, smoothed);
                    lastVal = ev.valLoss();
                    if (ev.best()) best = ev.valLoss();
                    lastEvalIteration = iteration;
                }
            }
            if (k == source.batchesPerEpoch()) net.incrementEpochCount();
        }
        double epochs = Math.min(tc.maxEpochs(), epoch + (double) k / source.batchesPerEpoch());
        if (iteration > 0 && lastEvalIteration != iteration) {
            TrainingState state = new TrainingState(iteration, epoch, k, tokens, Double.NaN, best, trainSeconds);
            Evaluation ev = evaluate(net, state, epochs, smoothed);
            lastVal = ev.valLoss();
            if (ev.best()) best = ev.valLoss();
        }
        if (iteration == 0) {
            throw TextgenException.usage("no training happened: the limits allow no iteration"
                    + " (training.maxIterations, training.maxMinutes, training.maxEpochs)");
        }
        return new Result(best, lastVal, iteration, epochs, trainSeconds > 0 ? tokens / trainSeconds : 0, elapsed(start),
                runDir.best(), interrupted);
    }

    /** Validation loss, a sample and checkpoints, with the carried training state set aside and put back. */
    private Evaluation evaluate(CarriedStateNetwork net, TrainingState state, double epochs, double trainLoss) {
        TrainingConfig tc = config.training();
        Map<Integer, Map<String, INDArray>> carried = net.trainingState();
        Evaluator.Score score = Evaluator.score(net, corpus.validation(), corpus.vocabulary().size(), tc.batchSize(), EVAL_CHUNK);
        double val = score.nats();
        String sample = "";
        if (tc.sampleLength() > 0) {
            Sampler sampler = new Sampler(net, corpus.vocabulary(), SamplingOptions.withTemperature(tc.sampleTemperature()));
            sample = sampler.generate(new int[0], tc.sampleLength(), null, new SplittableRandom(tc.seed() + state.iteration()), s -> {
            });
        }
        net.restoreTrainingState(carried);
        boolean best = Double.isNaN(state.bestValLoss()) || val < state.bestValLoss();
        TrainingState saved = new TrainingState(state.iteration(), state.epoch(), state.batchInEpoch(), state.tokensSeen(), val,
                best ? val : state.bestValLoss(), state.trainSeconds());
        Checkpoint.write(runDir.latest(), net, corpus.vocabulary(), config, saved, corpus.sha256());
        if (best) runDir.copyAtomically(runDir.latest(), runDir.best());
        if (!sample.isEmpty()) runDir.appendText("samples.txt", "=== iteration " + state.iteration() + ", validation loss "
                + String.format(java.util.Locale.ROOT, "%.4f", val) + "\n" + sample + "\n\n");
        Evaluation ev = new Evaluation(state.iteration(), epochs, trainLoss, val, best, sample, best ? runDir.best() : runDir.latest());
        listeners.forEach(l -> l.onEvaluation(ev));
        return ev;
    }

    private static double elapsed(long start) {
        return (System.nanoTime() - start) / 1e9;
    }
}
