package textgen.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import textgen.model.GpuCheck;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * ./textgen choosing the build: --backend, TEXTGEN_BACKEND, and --fallback-cpu on GPUs the CUDA build cannot use;
 * rebuilding when the sources are newer than the build, or warning when there is no Maven; its JVM options.
 */
class LauncherIT {
    @TempDir
    Path dir;

    static final String LAUNCHER = Shell.ROOT.resolve("textgen").toString();
    /** The JVM options the launcher adds when the user's leave them open. */
    static final List<String> JVM_DEFAULTS = List.of("-XX:+UseSerialGC", "-Xms64m");

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

    /**
     * OpenBLAS's kernels: on Intel the launcher names them from the CPU's features (scripts/lib/openblas-core.sh), so a
     * CPU model newer than OpenBLAS never runs its generic ones; a user's OPENBLAS_CORETYPE wins; the banner says which
     * kernels run and warns when they are the generic ones on a CPU with AVX2 or AVX-512 (java -jar without the launcher).
     */
    @Test
    void openBlasKernelsFollowTheCpusFeatures() throws Exception {
        record Cpu(String vendor, String flags, String core) {
        }
        for (Cpu c : List.of(new Cpu("GenuineIntel", "fpu sse avx2 fma avx512f avx512cd avx512bw avx512dq avx512vl", "SkylakeX"),
                new Cpu("GenuineIntel", "fpu sse avx avx512f avx512cd avx512bw avx2 fma", "Haswell"),
                new Cpu("GenuineIntel", "fpu sse avx avx2", ""), new Cpu("GenuineIntel", "fpu sse avx", ""),
                new Cpu("AuthenticAMD", "avx2 fma avx512f avx512cd avx512bw avx512dq avx512vl", ""))) {
            Path info = Files.writeString(dir.resolve("cpuinfo"), "processor\t: 0\nvendor_id\t: " + c.vendor()
                    + "\nmodel name\t: Some CPU\nflags\t\t: " + c.flags() + "\n");
            Shell.Run r = Shell.start(dir, null, Map.of(), "bash", "-c",
                    ". \"$1\"; openblas_core \"$2\"", "-", Shell.ROOT.resolve("scripts/lib/openblas-core.sh").toString(), info.toString());
            assertEquals(0, r.exit(30), r.errText());
            assertEquals(c.core(), r.outText().strip(), c.toString());
        }

        Path corpus = Files.writeString(dir.resolve("c.txt"), "abcde fghij klmno\n".repeat(50));
        List<String> train = List.of("train", "--corpus", corpus.toString(), "--max-iterations", "1", "--set", "model.hiddenSize=8",
                "--set", "model.layers=1", "--set", "training.batchSize=2", "--set", "training.tbpttLength=8");
        String jar = Shell.ROOT.resolve("app/target/textgen.jar").toString();
        Shell.Run launched = Shell.start(dir, null, Map.of(), concat(LAUNCHER, withRunDir(train, "r1")));
        assertEquals(0, launched.exit(120), launched.errText());
        String banner = launched.out.stream().filter(l -> l.startsWith("backend cpu")).findFirst().orElseThrow();
        assertTrue(banner.contains(", OpenBLAS kernels "), banner);
        assertFalse(banner.contains("generic"), "the launcher leaves no CPU on OpenBLAS's generic kernels: " + banner);

        Shell.Run chosen = Shell.start(dir, null, Map.of("OPENBLAS_CORETYPE", "Haswell"), concat(LAUNCHER, withRunDir(train, "r2")));
        assertEquals(0, chosen.exit(120), chosen.errText());
        assertTrue(chosen.outText().contains(", OpenBLAS kernels Haswell, "), "the user's OPENBLAS_CORETYPE wins: " + chosen.outText());

        Shell.Run generic = Shell.start(dir, null, Map.of("OPENBLAS_CORETYPE", "Prescott"),
                concat(new String[] {"java", "-jar", jar}, withRunDir(train, "r3")));
        assertEquals(0, generic.exit(120), generic.errText());
        String line = generic.out.stream().filter(l -> l.startsWith("backend cpu")).findFirst().orElseThrow();
        boolean vectors = line.contains("(AVX2)") || line.contains("(AVX-512)");
        assertEquals(vectors, line.contains("OpenBLAS kernels Prescott (generic, far slower than this CPU allows"), line);
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

    /**
     * A copy of the launcher in a checkout of its own with a stand-in build, and a PATH of only what it needs: the
     * tools it calls, a {@code java} that prints its arguments, and (when {@code maven}) an {@code mvn} that logs its
     * arguments to mvn.log.
     */
    record Sandbox(Path root, Path bin) {
        static Sandbox create(Path dir, boolean maven) throws Exception {
            Path root = Files.createDirectories(dir.resolve("checkout"));
            Files.copy(Path.of(LAUNCHER), root.resolve("textgen"));
            Files.createDirectories(root.resolve("scripts/lib"));
            Files.copy(Shell.ROOT.resolve("scripts/lib/openblas-core.sh"), root.resolve("scripts/lib/openblas-core.sh"));
            Files.createDirectories(root.resolve("app/src/main/java"));
            Files.writeString(root.resolve("app/src/main/java/A.java"), "class A {}\n");
            Files.writeString(root.resolve("pom.xml"), "<project/>\n");
            Files.writeString(root.resolve("app/pom.xml"), "<project/>\n");
            Files.createDirectories(root.resolve(".mvn"));
            Files.writeString(root.resolve(".mvn/maven.config"), "\n");
            Files.createDirectories(root.resolve("app/target/lib"));
            Files.writeString(root.resolve("app/target/textgen.jar"), "not a jar: the stand-in java does not read it\n");
            Path bin = Files.createDirectories(dir.resolve(maven ? "bin-mvn" : "bin"));
            for (String tool : List.of("bash", "env", "dirname", "find", "grep", "sed")) {
                Files.createSymbolicLink(bin.resolve(tool), Path.of("/usr/bin", tool));
            }
            Shell.script(bin, "java", "echo java \"$@\"");
            // Maven rewrites the jar on every package (forceCreation)
            if (maven) Shell.script(bin, "mvn", "echo \"$@\" >> '" + root.resolve("mvn.log") + "'\n/usr/bin/touch app/target/textgen.jar");
            Sandbox s = new Sandbox(root, bin);
            try (var files = Files.walk(root)) {
                for (Path f : files.toList()) s.age(root.relativize(f).toString(), 7200);
            }
            s.age("app/target/textgen.jar", 3600);
            return s;
        }

        /** Sets the modification time of {@code file} to {@code seconds} ago. */
        void age(String file, long seconds) throws Exception {
            Files.setLastModifiedTime(root.resolve(file), FileTime.from(Instant.now().minusSeconds(seconds)));
        }

        /** Runs the launcher with {@code args}, waits for it (killing it if it hangs) and returns the finished run. */
        Shell.Run run(Map<String, String> env, String... args) throws Exception {
            Map<String, String> e = new java.util.HashMap<>(env);
            e.put("PATH", bin.toString());
            String[] command = concat(bin.resolve("bash").toString(), List.of(root.resolve("textgen").toString()));
            Shell.Run r = Shell.start(root, null, e, concat(command, List.of(args)));
            try {
                r.exit(30);
            } finally {
                r.process.destroyForcibly();
            }
            return r;
        }

        String mvnLog() throws Exception {
            Path log = root.resolve("mvn.log");
            return Files.exists(log) ? Files.readString(log).strip() : "";
        }

        /** What the stand-in java prints when the launcher runs the jar with {@code args} and its default JVM options. */
        String ranJar(String... args) {
            List<String> all = new java.util.ArrayList<>(List.of("java"));
            all.addAll(JVM_DEFAULTS);
            all.addAll(List.of("-jar", jar()));
            all.addAll(List.of(args));
            return String.join(" ", all);
        }

        String jar() {
            return root.resolve("app/target/textgen.jar").toString();
        }
    }

    /**
     * Any main source, POM or Maven setting newer than the jar, or a deleted source, rebuilds it first, saying so in
     * one line; then the jar runs. Tests do not go into the jar and do not count.
     */
    @Test
    void sourcesNewerThanTheBuildRebuildIt() throws Exception {
        Sandbox s = Sandbox.create(dir, true);
        Shell.Run fresh = s.run(Map.of(), "--version");
        assertEquals(0, fresh.process.exitValue(), fresh.errText());
        assertEquals("", fresh.errText());
        assertEquals("", s.mvnLog(), "an up-to-date build is not rebuilt");
        assertEquals(s.ranJar("--version"), fresh.outText());

        int builds = 0;
        for (String changed : List.of("app/src/main/java/A.java", "pom.xml", "app/pom.xml", ".mvn/maven.config")) {
            s.age(changed, 0);
            Shell.Run r = s.run(Map.of(), "--version");
            assertEquals(0, r.process.exitValue(), r.errText());
            assertEquals(List.of("textgen: sources changed since app/target/textgen.jar was built (" + changed
                    + " is newer); rebuilding (mvn -q -B -DskipTests package) ..."), r.err);
            assertEquals(++builds, s.mvnLog().lines().count(), "rebuilt once for " + changed);
            assertEquals("-q -B -DskipTests package", s.mvnLog().lines().reduce((a, b) -> b).orElseThrow());
            assertEquals(s.ranJar("--version"), r.outText());
            Shell.Run again = s.run(Map.of(), "--version");
            assertEquals("", again.errText(), "the rebuilt jar is newer than " + changed + " even when Maven left it as it was");
            assertEquals(builds, s.mvnLog().lines().count());
        }
        Files.delete(s.root().resolve("app/src/main/java/A.java"));
        Shell.Run deleted = s.run(Map.of(), "--version");
        assertEquals(List.of("textgen: sources changed since app/target/textgen.jar was built (app/src/main/java is newer); "
                + "rebuilding (mvn -q -B -DskipTests package) ..."), deleted.err);
        Files.createDirectories(s.root().resolve("app/src/test"));
        Files.writeString(s.root().resolve("app/src/test/ATest.java"), "class ATest {}\n");
        Shell.Run test = s.run(Map.of(), "--version");
        assertEquals("", test.errText(), "a new test is not built into the jar");
        assertEquals(builds + 1, s.mvnLog().lines().count());
    }

    /** Without Maven: a stale build runs with a one-line warning; no build at all is a one-line error, exit code 2. */
    @Test
    void withoutMavenAStaleBuildRunsAndAMissingOneIsAnError() throws Exception {
        Sandbox s = Sandbox.create(dir, false);
        s.age("app/src/main/java/A.java", 0);
        Shell.Run stale = s.run(Map.of(), "--version");
        assertEquals(0, stale.process.exitValue(), stale.errText());
        assertEquals(List.of("textgen: warning: sources changed since app/target/textgen.jar was built (app/src/main/java/A.java is newer), "
                + "but Maven (mvn) is not installed; running the old build"), stale.err);
        assertEquals(s.ranJar("--version"), stale.outText());

        Files.delete(s.root().resolve("app/target/textgen.jar"));
        Shell.Run missing = s.run(Map.of(), "--version");
        assertEquals(2, missing.process.exitValue());
        assertEquals(List.of("textgen: app/target/textgen.jar is missing and Maven (mvn) is not installed to build it (see README, Install)"), missing.err);
        assertEquals("", missing.outText(), "java did not run");
    }

    /**
     * The serial collector and -Xms64m by default; a collector or heap size in JAVA_OPTS or JDK_JAVA_OPTIONS replaces
     * them (java reads JDK_JAVA_OPTIONS itself, before the command line's options).
     */
    @Test
    void jvmOptionsDefaultToSerialGcAndTheUsersWin() throws Exception {
        Sandbox s = Sandbox.create(dir, true);
        record Case(Map<String, String> env, List<String> expected) {
        }
        for (Case c : List.of(new Case(Map.of("JAVA_OPTS", "-Xss4m -Dx=1"), List.of("-XX:+UseSerialGC", "-Xms64m", "-Xss4m", "-Dx=1")),
                new Case(Map.of("JAVA_OPTS", "-XX:+UseG1GC -Xmx2g"), List.of("-XX:+UseG1GC", "-Xmx2g")),
                new Case(Map.of("JAVA_OPTS", "-XX:MaxRAMPercentage=50"), List.of("-XX:+UseSerialGC", "-XX:MaxRAMPercentage=50")),
                new Case(Map.of("JDK_JAVA_OPTIONS", "-XX:+UseParallelGC -Xms1g"), List.of()))) {
            Shell.Run r = s.run(c.env(), "train", "--help");
            assertEquals(0, r.process.exitValue(), r.errText());
            List<String> expected = new java.util.ArrayList<>(List.of("java"));
            expected.addAll(c.expected());
            expected.addAll(List.of("-jar", s.jar(), "train", "--help"));
            assertEquals(String.join(" ", expected), r.outText(), c.env().toString());
        }
    }

    /** {@code sample} runs with C1 alone (-XX:TieredStopAtLevel=1), other commands tiered; a setting of the user's wins. */
    @Test
    void sampleCompilesWithC1AloneUnlessTheUserSaysOtherwise() throws Exception {
        Sandbox s = Sandbox.create(dir, true);
        record Case(Map<String, String> env, List<String> args, List<String> expected) {
        }
        for (Case c : List.of(new Case(Map.of(), List.of("sample", "--help"), List.of("-XX:+UseSerialGC", "-Xms64m", "-XX:TieredStopAtLevel=1")),
                new Case(Map.of(), List.of("--stacktrace", "sample", "--help"), List.of("-XX:+UseSerialGC", "-Xms64m", "-XX:TieredStopAtLevel=1")),
                new Case(Map.of(), List.of("perplexity", "--text", "sample"), List.of("-XX:+UseSerialGC", "-Xms64m")),
                new Case(Map.of("JAVA_OPTS", "-XX:TieredStopAtLevel=4"), List.of("sample", "--help"), List.of("-XX:+UseSerialGC", "-Xms64m", "-XX:TieredStopAtLevel=4")),
                new Case(Map.of("JDK_JAVA_OPTIONS", "-XX:-TieredCompilation"), List.of("sample", "--help"), List.of("-XX:+UseSerialGC", "-Xms64m")))) {
            Shell.Run r = s.run(c.env(), c.args().toArray(String[]::new));
            assertEquals(0, r.process.exitValue(), r.errText());
            List<String> expected = new java.util.ArrayList<>(List.of("java"));
            expected.addAll(c.expected());
            expected.add("-jar");
            expected.add(s.jar());
            expected.addAll(c.args());
            assertEquals(String.join(" ", expected), r.outText(), c.toString());
        }
    }

    static String[] concat(String[] first, List<String> rest) {
        String[] a = java.util.Arrays.copyOf(first, first.length + rest.size());
        for (int i = 0; i < rest.size(); i++) a[first.length + i] = rest.get(i);
        return a;
    }

    /** The train command {@code train} with its run directory {@code runDir}. */
    private static List<String> withRunDir(List<String> train, String runDir) {
        return java.util.stream.Stream.concat(train.stream(), java.util.stream.Stream.of("--run-dir", runDir)).toList();
    }

    static String[] concat(String first, List<String> rest) {
        String[] a = new String[rest.size() + 1];
        a[0] = first;
        for (int i = 0; i < rest.size(); i++) a[i + 1] = rest.get(i);
        return a;
    }
}
