package textgen.spark;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import textgen.checkpoint.Checkpoint;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * A real Spark standalone cluster on 127.0.0.1: a master and two workers as separate JVMs from the jars Maven put in
 * app/target/lib (a SPARK_HOME whose jars/ links them and textgen.jar, as an installed cluster would have), each
 * worker launching its own executor JVM. textgen.jar trains on it as a user would ({@code train --spark spark://...}),
 * once undisturbed and once with a worker killed (SIGKILL) mid-run: Spark runs the lost tasks again on the other
 * executor, and since a round is a pure function of its inputs the two runs end with identical parameters. Every
 * process started here (and every executor the workers started) is killed afterwards, also when the test fails.
 */
class SparkClusterIT {
    static final Path ROOT = Path.of(System.getProperty("textgen.root", "..")).toAbsolutePath().normalize();
    static final Path JAR = ROOT.resolve("app/target/textgen.jar");
    static final String JAVA = Path.of(System.getProperty("java.home"), "bin", "java").toString();

    @TempDir
    Path dir;
    private final List<Process> processes = new ArrayList<>();
    private final List<ProcessHandle> seen = new ArrayList<>();

    @AfterEach
    void tearDown() throws Exception {
        for (Process p : processes) if (p.isAlive()) p.descendants().forEach(seen::add);
        for (Process p : processes) seen.add(p.toHandle());
        seen.forEach(ProcessHandle::destroyForcibly);
        for (ProcessHandle h : seen) h.onExit().get(30, TimeUnit.SECONDS);
        for (ProcessHandle h : seen) assertFalse(h.isAlive(), "process " + h.pid() + " left behind");
    }

    private Process start(String name, Map<String, String> env, List<String> command) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true)
                .redirectOutput(dir.resolve(name + ".log").toFile());
        pb.environment().putAll(env);
        Process p = pb.start();
        processes.add(p);
        return p;
    }

    private String log(String name) throws IOException {
        Path f = dir.resolve(name + ".log");
        return Files.exists(f) ? Files.readString(f) : "";
    }

    private static void await(String what, int seconds, BooleanSupplier done) throws InterruptedException {
        long end = System.nanoTime() + seconds * 1_000_000_000L;
        while (!done.getAsBoolean()) {
            if (System.nanoTime() > end) fail("timed out after " + seconds + " s waiting for " + what);
            Thread.sleep(200);
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /** A SPARK_HOME whose jars/ holds links to textgen.jar and its libraries. */
    private Path sparkHome() throws IOException {
        Path home = dir.resolve("spark-home"), jars = Files.createDirectories(home.resolve("jars"));
        Files.createSymbolicLink(jars.resolve("textgen.jar"), JAR);
        try (Stream<Path> lib = Files.list(JAR.resolveSibling("lib"))) {
            for (Path j : (Iterable<Path>) lib::iterator) Files.createSymbolicLink(jars.resolve(j.getFileName()), j);
        }
        return home;
    }

    private List<String> daemon(Path home, String mainClass, String... args) {
        List<String> cmd = new ArrayList<>(List.of(JAVA, "-Xmx256m", "-Dorg.slf4j.simpleLogger.defaultLogLevel=info"));
        cmd.addAll(List.of(System.getProperty("spark.opens.args", "").split(" ")));
        cmd.addAll(List.of("-cp", home.resolve("jars") + "/*", mainClass));
        cmd.addAll(List.of(args));
        cmd.removeIf(String::isEmpty);
        return cmd;
    }

    private List<String> textgen(String... args) {
        List<String> cmd = new ArrayList<>(List.of(JAVA, "-Xmx512m", "-XX:+UseSerialGC", "-jar", JAR.toString()));
        cmd.addAll(List.of(args));
        return cmd;
    }

    private List<String> train(String master, String runDir, String... extra) {
        List<String> args = new ArrayList<>(List.of("train", "--spark", master, "--corpus", "text.txt", "--run-dir", runDir,
                "--max-iterations", "40", "--set", "training.evalEvery=10", "--set", "training.sampleLength=20",
                "--set", "model.layers=1", "--set", "model.hiddenSize=32", "--set", "training.batchSize=8",
                "--set", "training.tbpttLength=20", "--set", "training.learningRate=0.01", "--set", "training.spark.workers=2", "--set", "training.spark.localSteps=2",
                "--set", "training.spark.shipJars=false", "--set", "training.spark.executorTimeoutSeconds=60", "--json"));
        args.addAll(List.of(extra));
        return textgen(args.toArray(String[]::new));
    }

    private int finish(Process p, String name, int seconds) throws Exception {
        assertTrue(p.waitFor(seconds, TimeUnit.SECONDS), name + " did not finish:\n" + log(name));
        return p.exitValue();
    }

    @Test
    void trainsOnAStandaloneClusterAndSurvivesLosingAWorker() throws Exception {
        assertTrue(Files.exists(JAR), "build the jar first (mvn package): " + JAR);
        Random r = new Random(3);
        StringBuilder text = new StringBuilder();
        String[] words = {"the ", "cat ", "sat ", "on ", "a ", "mat. "};
        while (text.length() < 30_000) text.append(words[r.nextInt(words.length)]);
        Files.writeString(dir.resolve("text.txt"), text);

        Path home = sparkHome();
        Map<String, String> env = Map.of("SPARK_HOME", home.toString(), "SPARK_SCALA_VERSION", "2.12", "SPARK_LOCAL_IP", "127.0.0.1",
                "OMP_NUM_THREADS", "1", "TEXTGEN_CACHE", dir.resolve("cache").toString());
        int port = freePort();
        String master = "spark://127.0.0.1:" + port;
        start("master", env, daemon(home, "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", String.valueOf(port),
                "--webui-port", "0"));
        await("the master's port", 60, () -> {
            try (Socket s = new Socket("127.0.0.1", port)) {
                return true;
            } catch (IOException e) {
                return false;
            }
        });
        List<Process> workers = new ArrayList<>();
        for (int w = 1; w <= 2; w++) {
            workers.add(start("worker" + w, env, daemon(home, "org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1", "--port", "0",
                    "--webui-port", "0", "--cores", "1", "--memory", "1g", "--work-dir", Files.createDirectories(dir.resolve("work" + w)).toString(),
                    master)));
        }
        await("two workers to register", 90, () -> {
            try {
                return log("master").split("Registering worker", -1).length - 1 >= 2;
            } catch (IOException e) {
                return false;
            }
        });

        // undisturbed
        Process a = start("a", env, train(master, "a"));
        assertEquals(0, finish(a, "a", 600), log("a"));
        assertTrue(log("a").contains("\"device_steps\":[40,40]"), log("a"));

        // the same run, with worker 2 killed after the first evaluation
        Process b = start("b", env, train(master, "b"));
        await("run b's first evaluation", 300, () -> {
            try {
                return log("b").contains("val loss") || !b.isAlive();
            } catch (IOException e) {
                return false;
            }
        });
        assertTrue(b.isAlive(), "run b ended before a worker could be killed:\n" + log("b"));
        Process victim = workers.get(1);
        List<ProcessHandle> executors = victim.descendants().toList();
        assertFalse(executors.isEmpty(), "worker 2 runs an executor");
        seen.addAll(executors);
        victim.destroyForcibly(); // SIGKILL: the worker JVM, and with it the executor's link to it
        assertEquals(0, finish(b, "b", 600), log("b"));
        for (ProcessHandle e : executors) e.onExit().get(60, TimeUnit.SECONDS); // an executor whose worker is gone exits

        // both runs end with the same parameters and Adam state, bit for bit
        Checkpoint.Loaded ca = Checkpoint.read(dir.resolve("a/latest.zip"), true), cb = Checkpoint.read(dir.resolve("b/latest.zip"), true);
        assertEquals(40, ca.state().iteration());
        assertEquals(ca.network().params(), cb.network().params(), "the run that lost a worker ends where the undisturbed one does");
        assertEquals(ca.network().getUpdater().getStateViewArray(), cb.network().getUpdater().getStateViewArray());
        double uniform = Math.log(ca.vocabulary().size());
        assertTrue(ca.state().bestValLoss() < uniform - 0.3, "training learned something: " + ca.state().bestValLoss() + " against " + uniform);

        // the checkpoint samples and scores like one trained on one machine with the same settings
        List<String> alone = train(master, "one");
        alone.subList(alone.indexOf("--spark"), alone.indexOf("--spark") + 2).clear();
        Process one = start("one", env, alone);
        assertEquals(0, finish(one, "one", 600), log("one"));
        double single = Checkpoint.read(dir.resolve("one/latest.zip"), false).state().bestValLoss();
        assertEquals(single, cb.state().bestValLoss(), 0.25, "validation loss on Spark against one machine: " + log("b"));
        Process s = start("sample", env, textgen("sample", "--model", "b", "--length", "50", "--seed", "1"));
        assertEquals(0, finish(s, "sample", 120), log("sample"));
        Process p = start("score", env, textgen("perplexity", "--model", "b", "--text", "text.txt", "--json"));
        assertEquals(0, finish(p, "score", 120), log("score"));
        String score = log("score");
        double nats = Double.parseDouble(score.replaceAll("(?s).*\"nats\":([0-9.]+).*", "$1"));
        assertEquals(cb.state().bestValLoss(), nats, 0.2, "the whole text scores about as its validation part: " + score);

        // an unreachable master and a master without workers are one-line errors; no run directory is left
        int closed = freePort();
        Process bad = start("bad", env, train("spark://127.0.0.1:" + closed, "c"));
        assertEquals(2, finish(bad, "bad", 120), log("bad"));
        assertTrue(log("bad").contains("cannot reach the Spark master"), log("bad"));
        assertFalse(Files.exists(dir.resolve("c")), "nothing was created");
        int lonely = freePort();
        start("master2", env, daemon(home, "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", String.valueOf(lonely),
                "--webui-port", "0"));
        await("the second master's port", 60, () -> {
            try (Socket sock = new Socket("127.0.0.1", lonely)) {
                return true;
            } catch (IOException e) {
                return false;
            }
        });
        Process idle = start("idle", env, train("spark://127.0.0.1:" + lonely, "d", "--set", "training.spark.executorTimeoutSeconds=5"));
        assertEquals(1, finish(idle, "idle", 120), log("idle"));
        assertTrue(log("idle").contains("no Spark executor for 5 s"), log("idle"));
        assertFalse(Files.exists(dir.resolve("d")), "nothing was created");
    }
}
