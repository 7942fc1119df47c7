package textgen.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import textgen.model.GpuCheck;
import textgen.model.GpuCheckTest;

import javax.tools.ToolProvider;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The GPU check of the CUDA build: which commands it guards, what it prints, and that it runs before ND4J starts. The
 * in-process tests give the CLI the CUDA backend's name and a recorded nvidia-smi; the child-process ones run the real
 * {@code Main} as the CUDA build would (a class named like ND4J's CUDA backend on the class path, a fake nvidia-smi on
 * PATH) and log which classes the JVM loads.
 */
class GpuPreflightTest {
    @TempDir
    Path dir;

    static final GpuCheck.Smi NOT_ASKED = args -> {
        throw new AssertionError("nvidia-smi must not be asked");
    };

    /** The CUDA runtime's libraries load (as on a GPU box with CUDA 11.6). */
    static final java.util.function.Supplier<String> LOADS = () -> null;

    static GpuCheck.Smi recorded(String file) {
        return args -> new GpuCheck.SmiOutput(0, GpuCheckTest.recorded(file));
    }

    static Cli.Result run(GpuPreflight gpu, String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        int code = Main.run(args, new PrintWriter(out), new PrintWriter(err), new StopSignal(() -> {
            throw new IllegalStateException("no signals in-process");
        }), gpu);
        return new Cli.Result(code, out.toString(), err.toString());
    }

    private Path corpus() throws IOException {
        return Files.writeString(dir.resolve("c.txt"), "abcde fghij klmno\n".repeat(200));
    }

    @Test
    void unsupportedGpuStopsTrainingBeforeItStartsWithOneLine() throws IOException {
        Path corpus = corpus();
        Path run = dir.resolve("run");
        GpuPreflight h100 = new GpuPreflight("cuda", Map.of(), recorded("h100.txt"), LOADS);
        Cli.Result r = run(h100, "train", "--corpus", corpus.toString(), "--run-dir", run.toString());
        assertEquals(2, r.code());
        assertEquals("", r.out());
        assertEquals("textgen: GPU 0 (NVIDIA H100 80GB HBM3, compute capability 9.0) is not supported by the CUDA build, which runs on "
                + GpuCheck.SUPPORTED + "; to run on the CPU instead, add --fallback-cpu (through ./textgen) or use ./textgen --backend cpu",
                r.err().strip());
        assertFalse(Files.exists(run), "nothing was started");

        Cli.Result fallback = run(h100, "sample", "--model", "whatever.zip", "--fallback-cpu");
        assertEquals(2, fallback.code());
        assertTrue(fallback.err().strip().endsWith("; --fallback-cpu: this CUDA build has no CPU backend: run it through ./textgen,"
                + " which starts the CPU build instead"), fallback.err());
        assertEquals(1, fallback.err().strip().lines().count());

        Cli.Result noDriver = run(new GpuPreflight("cuda", Map.of(), args -> new GpuCheck.SmiOutput(-1, "was not found on PATH"), LOADS),
                "perplexity", "--model", "m.zip", "--text", "t.txt");
        assertEquals(2, noDriver.code());
        assertTrue(noDriver.err().startsWith("textgen: no NVIDIA driver: nvidia-smi was not found on PATH"), noDriver.err());
    }

    @Test
    void supportedGpuRunsTheCommand() throws IOException {
        Cli.Result r = run(new GpuPreflight("cuda", Map.of(), recorded("a100.txt"), LOADS), "summary", "--corpus", corpus().toString(),
                "--set", "model.hiddenSize=8", "--set", "model.layers=1");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("Total params"), r.out());
    }

    @Test
    void missingCudaRuntimeIsOneLineBeforeNd4jStarts() throws IOException {
        GpuPreflight noRuntime = new GpuPreflight("cuda", Map.of(), recorded("a100.txt"), () -> "the CUDA build's native libraries did not"
                + " load (libjnicudart.so: libcudart.so.11.0: cannot open shared object file: No such file or directory): it needs the NVIDIA"
                + " driver and the CUDA 11.6 runtime (install CUDA 11.6, or build with -Pcuda,cuda-redist; see README, GPU)");
        Path run = dir.resolve("run");
        Cli.Result r = run(noRuntime, "train", "--corpus", corpus().toString(), "--run-dir", run.toString());
        assertEquals(2, r.code());
        assertEquals("textgen: the CUDA build's native libraries did not load (libjnicudart.so: libcudart.so.11.0: cannot open shared"
                + " object file: No such file or directory): it needs the NVIDIA driver and the CUDA 11.6 runtime (install CUDA 11.6, or"
                + " build with -Pcuda,cuda-redist; see README, GPU); to run on the CPU instead, add --fallback-cpu (through ./textgen) or"
                + " use ./textgen --backend cpu", r.err().strip());
        assertFalse(Files.exists(run));
    }

    @Test
    void commandsWithoutNd4jHelpAndTheCpuBuildAreNotChecked() throws IOException {
        GpuPreflight cuda = new GpuPreflight("cuda", Map.of(), NOT_ASKED, LOADS);
        assertEquals(0, run(cuda, "--version").code());
        assertEquals(0, run(cuda, "--help").code());
        assertEquals(0, run(cuda, "train", "--help").code());
        assertEquals(0, run(cuda, "help", "sample").code());
        Path out = dir.resolve("add.txt");
        assertEquals(0, run(cuda, "corpus", "addition", "--count", "20", "--max-digits", "2", "--out", out.toString(),
                "--holdout", "0").code());
        assertTrue(Files.size(out) > 0);
        assertEquals(2, run(cuda, "plot", dir.resolve("no-such-run").toString()).code(), "plot runs (and fails on its own terms)");

        GpuPreflight cpu = new GpuPreflight("cpu", Map.of(), NOT_ASKED, LOADS);
        Cli.Result r = run(cpu, "summary", "--fallback-cpu", "--corpus", corpus().toString(), "--set", "model.hiddenSize=8");
        assertEquals(0, r.code(), "--fallback-cpu is accepted and does nothing on the CPU build: " + r.err());
    }

    // ---- as a separate JVM that takes itself for the CUDA build ----

    /** A class path entry holding a class named like ND4J's CUDA backend, so {@code Backend.configuredBackend()} says cuda. */
    private Path fakeCudaClasses() throws IOException {
        return fakeCudaClasses(true);
    }

    /**
     * Also JavaCPP's CUDA runtime bindings, whose class initialiser loads libcudart and libcuda: it succeeds, or throws
     * what JavaCPP throws when the CUDA libraries are missing.
     */
    private Path fakeCudaClasses(boolean runtimeLoads) throws IOException {
        String variant = runtimeLoads ? "fake" : "fake-no-runtime";
        Path backend = Files.createDirectories(dir.resolve(variant + "-src/org/nd4j/linalg/jcublas")).resolve("JCublasBackend.java");
        Files.writeString(backend, "package org.nd4j.linalg.jcublas; public class JCublasBackend { }\n");
        Path cudart = Files.createDirectories(dir.resolve(variant + "-src/org/bytedeco/cuda/global")).resolve("cudart.java");
        Files.writeString(cudart, "package org.bytedeco.cuda.global; public class cudart { static { if (" + !runtimeLoads + ") {"
                + " UnsatisfiedLinkError e = new UnsatisfiedLinkError(\"no jnicudart in java.library.path: /usr/lib:/lib\");"
                + " e.initCause(new UnsatisfiedLinkError(\"/root/.javacpp/cache/cuda-11.6-8.3-1.5.7-linux-x86_64.jar/org/bytedeco/cuda/"
                + "linux-x86_64/libjnicudart.so: libcudart.so.11.0: cannot open shared object file: No such file or directory\"));"
                + " throw e; } } }\n");
        Path classes = Files.createDirectories(dir.resolve(variant + "-classes"));
        assertEquals(0, ToolProvider.getSystemJavaCompiler().run(null, null, null, "-d", classes.toString(), backend.toString(), cudart.toString()));
        return classes;
    }

    /** A directory with an nvidia-smi that prints {@code recording} (or none, when null). */
    private Path smiDir(String recording) throws IOException {
        Path bin = Files.createDirectories(dir.resolve("bin-" + recording));
        if (recording != null) {
            Path out = Files.writeString(bin.resolve("out.txt"), GpuCheckTest.recorded(recording));
            Path smi = Files.writeString(bin.resolve("nvidia-smi"), "#!/bin/sh\nexec /bin/cat '" + out + "'\n");
            Files.setPosixFilePermissions(smi, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
        return bin;
    }

    record Child(int code, String out, String err, List<String> loaded) {
    }

    private Child child(Path fakeClasses, Path smiDir, String... args) throws Exception {
        return child(fakeClasses + java.io.File.pathSeparator + System.getProperty("java.class.path"), smiDir, args);
    }

    private Child child(String classPath, Path smiDir, String... args) throws Exception {
        List<String> mainAndArgs = new ArrayList<>(List.of("textgen.cli.Main"));
        mainAndArgs.addAll(List.of(args));
        return child(classPath, smiDir, mainAndArgs);
    }

    private Child child(String classPath, Path smiDir, List<String> mainAndArgs) throws Exception {
        Path log = Files.createTempFile(dir, "classes", ".log");
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xlog:class+load=info:file=" + log, "-cp", classPath));
        cmd.addAll(mainAndArgs);
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile());
        pb.environment().put("OMP_NUM_THREADS", "1");
        pb.environment().put("PATH", smiDir.toString()); // java is started by its full path; nvidia-smi is looked up here only
        pb.environment().remove("CUDA_VISIBLE_DEVICES");
        pb.environment().remove(GpuCheck.SKIP_VARIABLE);
        Process p = pb.start();
        var out = java.util.concurrent.CompletableFuture.supplyAsync(() -> read(p.getInputStream()));
        String err = read(p.getErrorStream());
        assertTrue(p.waitFor(180, TimeUnit.SECONDS), "finished");
        List<String> loaded = new ArrayList<>();
        for (String l : Files.readAllLines(log)) {
            int i = l.indexOf("] ");
            if (i > 0) loaded.add(l.substring(i + 2).split(" ")[0]);
        }
        return new Child(p.exitValue(), out.get(), err, loaded);
    }

    private static String read(java.io.InputStream in) {
        try {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void cudaBuildRefusesBeforeLoadingNd4j() throws Exception {
        Path fake = fakeCudaClasses();
        Path corpus = corpus();
        Child version = child(fake, smiDir(null), "--version");
        assertEquals(0, version.code());
        assertTrue(version.out().contains("backend cuda"), "the child takes itself for the CUDA build: " + version.out());

        Child noDriver = child(fake, smiDir(null), "train", "--corpus", corpus.toString(), "--run-dir", "r1");
        assertEquals(2, noDriver.code(), noDriver.err());
        assertTrue(noDriver.err().startsWith("textgen: no NVIDIA driver: nvidia-smi was not found on PATH"), noDriver.err());
        assertEquals(1, noDriver.err().strip().lines().count(), noDriver.err());

        Child h100 = child(fake, smiDir("h100.txt"), "train", "--corpus", corpus.toString(), "--run-dir", "r2");
        assertEquals(2, h100.code(), h100.err());
        assertTrue(h100.err().startsWith("textgen: GPU 0 (NVIDIA H100 80GB HBM3, compute capability 9.0) is not supported"), h100.err());
        for (Child c : List.of(noDriver, h100)) {
            assertTrue(c.loaded().contains("textgen.cli.GpuPreflight"), "the check ran");
            assertFalse(c.loaded().stream().anyMatch(n -> n.startsWith("org.nd4j.linalg.factory.")), "ND4J was never loaded");
        }
        assertFalse(Files.exists(dir.resolve("r1")) || Files.exists(dir.resolve("r2")));
    }

    /** Missing CUDA libraries on a supported GPU: the CUDA build says so in one line, and so does the launcher's check. */
    @Test
    void missingCudaRuntimeInTheCudaBuild() throws Exception {
        Path fake = fakeCudaClasses(false);
        Path a100 = smiDir("a100.txt");
        Child train = child(fake, a100, "train", "--corpus", corpus().toString(), "--run-dir", "r3");
        assertEquals(2, train.code(), train.err());
        String expected = "the CUDA build's native libraries did not load (libjnicudart.so: libcudart.so.11.0: cannot open shared object"
                + " file: No such file or directory): it needs the NVIDIA driver and the CUDA 11.6 runtime (install CUDA 11.6, or build"
                + " with -Pcuda,cuda-redist; see README, GPU)";
        assertEquals("textgen: " + expected + "; to run on the CPU instead, add --fallback-cpu (through ./textgen) or use ./textgen"
                + " --backend cpu", train.err().strip());
        assertFalse(train.loaded().stream().anyMatch(n -> n.startsWith("org.nd4j.linalg.factory.")), "ND4J was never loaded");

        Child launcherCheck = child(fake + java.io.File.pathSeparator + System.getProperty("java.class.path"), a100,
                List.of("textgen.model.GpuCheck", "--cuda-runtime"));
        assertEquals(3, launcherCheck.code(), launcherCheck.err());
        assertEquals(expected, launcherCheck.out().strip());
        Child gpuOnly = child(fake + java.io.File.pathSeparator + System.getProperty("java.class.path"), a100, List.of("textgen.model.GpuCheck"));
        assertEquals(0, gpuOnly.code(), "without --cuda-runtime only the GPU is checked");
    }

    /** A backend whose native libraries do not load (here: the CPU build without its natives jar) is one error line, not a trace. */
    @Test
    void backendThatCannotStartIsAnErrorLineNotAStackTrace() throws Exception {
        String cp = java.util.Arrays.stream(System.getProperty("java.class.path").split(java.io.File.pathSeparator))
                .filter(j -> !j.contains("nd4j-native-" + textgen.model.Backend.DL4J_VERSION + "-linux-x86_64")).collect(Collectors.joining(java.io.File.pathSeparator));
        Child c = child(cp, smiDir(null), "summary", "--corpus", corpus().toString());
        assertEquals(1, c.code(), c.err());
        List<String> lines = c.err().strip().lines().toList();
        assertTrue(lines.get(lines.size() - 1).startsWith("textgen: ND4J's cpu backend did not start: "), c.err());
        assertTrue(lines.get(lines.size() - 1).endsWith("(run with --stacktrace for details)"), c.err());
        assertFalse(c.err().contains("\tat "), "no stack trace: " + c.err());
    }

    /**
     * On a supported GPU the CUDA build trains, evaluates, samples and writes checkpoints with DL4J's own layers; none
     * of that may load textgen's CPU kernels, the only textgen classes that call OpenBLAS, which the CUDA build does not
     * ship. (In this simulation ND4J's CPU backend loads OpenBLAS itself, so only textgen's classes can be checked.
     * Loading a checkpoint onto DL4J's layers, as the CUDA build does, is CheckpointPortabilityTest's.)
     */
    @Test
    void cudaPathNeverLoadsTheCpuKernels() throws Exception {
        Path fake = fakeCudaClasses();
        Path corpus = corpus();
        Path a100 = smiDir("a100.txt");
        Child train = child(fake, a100, "train", "--corpus", corpus.toString(), "--run-dir", "run", "--max-iterations", "4",
                "--set", "model.hiddenSize=16", "--set", "model.layers=1", "--set", "training.batchSize=4", "--set", "training.tbpttLength=10",
                "--set", "training.evalEvery=2", "--set", "training.sampleLength=20");
        assertEquals(0, train.code(), train.err());
        assertTrue(train.out().contains("backend cuda"), train.out());
        assertTrue(train.out().contains("iter 4 "), "evaluated, sampled and saved: " + train.out());
        assertTrue(train.loaded().contains("org.deeplearning4j.nn.layers.recurrent.LSTM"), "DL4J's own LSTM ran");
        assertTrue(train.loaded().contains("textgen.model.Predictor$Dl4j"), "evaluated and sampled through rnnTimeStep");
        for (String cpuOnly : List.of("textgen.model.LstmKernel", "textgen.model.Predictor$Kernels", "textgen.model.FastRnnOutputLayer")) {
            assertFalse(train.loaded().contains(cpuOnly), cpuOnly + " was loaded; of textgen.model and OpenBLAS: "
                    + train.loaded().stream().filter(n -> n.startsWith("textgen.model.") || n.contains("openblas")).toList());
        }
    }
}
