package textgen.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;
import textgen.checkpoint.Checkpoint;
import textgen.checkpoint.RunDirectory;
import textgen.config.ConfigLoader;
import textgen.config.RunConfig;
import textgen.corpus.NumberWordsTask;
import textgen.corpus.Corpus;
import textgen.generate.Sampler;
import textgen.generate.SamplingOptions;
import textgen.train.Trainer;
import textgen.train.TrainingRun;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;

/**
 * The quick start: needs no corpus. Generates numbers in English words with their digits, trains a small LSTM on them
 * as plain text, then asks it for the digits of numbers it has never seen.
 */
@Command(name = "demo", mixinStandardHelpOptions = true, sortOptions = false, showDefaultValues = true,
        description = {"Learn to read numbers written in words, from text, in a few minutes, no corpus needed: generates lines",
                "like 'four thousand seven hundred twenty-one = 4721', trains an LSTM on them as plain text, then asks it",
                "for the digits of numbers it never saw."})
final class DemoCommand implements Callable<Integer> {
    @ParentCommand
    TextgenCommand root;

    @Spec
    CommandSpec spec;

    @Option(names = "--minutes", paramLabel = "M", defaultValue = "4", description = "Training time.")
    double minutes;

    @Option(names = "--max-iterations", paramLabel = "N", defaultValue = "0",
            description = "Also stop after N iterations (0 = no limit): the same run on any machine, e.g. for tests.")
    long maxIterations;

    @Option(names = "--run-dir", paramLabel = "DIR", description = "Where the corpus and checkpoints go (default: runs/demo-<time>).")
    Path runDir;

    @Option(names = "--show", paramLabel = "N", defaultValue = "12", description = "Held-out problems to print.")
    int show;

    @Option(names = "--json", description = "End with one JSON line: exact_match, held_out, best_val_loss, seconds, run_dir.")
    boolean json;

    static final int PROBLEMS = 40_000, HELD_OUT = 300;

    @Override
    public Integer call() {
        if (!(minutes > 0 && minutes <= 1e6)) throw new ParameterException(spec.commandLine(), "--minutes must be > 0, got " + minutes);
        if (maxIterations < 0) throw new ParameterException(spec.commandLine(), "--max-iterations must be >= 0, got " + maxIterations);
        if (show < 0) throw new ParameterException(spec.commandLine(), "--show must be >= 0, got " + show);
        PrintWriter out = spec.commandLine().getOut();
        Path dirPath = runDir != null ? runDir : RunDirectory.defaultPath("demo");
        List<List<NumberWordsTask.Problem>> split = NumberWordsTask.generate(PROBLEMS, HELD_OUT, 1);
        List<NumberWordsTask.Problem> train = split.get(0), heldOut = split.get(1);
        StringBuilder text = new StringBuilder();
        train.forEach(p -> text.append(p.line()).append('\n'));

        RunConfig cfg = ConfigLoader.load(null, List.of("model.layers=2", "model.hiddenSize=128", "training.batchSize=64",
                "training.tbpttLength=40", "training.sampling=random", "training.learningRate=0.004", "training.lrDecay=0.85", "training.lrDecayAfter=2",
                "training.maxEpochs=100", "training.maxMinutes=" + minutes, "training.maxIterations=" + maxIterations, "training.evalEvery=200", "training.sampleLength=0",
                "corpus.validationFraction=0.02", "corpus.path=" + dirPath.toAbsolutePath().resolve("train.txt"), "training.seed=3"));
        Corpus corpus = Corpus.split(text.toString(), cfg.corpus().validationFraction(), "generated addition corpus", Corpus.sha256(text.toString()));
        try (TrainingRun run = TrainingRun.create(cfg, corpus, dirPath,
                    List.of(new ConsoleProgress(out, spec.commandLine().getErr(), System.console() != null, 10)), root.stop::requested)) { // the run directory's lock, until the end
            RunDirectory dir = run.directory();
            dir.writeText("train.txt", text.toString());
            StringBuilder held = new StringBuilder();
            heldOut.forEach(p -> held.append(p.prompt()).append('\t').append(p.answer()).append('\n'));
            dir.writeText("holdout.tsv", held.toString());
            out.printf(Locale.ROOT, "textgen demo: %,d lines of numbers in words and digits, e.g. \"%s\"%n", PROBLEMS, train.get(0).line());
            out.printf(Locale.ROOT, "training a 2 x LSTM(128) for up to %s minutes, then asking it for the digits of %d numbers it never saw%n",
                    minutes, HELD_OUT);
            out.flush();
            Trainer.Result r = root.stop.armedDuring(run::run);
            Checkpoint.Loaded best = Checkpoint.read(dir.best(), false);
            Sampler sampler = new Sampler(best.network(), best.vocabulary(), new SamplingOptions(1, 0, 1, true));
            int correct = 0;
            out.println();
            for (int i = 0; i < heldOut.size(); i++) {
                NumberWordsTask.Problem p = heldOut.get(i);
                String answer = sampler.generate(best.vocabulary().encode(p.prompt(), false, "prompt"), 8, "\n", new SplittableRandom(i), s -> {
                });
                boolean ok = answer.equals(p.answer());
                if (ok) correct++;
                if (i < show) {
                    out.printf(Locale.ROOT, "  %45s = %-5s %s%n", NumberWordsTask.words(p.number()), answer, ok ? "right" : "wrong (" + p.number() + ")");
                }
            }
            double exact = correct / (double) heldOut.size();
            out.printf(Locale.ROOT, "%nnumbers it never saw, read exactly right: %d of %d (%.1f%%) after %.1f minutes of training; run directory %s%n",
                    correct, heldOut.size(), 100 * exact, r.seconds() / 60, dir.path());
            if (json) {
                ObjectNode o = new ObjectMapper().createObjectNode();
                o.put("exact_match", exact);
                o.put("held_out", heldOut.size());
                o.put("best_val_loss", r.bestValLoss());
                o.put("iterations", r.iterations());
                o.put("seconds", r.seconds());
                o.put("run_dir", dir.path().toString());
                out.println(o);
            }
            out.flush();
            return r.interrupted() ? textgen.TextgenException.INTERRUPTED : 0;
        }
    }
}
