package textgen.cli;

import picocli.CommandLine.ParseResult;
import textgen.model.Backend;
import textgen.model.GpuCheck;

import java.util.Map;
import java.util.Set;

/**
 * On the CUDA build, checks the GPUs ({@link GpuCheck}) before a command that starts ND4J runs, so that an unsupported
 * GPU or a missing driver is one line and exit code 2 instead of a CUDA error deep inside ND4J. Nothing before it may
 * touch ND4J: parsing the command line does not.
 */
final class GpuPreflight {
    /** Commands that never start ND4J: they run anywhere, GPU or not. */
    static final Set<String> WITHOUT_ND4J = Set.of("plot", "corpus", "help");

    /** JavaCPP's CUDA runtime bindings: loading the class loads libcudart and libcuda, the first thing ND4J's CUDA backend does. */
    static final String CUDA_RUNTIME = "org.bytedeco.cuda.global.cudart";

    private final String backend;
    private final Map<String, String> env;
    private final GpuCheck.Smi smi;
    private final Runnable loadCudaRuntime;

    GpuPreflight(String backend, Map<String, String> env, GpuCheck.Smi smi, Runnable loadCudaRuntime) {
        this.backend = backend;
        this.env = env;
        this.smi = smi;
        this.loadCudaRuntime = loadCudaRuntime;
    }

    static GpuPreflight system() {
        return new GpuPreflight(Backend.configuredBackend(), System.getenv(), GpuCheck.SYSTEM, () -> {
            try {
                Class.forName(CUDA_RUNTIME, true, GpuPreflight.class.getClassLoader());
            } catch (ClassNotFoundException e) {
                throw new NoClassDefFoundError(CUDA_RUNTIME);
            }
        });
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
        String problem = v.ok() ? null : v.message();
        if (problem == null) {
            try {
                loadCudaRuntime.run();
                return null;
            } catch (LinkageError e) {
                // ND4J would log this as a warning and fail with "no nd4j backend on your classpath"
                problem = "the CUDA build's native libraries did not load (" + shortPaths(e.getMessage()) + "): it needs the NVIDIA"
                        + " driver and the CUDA 11.6 runtime (install CUDA 11.6, or build with -Pcuda,cuda-redist; see README, GPU)";
            }
        }
        return problem + (fallback
                ? "; --fallback-cpu: this CUDA build has no CPU backend: run it through ./textgen, which starts the CPU build instead"
                : "; to run on the CPU instead, add --fallback-cpu (through ./textgen) or use ./textgen --backend cpu");
    }

    /** File names instead of JavaCPP's cache paths: "/root/.javacpp/cache/x.jar/org/.../libjnicudart.so: ..." -> "libjnicudart.so: ...". */
    static String shortPaths(String message) {
        return String.valueOf(message).replaceAll("(?:/[^/:\\s]+)+/([^/:\\s]+)", "$1").strip();
    }
}
