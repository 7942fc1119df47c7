package textgen.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;
import textgen.Version;
import textgen.model.Backend;

/** The root command: subcommands, global options, exit codes. */
@Command(name = "textgen", mixinStandardHelpOptions = true, versionProvider = TextgenCommand.VersionProvider.class,
        description = "Train LSTM language models on text, sample from them, and score text with them.",
        subcommands = {DemoCommand.class, TrainCommand.class, SampleCommand.class, PerplexityCommand.class, InspectCommand.class, SummaryCommand.class, PlotCommand.class,
                CorpusCommand.class, CompletionCommand.class,
                picocli.CommandLine.HelpCommand.class},
        footerHeading = "%nExit codes:%n",
        footer = {"  0    success",
                "  1    runtime failure (training diverged, a file could not be written, ...)",
                "  2    bad usage, config, corpus, text or checkpoint (the message says what)",
                "  130  interrupted (train saves a checkpoint first)"})
public class TextgenCommand {
    @Option(names = "--stacktrace", scope = ScopeType.INHERIT, description = "Print the full stack trace of an error.")
    boolean stacktrace;

    @Option(names = "--verbose", scope = ScopeType.INHERIT,
            description = "Log DL4J and ND4J at INFO level on stderr (start-up, backend, threads); quiet (warnings only) by default.")
    void verbose(boolean on) {
        // read by slf4j-simple when the first logger is created, which is after parsing (ND4J starts lazily)
        if (on) System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "info");
    }

    @Option(names = "--fallback-cpu", scope = ScopeType.INHERIT,
            description = "On the CUDA build, when the GPU cannot run it (compute capability outside 3.7-8.9, no driver): run on the CPU "
                    + "instead of stopping with exit code 2 (./textgen then starts the CPU build). Does nothing on the CPU build.")
    boolean fallbackCpu;

    final StopSignal stop;

    TextgenCommand(StopSignal stop) {
        this.stop = stop;
    }

    static final class VersionProvider implements picocli.CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[]{"textgen " + Version.TEXTGEN, "DL4J/ND4J " + Backend.DL4J_VERSION + ", backend "
                    + Backend.configuredBackend(), "Java " + System.getProperty("java.version")};
        }
    }
}
