package textgen.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import textgen.checkpoint.Checkpoint;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/** textgen as a separate JVM, as scripts run it: exit codes, stdout/stderr, signals. */
class ProcessEndToEndTest {
    @TempDir
    Path dir;

    static Process start(Path workDir, String... args) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), "textgen.cli.Main"));
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(workDir.toFile());
        pb.environment().put("OMP_NUM_THREADS", "1");
        return pb.start();
    }

    /**
     * -Dtextgen.profile=true: train prints where its steps went and --json carries step_profile, shares that add up to
     * one with the kernels' products and gate arithmetic measured; without it, neither.
     */
    @Test
    void stepProfileOnRequest() throws Exception {
        Path corpus = Files.writeString(dir.resolve("c.txt"), "abcde fghij klmno\n".repeat(200));
        for (boolean on : new boolean[]{true, false}) {
            List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-Dtextgen.profile=" + on, "-cp", System.getProperty("java.class.path"), "textgen.cli.Main",
                    "train", "--corpus", corpus.toString(), "--run-dir", "run-" + on, "--json", "--max-iterations", "20",
                    "--set", "model.hiddenSize=16", "--set", "training.batchSize=4", "--set", "training.tbpttLength=10",
                    "--set", "training.evalEvery=1000000", "--set", "training.sampleLength=0"));
            ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile());
            pb.environment().put("OMP_NUM_THREADS", "1");
            Process p = pb.start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(120, TimeUnit.SECONDS));
            assertEquals(0, p.exitValue(), out);
            String[] lines = out.strip().split("\n");
            var json = new com.fasterxml.jackson.databind.ObjectMapper().readTree(lines[lines.length - 1]);
            assertEquals(on, out.contains("step profile: gemm "), out);
            assertEquals(on, json.has("step_profile"), out);
            if (!on) continue;
            var prof = json.get("step_profile");
            double sum = 0;
            for (String k : new String[]{"gemm", "gates", "output", "copies", "wait", "other"}) {
                double v = prof.get(k).asDouble();
                assertTrue(v >= 0 && v <= 1, k + " " + v);
                sum += v;
            }
            assertEquals(1.0, sum, 1e-9);
            assertTrue(prof.get("gemm").asDouble() > 0 && prof.get("gates").asDouble() > 0, prof.toString());
        }
    }

    @Test
    void exitCodesAndOneLineErrors() throws Exception {
        Process p = start(dir, "sample", "--model", "nope.zip");
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(2, p.exitValue());
        assertEquals("textgen: model nope.zip does not exist", err.strip());

        Process v = start(dir, "--version");
        String out = new String(v.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(v.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, v.exitValue());
        assertTrue(out.contains("DL4J/ND4J 1.0.0-M2.1"), out);
    }

    /**
     * SIGTERM (what batch schedulers send before preemption) stops training cleanly: checkpoint, JSON, exit 130; so does
     * SIGHUP (the terminal or ssh session that started it went away).
     */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {"TERM", "HUP"})
    void aStopSignalSavesACheckpointAndExits130(String signal) throws Exception {
        Path corpus = Files.writeString(dir.resolve("c.txt"), "abcde fghij klmno\n".repeat(400));
        Process p = start(dir, "train", "--corpus", corpus.toString(), "--run-dir", "run", "--json",
                "--set", "model.hiddenSize=16", "--set", "model.layers=1", "--set", "training.batchSize=4",
                "--set", "training.tbpttLength=10", "--set", "training.evalEvery=1000000", "--set", "training.maxEpochs=100000");
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            String line;
            while ((line = out.readLine()) != null && !line.startsWith("run directory")) {
                // wait until training has started
            }
            assertNotNull(line, "training started");
            Thread.sleep(1500);
            // with kill, as a batch scheduler or a terminal sends it (Process.destroy() would also close our end of the pipes)
            assertEquals(0, new ProcessBuilder("kill", "-" + signal, Long.toString(p.pid())).start().waitFor());
            List<String> rest = new ArrayList<>();
            while ((line = out.readLine()) != null) rest.add(line);
            assertTrue(p.waitFor(120, TimeUnit.SECONDS));
            assertEquals(130, p.exitValue(), String.join("\n", rest));
            JsonNode result = new ObjectMapper().readTree(rest.get(rest.size() - 1));
            assertTrue(result.get("interrupted").asBoolean());
            Checkpoint.Loaded l = Checkpoint.read(dir.resolve("run/latest.zip"), true);
            assertEquals(result.get("iterations").asLong(), l.state().iteration());
        } finally {
            p.destroyForcibly(); // a no-op once it has ended; ends it when the test failed first
        }
    }

    /**
     * kill -9 at random moments, ten times over (many of them mid-save: a checkpoint every 3 iterations): each time
     * latest.zip loads, is at most one checkpoint behind the index, never goes back, and --resume continues from it.
     */
    @Test
    void killMinus9AtRandomMomentsNeverLosesMoreThanOneCheckpoint() throws Exception {
        Path corpus = Files.writeString(dir.resolve("k.txt"), "abcde fghij klmno\n".repeat(400));
        java.util.Random random = new java.util.Random(7);
        long previous = 0;
        for (int round = 0; round < 10; round++) {
            List<String> args = new ArrayList<>(round == 0
                    ? List.of("train", "--corpus", corpus.toString(), "--run-dir", "krun", "--set", "model.hiddenSize=16",
                    "--set", "model.layers=1", "--set", "training.batchSize=4", "--set", "training.tbpttLength=10",
                    "--set", "training.evalEvery=3", "--set", "training.sampleLength=0", "--set", "training.keepLast=2",
                    "--set", "training.maxEpochs=100000")
                    : List.of("train", "--resume", "krun"));
            Process p = start(dir, args.toArray(String[]::new));
            BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            String line;
            while ((line = out.readLine()) != null && !line.startsWith("run directory")) {
                // wait until training has started
            }
            final int r = round;
            assertNotNull(line, () -> "round " + r + " did not start");
            Thread drain = new Thread(() -> out.lines().forEach(l -> { })); // keep the child's stdout flowing
            drain.setDaemon(true);
            drain.start();
            if (round > 0) assertTrue(line.contains("resuming at iteration " + String.format(java.util.Locale.ROOT, "%,d", previous)), line);
            // Kill at a random moment after this round has written a checkpoint of its own: before the first one there
            // is nothing to lose, and without one per round a loaded machine (start-up and resume take seconds there)
            // could spend every round starting up and the test would measure the load, not the training.
            long t0 = System.nanoTime();
            while (newestListed(dir.resolve("krun")) <= previous) {
                assertTrue(p.isAlive() && System.nanoTime() - t0 < 60e9, "round " + round + " wrote no checkpoint in 60 s");
                Thread.sleep(20);
            }
            Thread.sleep(300 + random.nextInt(1200));
            if (!p.isAlive()) {
                fail("round " + round + " ended by itself with exit code " + p.exitValue() + ": "
                        + new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8));
            }
            assertEquals(0, new ProcessBuilder("kill", "-KILL", Long.toString(p.pid())).start().waitFor());
            assertTrue(p.waitFor(60, TimeUnit.SECONDS));
            Checkpoint.Loaded l = Checkpoint.read(dir.resolve("krun/latest.zip"), true);
            long newestListed = newestListed(dir.resolve("krun"));
            long latest = l.state().iteration();
            assertTrue(latest == newestListed || latest == newestListed - 3, "round " + round + ": latest " + latest + ", index " + newestListed);
            assertTrue(latest >= previous, "round " + round + ": latest went back from " + previous + " to " + latest);
            previous = latest;
        }
        assertTrue(previous >= 30, "training progressed across the kills: " + previous); // a checkpoint (3 iterations) a round
    }

    /** The iteration of the newest checkpoint a run directory's index lists (0 before the first one). */
    private static long newestListed(Path runDir) {
        return textgen.checkpoint.RunDirectory.readIndex(runDir).checkpoints().stream()
                .mapToLong(textgen.checkpoint.RunDirectory.Entry::iteration).max().orElse(0);
    }

    /**
     * A build made with -Dtextgen.noui has no package textgen.ui (nor its libraries): --ui says so and how to build it
     * in, in one line, before reading anything. Simulated with this build's classes minus textgen/ui.
     */
    @Test
    void uiInABuildWithoutItSaysHowToGetIt() throws Exception {
        assertBuildWithout("ui", textgen.train.TrainingUi.MISSING, "--ui");
    }

    /** The same for -Dtextgen.nospark and --spark (here before the corpus is read: it does not exist). */
    @Test
    void sparkInABuildWithoutItSaysHowToGetIt() throws Exception {
        assertBuildWithout("spark", textgen.train.ClusterTraining.MISSING, "--spark", "local[2]");
    }

    private void assertBuildWithout(String pkg, String message, String... option) throws Exception {
        List<String> classpath = new ArrayList<>();
        for (String entry : expandedClassPath()) {
            Path p = Path.of(entry);
            if (Files.isDirectory(p.resolve("textgen/" + pkg))) {
                Path copy = dir.resolve("classes-without-" + pkg + "-" + classpath.size());
                try (var files = Files.walk(p)) {
                    for (Path f : files.toList()) {
                        Path rel = p.relativize(f);
                        if (rel.startsWith(Path.of("textgen", pkg))) continue;
                        if (Files.isDirectory(f)) Files.createDirectories(copy.resolve(rel.toString()));
                        else Files.copy(f, copy.resolve(rel.toString()));
                    }
                }
                entry = copy.toString();
            }
            classpath.add(entry);
        }
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
                String.join(java.io.File.pathSeparator, classpath), "textgen.cli.Main", "train", "--corpus", "nope.txt"));
        cmd.addAll(List.of(option));
        Process p = new ProcessBuilder(cmd).directory(dir.toFile()).start();
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(2, p.exitValue(), err);
        assertEquals("textgen: " + message, err.strip());
    }

    /** This JVM's class path, the jars of a manifest-only jar (as surefire may start tests with) listed one by one. */
    private static List<String> expandedClassPath() throws IOException {
        List<String> out = new ArrayList<>();
        for (String entry : System.getProperty("java.class.path").split(java.io.File.pathSeparator)) {
            if (!entry.endsWith(".jar")) {
                out.add(entry);
                continue;
            }
            String manifestPath = null;
            try (java.util.jar.JarFile jar = new java.util.jar.JarFile(entry)) {
                if (jar.getManifest() != null) manifestPath = jar.getManifest().getMainAttributes().getValue("Class-Path");
            }
            if (manifestPath == null || manifestPath.isBlank()) {
                out.add(entry);
                continue;
            }
            for (String url : manifestPath.trim().split("\\s+")) {
                out.add(Path.of(java.net.URI.create(url).isAbsolute() ? java.net.URI.create(url)
                        : Path.of(entry).toAbsolutePath().getParent().toUri().resolve(url)).toString());
            }
        }
        return out;
    }
}
