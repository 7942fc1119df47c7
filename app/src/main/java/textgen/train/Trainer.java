package textgen.train;

import org.nd4j.linalg.api.ndarray.INDArray;
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
import textgen.model.StepProfile;
import textgen.model.WeightDrop;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.BooleanSupplier;
import java.util.stream.IntStream;

/**
 * The training loop, written once ({@link #train}): minibatches from a {@link BatchSource}, one truncated-BPTT step
 * each through a {@link StepRunner}, the {@link DivergenceGuard}'s verdict, then validation and a sample every
 * {@code training.evalEvery} iterations and at the end. Stops at the first of maxEpochs, maxIterations, maxMinutes or
 * an external stop request (then it still evaluates and saves). Checkpoints, metrics, samples, progress and the UI are
 * {@link TrainingListener}s; the guard's rollbacks restore what they saved in the run directory.
 *
 * <p>Over 300 lines because the records its listeners receive (Plan, Progress, Snapshot, Evaluation, Rollback,
 * Result) live here with the loop that makes them; the loop itself is {@code Loop.train}, one screen.
 */
public final class Trainer {
    /** What is about to be trained; {@code startIteration} > 0 when a run resumes. */
    public record Plan(RunConfig config, int vocabSize, String unit, long trainTokens, long validationTokens, long parameters,
                       int batchesPerEpoch, Path runDir, long startIteration) {
    }

    /** After one iteration. {@code secondsLeft} is NaN when no limit bounds the run. */
    public record Progress(long iteration, double epochs, double loss, double smoothedLoss, double charsPerSecond,
                           double elapsedSeconds, double secondsLeft) {
    }

    /** A state worth keeping: the network, where the run stands, and the carried hidden state (empty: none to carry). */
    public record Snapshot(CarriedStateNetwork network, TrainingState state, double epochs, boolean best,
                           Map<Integer, Map<String, INDArray>> carried) {
    }

    /** After one validation: {@code state} holds its loss; {@code trainLoss} is the smoothed training loss. */
    public record Evaluation(TrainingState state, double epochs, double trainLoss, boolean best, String sample, double learningRate) {
        public long iteration() {
            return state.iteration();
        }

        public double valLoss() {
            return state.valLoss();
        }
    }

    /** The divergence guard rolled back: the loss at {@code iteration}, now continuing from {@code toIteration}. */
    public record Rollback(long iteration, double loss, double lowestMean, long toIteration, double newLearningRate,
                           int rollbacks, int maxRollbacks) {
    }

    /**
     * How the run ended. {@code bestCheckpoint} is null when nothing was saved. {@code deviceSteps}: optimizer steps
     * each device ran in this session (one entry per device; steps the divergence guard rolled back included).
     * {@code roundSeconds}: a cluster runner's median round, by part ({@link StepRunner#roundSeconds}).
     */
    public record Result(double bestValLoss, double finalValLoss, long iterations, double epochs, double charsPerSecond,
                         double seconds, Path bestCheckpoint, boolean interrupted, long[] deviceSteps, Map<String, Double> roundSeconds) {
    }

    /** Where a run starts: a resumed checkpoint, or fresh weights (replaced by {@code initParams} when fine-tuning). */
    public record Start(Checkpoint.Loaded resume, INDArray initParams) {
        public static final Start FRESH = new Start(null, null);
    }

    private static final int EVAL_CHUNK = 512;

    private final RunConfig config;
    private final TrainingConfig tc;
    private final Corpus corpus;
    private final BatchSource source;
    private final BooleanSupplier stopRequested;
    private final StepRunner runner;

    /**
     * Checks that the corpus fits the config and the machine has the devices it asks for (a usage error if not) before
     * anything is created on disk.
     */
    public Trainer(RunConfig config, Corpus corpus, BooleanSupplier stopRequested) {
        this(config, corpus, stopRequested, StepRunner.of(config, corpus));
    }

    /** With {@code runner} taking the steps (tests drive the loop with one of their own). */
    Trainer(RunConfig config, Corpus corpus, BooleanSupplier stopRequested, StepRunner runner) {
        this.config = config;
        this.tc = config.training();
        this.corpus = corpus;
        this.stopRequested = stopRequested;
        this.runner = runner;
        this.source = new BatchSource(corpus.train(), corpus.vocabulary().size(), tc.batchSize(), tc.tbpttLength(),
                tc.sampling(), tc.seed(), config.model().embedding());
        StepRunner.check(tc.devices());
    }

    /** What one token is, in rates: "char" or "word". */
    public String unit() {
        return corpus.vocabulary().shortUnit();
    }

    /**
     * Trains into {@code runDir}: continuing a resumed checkpoint exactly (parameters, updater, counters, corpus
     * position, carried state, learning-rate cuts, best loss), else from fine-tuning weights, else from a fresh
     * initialisation; {@code listeners} are told everything, in their order (see {@link TrainingRun} for the usual ones).
     */
    public Result run(RunDirectory runDir, Start start, List<TrainingListener> listeners) {
        Loop loop = new Loop(runDir, start, listeners);
        try {
            return loop.train();
        } finally {
            runner.close();
            listeners.forEach(TrainingListener::onEnd);
        }
    }

    /** Everything the loop changes, in one place: where the run stands (as a checkpoint stores it) and this session's own. */
    private final class Loop {
        final RunDirectory dir;
        final Start start;
        final List<TrainingListener> listeners;
        final DivergenceGuard guard = new DivergenceGuard(tc.divergenceFactor(), tc.maxRollbacks());
        final long sessionStart = System.nanoTime();
        double elapsedBefore;
        final long maxIterations = tc.maxIterations() > 0 ? tc.maxIterations() : Long.MAX_VALUE;
        final long totalIterations;
        final double maxSeconds = tc.maxMinutes() > 0 ? tc.maxMinutes() * 60 : Double.POSITIVE_INFINITY;
        TrainingState st;
        Map<Integer, Map<String, INDArray>> carried; // the state to restore on (re)entering a position
        boolean entering = true;
        double lr = Double.NaN, lastVal = Double.NaN, lastSaveSeconds;
        long sessionIterations, lastSaveIteration, lastEvalIteration;
        boolean interrupted;

        Loop(RunDirectory dir, Start start, List<TrainingListener> listeners) {
            this.dir = dir;
            this.start = start;
            this.listeners = listeners;
            totalIterations = Math.min(maxIterations, (long) tc.maxEpochs() * source.batchesPerEpoch());
        }

        Result train() {
            if (start.resume() != null) enter(CarriedStateNetwork.from(start.resume().network()), start.resume().state(), start.resume().carried());
            else enter(fresh(), TrainingState.start(), Map.of());
            elapsedBefore = st.elapsedSeconds();
            lastEvalIteration = st.iteration();
            Plan plan = new Plan(config, corpus.vocabulary().size(), unit(), corpus.train().size(), corpus.validation().size(),
                    runner.network().numParams(), source.batchesPerEpoch(), dir.path(), st.iteration());
            listeners.forEach(l -> l.onStart(plan));
            listeners.forEach(l -> l.onNetwork(runner.network()));
            while (true) {
                if (st.batchInEpoch() >= source.batchesPerEpoch()) nextEpoch();
                double el = elapsed();
                if (st.epoch() >= tc.maxEpochs() || st.iteration() >= maxIterations || el >= maxSeconds) break;
                if (stopRequested.getAsBoolean()) {
                    interrupted = true;
                    break;
                }
                round(el);
            }
            double epochs = Math.min(tc.maxEpochs(), epochs());
            st = st.withSession(st.trainSeconds(), elapsed(), st.lrScale(), st.rollbacks());
            if (st.iteration() > 0 && lastEvalIteration != st.iteration()) evaluate(epochs);
            if (st.iteration() == 0 && !interrupted) {
                throw TextgenException.usage("no training happened: the limits allow no iteration"
                        + " (training.maxIterations, training.maxMinutes, training.maxEpochs)");
            }
            return new Result(st.bestValLoss(), lastVal, st.iteration(), epochs, st.trainSeconds() > 0 ? st.tokensSeen() / st.trainSeconds() : 0,
                    st.elapsedSeconds(), Files.exists(dir.best()) ? dir.best() : null, interrupted, runner.stepsPerDevice(),
                    runner.roundSeconds());
        }

        /**
         * The next steps through the runner: one, or up to its local steps, ending at the epoch's end, the next
         * evaluation or the iteration limit, whichever comes first. The learning rate is this point's (for the whole
         * round); the carried state is zero at an epoch's start, restored on (re)entry, some streams restarted.
         * Each step's loss goes to the guard in turn; a rollback drops the rest of the round.
         */
        void round(double el) {
            double wantLr = learningRate(el);
            if (wantLr != lr) runner.setLearningRate(lr = wantLr);
            int k = st.batchInEpoch();
            if (k == 0) runner.resetTrainingState();
            else if (entering) runner.restoreTrainingState(carried);
            entering = false;
            long it = st.iteration();
            int n = (int) Math.min(Math.min(runner.localSteps(), source.batchesPerEpoch() - k),
                    Math.min(maxIterations - it, tc.evalEvery() - it % tc.evalEvery()));
            long[] seeds = new long[n];
            int[][] resets = new int[n][];
            for (int j = 0; j < n; j++) {
                seeds[j] = tc.seed() * 1_000_003L + it + j; // dropout masks depend on the iteration only
                resets[j] = k + j > 0 && tc.stateResetProbability() > 0 && consecutive() ? resetRows(st.epoch(), k + j) : new int[0];
            }
            long t0 = System.nanoTime();
            StepProfile.beginStep();
            double[] scores = runner.steps(source, st.epoch(), k, n, consecutive(), seeds, resets);
            StepProfile.endStep();
            double stepSeconds = (System.nanoTime() - t0) / 1e9 / n;
            for (int j = 0; j < n; j++) {
                double loss = scores[j] / tc.tbpttLength();
                switch (guard.check(loss, st.recentLoss(), st.lowestMean(), st.rollbacks())) {
                    case CONTINUE -> advance(loss, stepSeconds, j == n - 1);
                    case ROLL_BACK -> {
                        rollBack(loss, stepSeconds, el);
                        return;
                    }
                    case GIVE_UP -> throw giveUp(loss);
                }
            }
        }

        /**
         * A step that counts: counters, running means, progress, and an evaluation or a timed checkpoint when due (only
         * at a round's {@code last} step, where the runner's network holds the parameters of this iteration).
         */
        void advance(double loss, double stepSeconds, boolean last) {
            double smoothed = Double.isNaN(st.smoothedLoss()) ? loss : 0.98 * st.smoothedLoss() + 0.02 * loss;
            double lowest = Double.isNaN(st.lowestMean()) ? smoothed : Math.min(st.lowestMean(), smoothed);
            double trainSeconds = st.trainSeconds() + stepSeconds;
            long tokens = st.tokensSeen() + source.tokensPerBatch();
            st = new TrainingState(st.iteration() + 1, st.epoch(), st.batchInEpoch() + 1, tokens, Double.NaN, st.bestValLoss(), trainSeconds,
                    elapsed(), smoothed, DivergenceGuard.recentMean(st.recentLoss(), loss), lowest, st.lrScale(), st.rollbacks());
            sessionIterations++;
            double left = Math.min(maxSeconds - st.elapsedSeconds(),
                    (totalIterations - st.iteration()) * (sessionSeconds() / sessionIterations));
            Progress p = new Progress(st.iteration(), epochs(), loss, smoothed, tokens / trainSeconds, st.elapsedSeconds(), left);
            listeners.forEach(l -> l.onIteration(p));
            if (st.iteration() % tc.evalEvery() == 0) {
                evaluate(epochs());
            } else if (last && tc.checkpointMinutes() > 0 && sessionSeconds() - lastSaveSeconds >= tc.checkpointMinutes() * 60) {
                Snapshot s = new Snapshot(runner.network(), st, epochs(), false, consecutive() ? runner.trainingState() : Map.of());
                listeners.forEach(l -> l.onCheckpoint(s));
                saved();
            }
        }

        /** Back to the checkpoint the guard names (or a fresh start), with the learning rate cut; the session's time and cuts carry on. */
        void rollBack(double loss, double stepSeconds, double el) {
            int rollbacks = st.rollbacks() + 1;
            double lrScale = st.lrScale() * tc.divergenceLrCut(), trainSeconds = st.trainSeconds() + stepSeconds;
            long divergedAt = st.iteration() + 1;
            double lowestBefore = st.lowestMean();
            Path target = dir.checkpointBefore(guard.restoreBefore(lastSaveIteration));
            if (target != null) {
                Checkpoint.Loaded l = Checkpoint.read(target, true);
                enter(CarriedStateNetwork.from(l.network()), l.state(), l.carried());
            } else {
                enter(fresh(), TrainingState.start(), Map.of());
            }
            guard.restored(st.iteration());
            if (target != null && !target.equals(dir.latest())) dir.discardAfter(st.iteration(), target);
            listeners.forEach(l -> l.onNetwork(runner.network()));
            st = st.withSession(trainSeconds, st.elapsedSeconds(), lrScale, rollbacks);
            Rollback rb = new Rollback(divergedAt, loss, lowestBefore, st.iteration(), learningRate(el), rollbacks, tc.maxRollbacks());
            listeners.forEach(l -> l.onRollback(rb));
        }

        TextgenException giveUp(double loss) {
            return TextgenException.runtime(DivergenceGuard.describe(st.iteration() + 1, loss, st.recentLoss(), st.lowestMean())
                    + " after " + tc.maxRollbacks() + " rollback(s) with the learning rate cut to " + DivergenceGuard.fmt(lr)
                    + "; giving up. Lower training.learningRate or training.gradientClip; the last good checkpoint is "
                    + (Files.exists(dir.latest()) ? dir.latest() : "(none)"), null);
        }

        /**
         * Validation loss, a sample, then the listeners (checkpoint first), on the network that holds the run's parameters
         * (with several devices, device 0's: the average of all after every step), with the carried state set aside and put back.
         */
        void evaluate(double epochs) {
            CarriedStateNetwork net = runner.network();
            Map<Integer, Map<String, INDArray>> state = runner.trainingState();
            double val = Evaluator.score(net, corpus.validation(), corpus.vocabulary().size(), tc.batchSize(), EVAL_CHUNK).nats();
            String sample = tc.sampleLength() == 0 ? "" : new Sampler(net, corpus.vocabulary(), SamplingOptions.withTemperature(tc.sampleTemperature()))
                    .generate(new int[0], tc.sampleLength(), null, new SplittableRandom(tc.seed() + st.iteration()), s -> {
                    });
            runner.restoreTrainingState(state);
            boolean best = st.improvesOn(val);
            st = st.withValidation(val);
            Snapshot snapshot = new Snapshot(net, st, epochs, best, consecutive() ? state : Map.of());
            listeners.forEach(l -> l.onCheckpoint(snapshot));
            Evaluation ev = new Evaluation(st, epochs, st.smoothedLoss(), best, sample, lr);
            listeners.forEach(l -> l.onEvaluation(ev));
            lastVal = val;
            lastEvalIteration = st.iteration();
            saved();
        }

        void saved() {
            lastSaveIteration = st.iteration();
            lastSaveSeconds = sessionSeconds();
        }

        /**
         * Trains {@code net} from {@code state} on: the run's step runner takes it over (its replicas on other devices
         * copy its weight drop).
         */
        void enter(CarriedStateNetwork net, TrainingState state, Map<Integer, Map<String, INDArray>> carriedState) {
            net.setWeightDrop(WeightDrop.of(config.model(), tc.seed()));
            runner.train(net);
            st = state;
            carried = carriedState;
            entering = true;
            lr = Double.NaN;
            lastSaveIteration = state.iteration();
        }

        void nextEpoch() {
            st = st.withEpoch(st.epoch() + 1, 0);
            runner.incrementEpochCount();
        }

        CarriedStateNetwork fresh() {
            CarriedStateNetwork net = NetworkFactory.create(config.model(), tc, corpus.vocabulary().size());
            if (start.initParams() != null) net.setParams(start.initParams().dup());
            return net;
        }

        /** The learning rate at this point: the schedule at the fraction of the run done (iterations or time), times the guard's cuts. */
        double learningRate(double el) {
            return st.lrScale() * scheduledLr(tc, st.epoch(), Math.max((double) st.iteration() / totalIterations, el / maxSeconds));
        }

        double epochs() {
            return st.epoch() + (double) st.batchInEpoch() / source.batchesPerEpoch();
        }

        boolean consecutive() {
            return tc.sampling() == Sampling.CONSECUTIVE;
        }

        double sessionSeconds() {
            return (System.nanoTime() - sessionStart) / 1e9;
        }

        double elapsed() {
            return elapsedBefore + sessionSeconds();
        }
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

    /** The streams whose carried state restarts at minibatch k of an epoch: drawn from (seed, epoch, k), so resume replays them. */
    private int[] resetRows(int epoch, int k) {
        SplittableRandom rng = new SplittableRandom(tc.seed() * 0x2545F4914F6CDD1DL + epoch * 1_000_003L + k);
        return IntStream.range(0, tc.batchSize()).filter(b -> rng.nextDouble() < tc.stateResetProbability()).toArray();
    }
}
