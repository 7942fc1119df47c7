package textgen.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import textgen.checkpoint.Checkpoint;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * scripts/sweep and scripts/slurm-train.sbatch on the CPU build with tiny configs: one run directory per config,
 * failures that do not stop a sweep, re-running to skip or resume, and a Slurm job stopped by its time-limit warning
 * (SIGUSR1 to the script), then preempted (SIGTERM to every process of the job), then finishing after each requeue.
 */
class BatchScriptsIT {
    @TempDir
    Path dir;

    static final String SWEEP = Shell.ROOT.resolve("scripts/sweep").toString();
    static final String SLURM = Shell.ROOT.resolve("scripts/slurm-train.sbatch").toString();
    static final Map<String, String> CPU = Map.of("TEXTGEN_BACKEND", "cpu");
    /**
     * Iterations of the runs that are stopped by signals 0.8 s into training: long enough that no CPU finishes them
     * before the signal (1 x LSTM(16) reaches 200-300 iterations/s on a 2-core AMD EPYC; 400 iterations once finished
     * before the signal there), short enough that the finishing session takes seconds. (About 50 epochs of c.txt: the
     * configs lift training.maxEpochs, whose default of 50 would end them at 4,000.)
     */
    static final long LONG_RUN = 5_000;

    private Path config(String name, long maxIterations) throws Exception {
        return config(name, maxIterations, 100_000);
    }

    private Path config(String name, long maxIterations, long evalEvery) throws Exception {
        return config(name, maxIterations, evalEvery, 0);
    }

    /** With {@code maxMinutes} above 0, the run ends after that long whatever the CPU's speed. */
    private Path config(String name, long maxIterations, long evalEvery, double maxMinutes) throws Exception {
        if (!Files.exists(dir.resolve("c.txt"))) Files.writeString(dir.resolve("c.txt"), "abcde fghij klmno\n".repeat(200));
        return Files.writeString(dir.resolve(name + ".yaml"), """
                # tiny: 1 x LSTM(16)
                corpus:
                  path: c.txt
                model:
                  layers: 1
                  hiddenSize: 16
                training:
                  batchSize: 4
                  tbpttLength: 10
                  evalEvery: %d
                  sampleLength: 0
                  maxIterations: %d
                  maxEpochs: 100000
                  maxMinutes: %s
                """.formatted(evalEvery, maxIterations, maxMinutes));
    }

    private static String tsv(Path summary, String run) throws Exception {
        return Files.readAllLines(summary).stream().filter(l -> l.startsWith(run + "\t")).findFirst().orElseThrow();
    }

    private static long iterations(Path runDir) {
        return Checkpoint.read(runDir.resolve("latest.zip"), false).state().iteration();
    }

    /** What the "run directory:" line says of a resumed run (the iteration with thousands separators). */
    private static String resumingAt(long iteration) {
        return String.format(java.util.Locale.ROOT, "resuming at iteration %,d", iteration);
    }

    @Test
    void sweepWritesOneRunDirectoryPerConfigAndSkipsFinishedRunsWhenRunAgain() throws Exception {
        Path a = config("a", 8), b = config("b", 5);
        Path bad = Files.writeString(dir.resolve("bad.yaml"), "model:\n  hiddenSize: -3\n");
        Path out = dir.resolve("sweep");
        Shell.Run r = Shell.start(dir, null, CPU, SWEEP, "--out", out.toString(), a.toString(), bad.toString(), b.toString(), "--", "--set", "training.seed=7");
        assertEquals(1, r.exit(300), "one run failed: " + r.outText() + r.errText());
        assertTrue(r.errText().contains("sweep: bad failed with exit code 2"), r.errText());
        for (var run : Map.of("a", 8L, "b", 5L).entrySet()) {
            Path runDir = out.resolve(run.getKey());
            assertEquals(run.getValue(), iterations(runDir), run.getKey());
            String result = Files.readString(runDir.resolve("result.json"));
            assertTrue(result.contains("\"iterations\":" + run.getValue()) && result.contains("\"interrupted\":false"), result);
            assertTrue(Files.readString(runDir.resolve("config.yaml")).contains("seed: 7"), "options after -- reach every run");
            assertTrue(Files.readString(runDir.resolve("train.log")).contains("run directory: " + runDir), "textgen's output is logged");
            String row = tsv(out.resolve("summary.tsv"), run.getKey());
            assertTrue(row.startsWith(run.getKey() + "\tdone\t") && row.contains("\t" + run.getValue() + "\t"), row);
        }
        assertEquals("bad\tfailed (exit 2)\t\t\t\t\t\t\t", tsv(out.resolve("summary.tsv"), "bad"));
        assertTrue(Files.readString(out.resolve("bad/train.log")).contains("hiddenSize"), "the failure's one line is in its log");
        assertTrue(r.outText().contains("run directory: " + out.resolve("a")), "textgen's output is shown live too");

        long before = Files.getLastModifiedTime(out.resolve("a/latest.zip")).toMillis();
        Shell.Run again = Shell.start(dir, null, CPU, SWEEP, "--out", out.toString(), a.toString(), b.toString());
        assertEquals(0, again.exit(120), again.outText() + again.errText());
        assertTrue(again.outText().contains(out.resolve("a") + ": finished before (result.json), skipped"), again.outText());
        assertTrue(again.outText().contains(out.resolve("b") + ": finished before (result.json), skipped"), again.outText());
        assertEquals(before, Files.getLastModifiedTime(out.resolve("a/latest.zip")).toMillis());

        Shell.Run usage = Shell.start(dir, null, CPU, SWEEP, "--out", out.toString(), "missing.yaml");
        assertEquals(2, usage.exit(60));
        assertEquals("sweep: config missing.yaml does not exist (usage: scripts/sweep [--out DIR] CONFIG.yaml... [-- TRAIN_OPTIONS...])", usage.errText());
    }

    /** Ctrl-C, then a hang-up (the terminal or ssh session closed): each time the run saves, then a third sweep finishes it. */
    @Test
    void aSweepStoppedWithCtrlCOrAHangUpResumesWhenRunAgain() throws Exception {
        Path c = config("long", LONG_RUN);
        Path out = dir.resolve("sweep");
        Shell.Run first = script(null, CPU, "setsid", SWEEP, "--out", out.toString(), c.toString());
        first.awaitOut(l -> l.startsWith("run directory: "), 120);
        Thread.sleep(800); // training has started (the first line comes from inside the run)
        first.signalGroup("INT"); // Ctrl-C: the terminal signals the whole foreground process group
        assertEquals(130, first.exit(120), first.outText() + first.errText());
        assertTrue(first.errText().contains("sweep: interrupted during long (checkpoint saved); run the same command again to continue"), first.errText());
        assertTrue(tsv(out.resolve("summary.tsv"), "long").startsWith("long\tinterrupted"));
        long stoppedAt = iterations(out.resolve("long"));
        assertTrue(stoppedAt > 0 && stoppedAt < LONG_RUN, "stopped mid-run at " + stoppedAt);
        assertFalse(Files.exists(out.resolve("long/result.json")));

        Shell.Run hungUp = script(null, CPU, "setsid", SWEEP, "--out", out.toString(), c.toString());
        hungUp.awaitOut(l -> l.startsWith("run directory: "), 120);
        Thread.sleep(800);
        hungUp.signal("HUP"); // to the script, which passes it on
        assertEquals(130, hungUp.exit(120), hungUp.outText() + hungUp.errText());
        long hungUpAt = iterations(out.resolve("long"));
        assertTrue(hungUpAt > stoppedAt && hungUpAt < LONG_RUN, stoppedAt + " -> " + hungUpAt);

        Shell.Run second = script(null, CPU, SWEEP, "--out", out.toString(), c.toString());
        assertEquals(0, second.exit(300), second.outText() + second.errText());
        assertTrue(second.outText().contains(out.resolve("long") + ": resuming from latest.zip"), second.outText());
        assertTrue(second.outText().contains("(" + resumingAt(hungUpAt) + ")"), second.outText());
        assertEquals(LONG_RUN, iterations(out.resolve("long")));
        assertTrue(tsv(out.resolve("summary.tsv"), "long").startsWith("long\tdone\t"));
    }

    /** The scripts started here, ended (with everything in their process group) when a test fails before they end. */
    private final List<Shell.Run> started = new java.util.ArrayList<>();

    private Shell.Run script(Path bin, Map<String, String> env, String... command) throws Exception {
        Shell.Run r = Shell.start(dir, bin, env, command);
        started.add(r);
        return r;
    }

    @org.junit.jupiter.api.AfterEach
    void stopScripts() throws Exception {
        for (Shell.Run r : started) {
            if (!r.process.isAlive()) continue;
            new ProcessBuilder("kill", "-KILL", "--", "-" + r.process.pid()).start().waitFor(); // its group, when started with setsid
            r.process.destroyForcibly();
            r.process.waitFor();
        }
    }

    /**
     * A second sweep into the same directory while the first trains there: the run in use (not yet checkpointed, so
     * it looks like one killed before its first save) is reported and left alone, not moved aside or restarted; the
     * second sweep goes on with its next config and exits 1; the first finishes its run intact. The first run ends
     * by time (24 s of training), so that it outlives the second sweep on any CPU: with oneDNN's products on an AMD
     * EPYC, 5,000 iterations ({@link #LONG_RUN}) ended before the second sweep did.
     */
    @Test
    void aSecondSweepIntoTheSameDirectoryLeavesTheRunInUseAlone() throws Exception {
        Path c = config("long", 1_000_000_000L, 100_000, 0.4), b = config("b", 5);
        Path out = dir.resolve("sweep");
        Shell.Run first = script(null, CPU, "setsid", SWEEP, "--out", out.toString(), c.toString());
        first.awaitOut(l -> l.startsWith("run directory: "), 120);
        Shell.Run second = script(null, CPU, "setsid", SWEEP, "--out", out.toString(), c.toString(), b.toString());
        assertEquals(1, second.exit(300), second.outText() + second.errText());
        assertTrue(second.errText().contains(out.resolve("long") + ": in use by another textgen train (pid "), second.errText());
        assertTrue(second.errText().contains("sweep: long is in use by another textgen train (another sweep?): left alone; going on"), second.errText());
        assertTrue(tsv(out.resolve("summary.tsv"), "long").startsWith("long\tin use\t"));
        assertTrue(tsv(out.resolve("summary.tsv"), "b").startsWith("b\tdone\t"));
        assertTrue(first.process.isAlive(), "the first sweep still trains long: " + first.outText());

        assertEquals(0, first.exit(300), first.outText() + first.errText());
        long trained = iterations(out.resolve("long"));
        assertTrue(trained > 0, "trained " + trained);
        String result = Files.readString(out.resolve("long/result.json"));
        assertTrue(result.contains("\"iterations\":" + trained + ",") && result.contains("\"interrupted\":false"), result);
        try (Stream<Path> s = Files.list(out)) {
            assertEquals(List.of("b", "long", "summary.tsv"), s.map(p -> p.getFileName().toString()).sorted().toList(), "nothing moved aside");
        }
        assertEquals(1, Stream.of(Files.readString(out.resolve("long/train.log")).split("\n")).filter(l -> l.startsWith("=== ")).count(),
                "one session in the run's log");
    }

    /**
     * A requeued Slurm job that starts while the job before it still trains (and then saves) in the run directory:
     * textgen refuses the directory in use, the script waits, and resumes once the first job has saved and ended.
     */
    @Test
    void aRequeuedSlurmJobWaitsForThePreviousOneToSave() throws Exception {
        Path c = config("job", LONG_RUN, 50);
        Path run = dir.resolve("run");
        Map<String, String> slurm = Map.of("TEXTGEN_BACKEND", "cpu", "SLURM_JOB_ID", "4343", "SLURM_SUBMIT_DIR", Shell.ROOT.toString(),
                "RUN_DIR", run.toString());
        Shell.Run first = script(null, slurm, "setsid", "bash", SLURM, c.toString());
        first.awaitOut(l -> l.startsWith("run directory: "), 120);
        long t0 = System.nanoTime();
        while (!Files.exists(run.resolve("latest.zip"))) { // so that the second job resumes: textgen itself refuses it
            assertTrue(first.process.isAlive() && System.nanoTime() - t0 < 120e9, () -> "no checkpoint: " + first.outText());
            Thread.sleep(50);
        }
        Map<String, String> requeued = new java.util.HashMap<>(slurm);
        requeued.put("SLURM_RESTART_COUNT", "1");
        requeued.put("TEXTGEN_RUN_WAIT", "240");
        Shell.Run second = script(null, requeued, "setsid", "bash", SLURM, c.toString());
        second.awaitOut(l -> l.startsWith(run + ": in use by another textgen train (pid ") && l.endsWith("waiting up to 240s for it to end"), 120);
        first.signalGroup("TERM"); // the preemption of the first job
        assertEquals(130, first.exit(120), first.outText() + first.errText());
        long saved = iterations(run);
        assertEquals(0, second.exit(300), second.outText() + second.errText());
        assertTrue(second.outText().contains(resumingAt(saved)), second.outText());
        assertEquals(LONG_RUN, iterations(run));
    }

    @Test
    void slurmJobSurvivesItsTimeLimitAndAPreemptionAndFinishes() throws Exception {
        Path c = config("job", LONG_RUN);
        Path run = dir.resolve("run");
        Path bin = dir.resolve("bin");
        Path requeues = dir.resolve("scontrol.log");
        Shell.script(bin, "scontrol", "echo \"$*\" >> '" + requeues + "'");
        Map<String, String> slurm = Map.of("TEXTGEN_BACKEND", "cpu", "SLURM_JOB_ID", "4242", "SLURM_SUBMIT_DIR", Shell.ROOT.toString(),
                "RUN_DIR", run.toString());

        // 1. the time-limit warning: Slurm sends SIGUSR1 to the batch script alone (--signal=B:USR1@300)
        Shell.Run first = Shell.start(dir, bin, slurm, "setsid", "bash", SLURM, c.toString());
        first.awaitOut(l -> l.startsWith("run directory: "), 120);
        Thread.sleep(800); // training has started (the first line comes from inside the run)
        first.signal("USR1");
        assertEquals(130, first.exit(120), first.outText() + first.errText());
        assertEquals(List.of("requeue 4242"), Files.readAllLines(requeues), "the job asked to be requeued");
        long afterLimit = iterations(run);
        assertTrue(afterLimit > 0, "saved at " + afterLimit);

        // 2. the requeued job resumes; then a preemption signals every process of the job at once (textgen gets SIGTERM
        // from Slurm and again from the script): it must still save, not quit at once
        Map<String, String> restart = new java.util.HashMap<>(slurm);
        restart.put("SLURM_RESTART_COUNT", "1");
        Shell.Run second = Shell.start(dir, bin, restart, "setsid", "bash", SLURM, c.toString());
        second.awaitOut(l -> l.startsWith("run directory: "), 120);
        assertTrue(second.outText().contains(resumingAt(afterLimit)), second.outText());
        Thread.sleep(800); // training has started (the first line comes from inside the run)
        second.signalGroup("TERM");
        assertEquals(130, second.exit(120), second.outText() + second.errText());
        long afterPreemption = iterations(run);
        assertTrue(afterPreemption > afterLimit, afterLimit + " -> " + afterPreemption);
        assertEquals(List.of("requeue 4242"), Files.readAllLines(requeues), "a preempted job is requeued by Slurm, not by the script");

        // 3. the next start finishes the run
        restart.put("SLURM_RESTART_COUNT", "2");
        Shell.Run third = Shell.start(dir, bin, restart, "bash", SLURM, c.toString());
        assertEquals(0, third.exit(300), third.outText() + third.errText());
        assertTrue(third.outText().contains(resumingAt(afterPreemption)), third.outText());
        assertEquals(LONG_RUN, iterations(run));
        assertTrue(Files.readString(run.resolve("result.json")).contains("\"iterations\":" + LONG_RUN));
        String log = Files.readString(run.resolve("train.log"));
        assertEquals(3, Stream.of(log.split("\n")).filter(l -> l.startsWith("=== ")).count(), "three sessions in one log");
        assertEquals(2, Stream.of(log.split("\n")).filter(l -> l.startsWith("textgen: stopping after this step")).count(), log);
    }
}
