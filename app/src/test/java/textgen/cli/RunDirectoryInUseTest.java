package textgen.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import textgen.checkpoint.Checkpoint;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.*;

/**
 * One owner per run directory, with real processes: a second trainer on a directory in use is refused at once, in one
 * line naming the directory and the holder, exit 2, and writes nothing there; the holder's run goes on intact; and a
 * holder killed with kill -9 leaves no lock behind.
 */
class RunDirectoryInUseTest {
    @TempDir
    Path dir;

    private final List<Shell.Run> started = new ArrayList<>();

    /** textgen in a child JVM, remembered so that {@link #stopAll} ends it whatever the test's outcome. */
    private Shell.Run textgen(String... args) throws Exception {
        Shell.Run r = new Shell.Run(ProcessEndToEndTest.start(dir, args));
        started.add(r);
        return r;
    }

    @org.junit.jupiter.api.AfterEach
    void stopAll() throws Exception {
        for (Shell.Run r : started) {
            r.process.destroyForcibly(); // also ends a process left stopped by SIGSTOP
            r.process.waitFor();
        }
    }

    private String[] trainArgs(int evalEvery) throws Exception {
        Path corpus = dir.resolve("c.txt");
        if (!Files.exists(corpus)) Files.writeString(corpus, "abcde fghij klmno\n".repeat(400));
        return new String[]{"train", "--corpus", corpus.toString(), "--run-dir", "run", "--set", "model.hiddenSize=16",
                "--set", "model.layers=1", "--set", "training.batchSize=4", "--set", "training.tbpttLength=10",
                "--set", "training.evalEvery=" + evalEvery, "--set", "training.sampleLength=0", "--set", "training.maxEpochs=100000"};
    }

    /** Starts a long run into dir/run and waits for its first checkpoint. */
    private Shell.Run holder(int evalEvery) throws Exception {
        Shell.Run first = textgen(trainArgs(evalEvery));
        first.awaitOut(l -> l.startsWith("run directory"), 120);
        long t0 = System.nanoTime();
        while (!Files.exists(dir.resolve("run/latest.zip"))) {
            assertTrue(first.process.isAlive() && System.nanoTime() - t0 < 120e9, () -> "no checkpoint: " + first.errText());
            Thread.sleep(50);
        }
        return first;
    }

    @Test
    void aSecondTrainerIsRefusedAndTheFirstRunsOnIntact() throws Exception {
        Shell.Run first = holder(10);
        first.signal("STOP"); // holds the lock, writes nothing meanwhile: the directory can be compared before and after
        Map<String, String> before = files(dir.resolve("run"));
        String expected = "textgen: run directory run is in use by another textgen train (pid " + first.process.pid() + " on ";
        for (String[] second : List.of(new String[]{"train", "--resume", "run", "--set", "training.evalEvery=3"}, trainArgs(3))) {
            Shell.Run r = textgen(second);
            assertEquals(2, r.exit(60), r.errText());
            assertEquals(1, r.err.size(), r.errText());
            assertTrue(r.errText().startsWith(expected) && r.errText().contains(" since 20"), r.errText());
            assertEquals(before, files(dir.resolve("run")), "the refused run wrote nothing: " + String.join(" ", second));
        }
        first.signal("CONT");
        Thread.sleep(1000);
        first.signal("TERM");
        assertEquals(130, first.exit(120), first.errText());
        List<String> rows = Files.readAllLines(dir.resolve("run/metrics.csv"));
        List<String> iterations = rows.stream().skip(1).map(l -> l.substring(0, l.indexOf(','))).toList();
        assertFalse(iterations.isEmpty(), "metrics were written");
        assertEquals(iterations.stream().distinct().toList(), iterations, "no iteration twice in metrics.csv");
        assertFalse(Files.readString(dir.resolve("run/config.yaml")).contains("evalEvery: 3"), "the refused runs' settings are nowhere");
        assertTrue(Checkpoint.read(dir.resolve("run/latest.zip"), true).state().iteration() >= 10);
    }

    @Test
    void aLockLeftByAKilledTrainerDoesNotBlock() throws Exception {
        Shell.Run first = holder(5);
        first.signal("KILL");
        first.exit(60);
        long saved = Checkpoint.read(dir.resolve("run/latest.zip"), true).state().iteration();
        Shell.Run resumed = textgen("train", "--resume", "run", "--max-iterations", Long.toString(saved + 5));
        assertEquals(0, resumed.exit(120), resumed.errText());
        assertTrue(resumed.outText().contains("resuming at iteration " + String.format(java.util.Locale.ROOT, "%,d", saved)), resumed.outText());
        assertEquals(saved + 5, Checkpoint.read(dir.resolve("run/latest.zip"), true).state().iteration());
    }

    /** Every file of a run directory: name -> size, modification time and content hash. */
    private static Map<String, String> files(Path runDir) throws Exception {
        Map<String, String> m = new TreeMap<>();
        try (var s = Files.list(runDir)) {
            for (Path p : s.toList()) {
                m.put(p.getFileName().toString(), Files.size(p) + " " + Files.getLastModifiedTime(p) + " "
                        + java.util.Arrays.hashCode(Files.readAllBytes(p)));
            }
        }
        return m;
    }
}
