package textgen.cli;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

import static org.junit.jupiter.api.Assertions.*;

/** The checkout's launcher and scripts as child processes, with a controlled PATH (for fake nvidia-smi and scontrol). */
final class Shell {
    static final Path ROOT = Path.of(System.getProperty("textgen.root", "..")).toAbsolutePath().normalize();

    /** A running command whose stdout and stderr lines are collected as they come. */
    static final class Run {
        final Process process;
        final List<String> out = Collections.synchronizedList(new ArrayList<>());
        final List<String> err = Collections.synchronizedList(new ArrayList<>());
        private final Thread[] readers;

        Run(Process p) {
            process = p;
            readers = new Thread[]{reader(p.getInputStream(), out), reader(p.getErrorStream(), err)};
        }

        private static Thread reader(InputStream in, List<String> into) {
            Thread t = new Thread(() -> {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
                    for (String l; (l = r.readLine()) != null; ) into.add(l);
                } catch (IOException e) {
                    into.add("(read failed: " + e + ")");
                }
            });
            t.setDaemon(true);
            t.start();
            return t;
        }

        /** Waits until a stdout line matches (or the process ends: then fails). */
        void awaitOut(Predicate<String> line, int seconds) throws InterruptedException {
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
            while (System.nanoTime() < end) {
                synchronized (out) {
                    if (out.stream().anyMatch(line)) return;
                }
                if (!process.isAlive()) break;
                Thread.sleep(50);
            }
            fail("no such line within " + seconds + " s; stdout:\n" + String.join("\n", out) + "\nstderr:\n" + String.join("\n", err));
        }

        int exit(int seconds) throws InterruptedException {
            assertTrue(process.waitFor(seconds, TimeUnit.SECONDS), () -> "finished within " + seconds + " s; stdout:\n" + String.join("\n", out));
            for (Thread t : readers) t.join(5000);
            return process.exitValue();
        }

        String outText() {
            return String.join("\n", out);
        }

        String errText() {
            return String.join("\n", err);
        }

        void signal(String signal) throws IOException, InterruptedException {
            assertEquals(0, new ProcessBuilder("kill", "-" + signal, Long.toString(process.pid())).start().waitFor());
            if (signal.equals("STOP")) awaitStopped();
        }

        /**
         * Waits until every thread of the process has stopped: kill returns once SIGSTOP is queued, and a thread inside a
         * system call (a checkpoint's write or fsync) finishes it first, so the process could still change files.
         */
        private void awaitStopped() throws IOException, InterruptedException {
            Path tasks = Path.of("/proc", Long.toString(process.pid()), "task");
            long t0 = System.nanoTime();
            while (true) {
                boolean stopped = true;
                try (var threads = Files.list(tasks)) {
                    for (Path t : threads.toList()) {
                        try {
                            String stat = Files.readString(t.resolve("stat"));
                            char state = stat.charAt(stat.lastIndexOf(')') + 2);
                            stopped &= state == 'T' || state == 't' || state == 'Z' || state == 'X';
                        } catch (IOException gone) {
                            // the thread ended meanwhile
                        }
                    }
                }
                if (stopped) return;
                assertTrue(System.nanoTime() - t0 < 10e9, "process " + process.pid() + " did not stop within 10 s");
                Thread.sleep(5);
            }
        }

        /** Signals every process of the command's process group (start it with setsid), as Slurm signals a whole job. */
        void signalGroup(String signal) throws IOException, InterruptedException {
            Process ps = new ProcessBuilder("ps", "-o", "pgid=", "-p", Long.toString(process.pid())).start();
            String pgid = new String(ps.getInputStream().readAllBytes(), StandardCharsets.US_ASCII).strip();
            assertEquals(0, ps.waitFor());
            assertEquals(Long.toString(process.pid()), pgid, "the command leads its own process group");
            assertEquals(0, new ProcessBuilder("kill", "-" + signal, "--", "-" + pgid).start().waitFor());
        }
    }

    /** Starts {@code command} in {@code dir}; PATH is {@code bin} (if any), then Java's, then the system's. */
    static Run start(Path dir, Path bin, Map<String, String> env, String... command) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(command).directory(dir.toFile());
        Map<String, String> e = pb.environment();
        e.remove("TEXTGEN_BACKEND");
        e.remove("TEXTGEN_GPU_CHECK");
        e.remove("CUDA_VISIBLE_DEVICES");
        e.remove("JAVA_OPTS");
        e.put("PATH", (bin == null ? "" : bin + ":") + Path.of(System.getProperty("java.home"), "bin") + ":/usr/local/bin:/usr/bin:/bin");
        e.put("OMP_NUM_THREADS", "1");
        e.putAll(env);
        return new Run(pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start());
    }

    /** Writes an executable shell script {@code name} into {@code bin}. */
    static Path script(Path bin, String name, String body) {
        try {
            Files.createDirectories(bin);
            Path p = Files.writeString(bin.resolve(name), "#!/bin/sh\n" + body + "\n");
            Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
            return p;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** An nvidia-smi that answers with a recording from test resources nvidia-smi/ and the given exit code. */
    static Path nvidiaSmi(Path bin, String recording, int exit) throws IOException {
        Path out = Files.writeString(Files.createDirectories(bin).resolve(recording), textgen.model.GpuCheckTest.recorded(recording));
        script(bin, "nvidia-smi", "cat '" + out + "'\nexit " + exit);
        return bin;
    }

    private Shell() {
    }
}
