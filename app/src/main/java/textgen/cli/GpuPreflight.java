package textgen.cli;

import picocli.CommandLine.ParseResult;
import textgen.model.Backend;
import textgen.model.GpuCheck;

import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;

/**
 * On the CUDA build, checks the GPUs ({@link GpuCheck}) before a command that starts ND4J runs, so that an unsupported
 * GPU or a missing driver is one line and exit code 2 instead of a CUDA error deep inside ND4J. Nothing before it may
 * touch ND4J: parsing the command line does not.
 */
final class GpuPreflight {
    /** Commands that never start ND4J: they run anywhere, GPU or not. */
    static final Set<String> WITHOUT_ND4J = Set.of("plot", "corpus", "help");

    private final String backend;
    private final Map<String, String> env;
    private final GpuCheck.Smi smi;
    private final Supplier<String> cudaRuntimeProblem;

    GpuPreflight(String backend, Map<String, String> env, GpuCheck.Smi smi, Supplier<String> cudaRuntimeProblem) {
        this.backend = backend;
        this.env = env;
        this.smi = smi;
        this.cudaRuntimeProblem = cudaRuntimeProblem;
    }

    static GpuPreflight system() {
        return new GpuPreflight(Backend.configuredBackend(), System.getenv(), GpuCheck.SYSTEM, GpuCheck::cudaRuntimeProblem);
    }

    /** Null when the parsed command may run; else the one line saying why not. */
    String refusal(ParseResult root) {
        if (!"cuda".equals(backend) || !root.hasSubcommand() || WITHOUT_ND4J.contains(root.subcommand().commandSpec().name())) return null;
        boolean fallback = false;
        for (ParseResult p = root; p != null; p = p.hasSubcommand() ? p.subcommand() : null) {
            if (p.isUsageHelpRequested() || p.isVersionHelpRequested()) return null;
            fallback |= p.hasMatchedOption("--fallback-cpu");
        }
        GpuCheck.Verdict v = GpuCheck.check(smi, env);
        String problem = v.ok() ? cudaRuntimeProblem.get() : v.message();
        if (problem == null) return null;
        return problem + (fallback
                ? "; --fallback-cpu: this CUDA build has no CPU backend: run it through ./textgen, which starts the CPU build instead"
                : "; to run on the CPU instead, add --fallback-cpu (through ./textgen) or use ./textgen --backend cpu");
    }
}
