package textgen.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import textgen.model.GpuCheck;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** ./textgen choosing the build: --backend, TEXTGEN_BACKEND, and --fallback-cpu on GPUs the CUDA build cannot use. */
class LauncherIT {
    @TempDir
    Path dir;

    static final String LAUNCHER = Shell.ROOT.resolve("textgen").toString();

    @Test
    void backendOptionAndVariableSelectTheBuild() throws Exception {
        assertTrue(Files.isRegularFile(Shell.ROOT.resolve("app/target/textgen.jar")), "runs after package");
        for (var c : List.of(List.of("--backend", "cpu", "--version"), List.of("--version", "--backend=cpu"))) {
            Shell.Run r = Shell.start(dir, null, Map.of(), concat(LAUNCHER, c));
            assertEquals(0, r.exit(60), r.errText());
            assertTrue(r.outText().contains("backend cpu"), "--backend is the launcher's and is not passed on: " + r.outText());
        }
        Shell.Run env = Shell.start(dir, null, Map.of("TEXTGEN_BACKEND", "cpu"), LAUNCHER, "--version");
        assertEquals(0, env.exit(60));
        assertTrue(env.outText().contains("backend cpu"));

        record Bad(Map<String, String> env, List<String> args, String error) {
        }
        for (Bad b : List.of(new Bad(Map.of(), List.of("--backend", "gpu", "--version"), "textgen: --backend must be cpu or cuda, not 'gpu'"),
                new Bad(Map.of("TEXTGEN_BACKEND", "rocm"), List.of("--version"), "textgen: TEXTGEN_BACKEND must be cpu or cuda, not 'rocm'"),
                new Bad(Map.of(), List.of("--version", "--backend"), "textgen: --backend needs a value: cpu or cuda"))) {
            Shell.Run r = Shell.start(dir, null, b.env(), concat(LAUNCHER, b.args()));
            assertEquals(2, r.exit(60));
            assertEquals(b.error(), r.errText());
            assertEquals("", r.outText());
        }
    }

    /** Where the CUDA build cannot run, --fallback-cpu runs the CPU build (never building the CUDA one) and says why. */
    @Test
    void fallbackCpuRunsTheCpuBuildWhereTheGpuCannotRunTheCudaOne() throws Exception {
        Path corpus = Files.writeString(dir.resolve("c.txt"), "abcde fghij klmno\n".repeat(50));
        record Box(String recording, int exit, String reason) {
        }
        for (Box box : List.of(new Box("h100.txt", 0, "GPU 0 (NVIDIA H100 80GB HBM3, compute capability 9.0) is not supported"))) {
            Path bin = Shell.nvidiaSmi(dir.resolve("bin-" + box.recording()), box.recording(), box.exit());
            Shell.Run r = Shell.start(dir, bin, Map.of("TEXTGEN_BACKEND", "cuda"), LAUNCHER, "summary", "--fallback-cpu",
                    "--corpus", corpus.toString(), "--set", "model.hiddenSize=8", "--set", "model.layers=1");
            assertEquals(0, r.exit(120), r.errText());
            assertTrue(r.outText().contains("Total params"), r.outText());
            assertEquals(1, r.err.size(), "one line: " + r.errText());
            String line = r.err.get(0);
            assertTrue(line.startsWith("textgen: ") && line.contains(box.reason()) && line.endsWith("; running on the CPU build instead (--fallback-cpu)"), line);
        }
    }

    /** The launcher's protocol with textgen.model.GpuCheck: exit code 0 when the CUDA build can run, 3 and the reason when not. */
    @Test
    void gpuCheckMainAnswersTheLauncher() throws Exception {
        String jar = Shell.ROOT.resolve("app/target/textgen.jar").toString();
        Shell.Run a100 = Shell.start(dir, Shell.nvidiaSmi(dir.resolve("a100"), "a100.txt", 0), Map.of(), "java", "-cp", jar, "textgen.model.GpuCheck");
        assertEquals(0, a100.exit(60), a100.outText());
        assertEquals("", a100.outText());
        Shell.Run h100 = Shell.start(dir, Shell.nvidiaSmi(dir.resolve("h100"), "h100.txt", 0), Map.of(), "java", "-cp", jar, "textgen.model.GpuCheck");
        assertEquals(3, h100.exit(60));
        assertTrue(h100.outText().startsWith("GPU 0 (NVIDIA H100 80GB HBM3, compute capability 9.0) is not supported"), h100.outText());
        Shell.Run skip = Shell.start(dir, Shell.nvidiaSmi(dir.resolve("h100"), "h100.txt", 0), Map.of(GpuCheck.SKIP_VARIABLE, "skip"),
                "java", "-cp", jar, "textgen.model.GpuCheck");
        assertEquals(0, skip.exit(60));
    }

    static String[] concat(String first, List<String> rest) {
        String[] a = new String[rest.size() + 1];
        a[0] = first;
        for (int i = 0; i < rest.size(); i++) a[i + 1] = rest.get(i);
        return a;
    }
}
