package textgen.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import textgen.TextgenException;
import textgen.report.LossChart;
import textgen.report.Metrics;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "plot", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Draw the training and validation loss of one or more runs on one chart (PNG), from each run "
                + "directory's " + Metrics.JSONL + ": to compare runs. (Each run directory also keeps its own " + LossChart.FILE
                + ", redrawn at every evaluation.)"})
final class PlotCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(paramLabel = "RUN_DIR", arity = "1..*", description = "Run directories (written by textgen train).")
    List<Path> runs;

    @Option(names = {"-o", "--output"}, paramLabel = "FILE", description = "The PNG to write (default: loss-comparison.png).")
    Path output = Path.of("loss-comparison.png");

    @Option(names = "--title", description = "Chart title (default: the run directory names).")
    String title;

    @Override
    public Integer call() {
        if (!output.getFileName().toString().toLowerCase(java.util.Locale.ROOT).endsWith(".png")) {
            throw TextgenException.usage("plot: --output " + output + " must be a .png file");
        }
        if (output.toAbsolutePath().getParent() != null && !Files.isDirectory(output.toAbsolutePath().getParent())) {
            throw TextgenException.usage("plot: the directory of --output " + output + " does not exist");
        }
        List<LossChart.Run> series = new ArrayList<>();
        java.util.Set<String> used = new java.util.HashSet<>();
        for (Path run : runs) {
            if (!Files.isDirectory(run)) throw TextgenException.usage("plot: " + run + " is not a directory (give run directories)");
            List<Metrics.Row> rows = Metrics.read(run);
            if (rows.isEmpty()) throw TextgenException.usage("plot: " + run.resolve(Metrics.JSONL) + " has no evaluations yet");
            // the directory name, or the path as given when two runs share a name (a/run, b/run), numbered if the same
            String label = label(run);
            if (!used.add(label)) label = run.toString();
            for (int n = 2; !used.add(label); n++) label = run + " #" + n;
            series.add(new LossChart.Run(runs.size() == 1 ? null : label, rows));
        }
        String t = title != null ? title : String.join(" vs ", runs.stream().map(PlotCommand::label).toList());
        LossChart.write(series, output, t);
        spec.commandLine().getOut().println("wrote " + output);
        return 0;
    }

    private static String label(Path run) {
        Path name = run.toAbsolutePath().normalize().getFileName();
        return name == null ? run.toString() : name.toString();
    }
}
