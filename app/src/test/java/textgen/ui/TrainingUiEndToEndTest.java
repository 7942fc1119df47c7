package textgen.ui;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.deeplearning4j.ui.VertxUIServer;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import textgen.cli.TestCli;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.math.BigInteger;
import java.net.ConnectException;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.*;

/**
 * {@code train --ui}: DL4J's training UI on 127.0.0.1 only, fed by the network being trained, gone when training ends.
 * The end-to-end test loads the overview page in headless Chromium (Debian's {@code chromium}, which .ci/run
 * installs): without it, it fails in CI (CI=true) and is skipped elsewhere.
 */
class TrainingUiEndToEndTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String TEXT = "ROMEO:\nThe cat sat on the mat.\nJULIET:\nThe dog sat on the log.\n";
    /** One small LSTM layer: a few milliseconds per iteration, and the fast LSTM and output layers in the statistics. */
    static final String[] TINY = {"--set", "model.layers=1", "--set", "model.hiddenSize=32", "--set", "training.batchSize=8",
            "--set", "training.tbpttLength=20", "--set", "training.evalEvery=100", "--set", "training.sampleLength=0"};

    @TempDir
    Path dir;

    /**
     * A training process with --ui: the printed address; the server listening on loopback only; Chromium finding the
     * score chart drawn from more than 10 reports, and the parameter/update ratios of both layers; then Ctrl-C (SIGINT)
     * still stops training with a checkpoint and exit code 130, and the port is free again.
     */
    @Test
    void chromiumFindsTheScoreChartWhileTrainingRuns() throws Exception {
        String chromium = chromium();
        Path corpus = Files.writeString(dir.resolve("tiny.txt"), TEXT.repeat(100));
        int port = freePort();
        List<String> args = new ArrayList<>(List.of("train", "--corpus", corpus.toString(), "--run-dir", "run", "--ui",
                "--ui-port", Integer.toString(port), "--set", "training.maxEpochs=100000"));
        args.addAll(List.of(TINY));
        Process p = TestCli.start(dir, args.toArray(String[]::new));
        List<String> out = Collections.synchronizedList(new ArrayList<>());
        StringBuffer err = new StringBuffer();
        Thread errReader = drain(new BufferedReader(new InputStreamReader(p.getErrorStream(), StandardCharsets.UTF_8)),
                l -> err.append(l).append('\n'));
        try {
            BufferedReader stdout = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            String line;
            while ((line = stdout.readLine()) != null && !line.startsWith("run directory")) out.add(line);
            assertNotNull(line, "training started: " + out + err);
            out.add(line);
            drain(stdout, out::add);
            String url = "http://127.0.0.1:" + port + "/train/overview";
            assertEquals("training UI: " + url, out.get(0), "the first line is the address");
            long parameters = Long.parseLong(out.stream().filter(l -> l.startsWith("model: ")).findFirst().orElseThrow()
                    .replaceAll(".*, ([0-9,]+) parameters.*", "$1").replace(",", ""));

            JsonNode data = waitForReports(port, 12, p);
            assertListensOnLoopbackOnly(port);

            String dom = dumpDom(chromium, url);
            String chart = element(dom, "scoreiterchart");
            assertTrue(chart.contains("<canvas class=\"flot-base\""), "flot drew the score chart: " + chart);
            assertTrue(chart.contains(">score</td>"), "its series: " + chart);
            assertTrue(chart.contains(">summary</td>"), "the moving average flot draws from more than 10 scores: " + chart);
            assertTrue(maxTick(chart, "flot-x-axis") >= 50, "iterations on the x axis: " + chart);
            assertTrue(maxTick(chart, "flot-y-axis") > 0, "scores on the y axis: " + chart);
            String text = dom.replaceAll("<[^>]*>", " ").replaceAll("\\s+", " ");
            assertTrue(text.contains("Model Type MultiLayerNetwork"), "the UI knows the model: " + text);
            assertTrue(text.contains("Total Parameters " + parameters), "the parameters textgen counts: " + text);
            String ratios = element(dom, "updateRatioChart");
            for (String param : new String[]{"0_W", "0_RW", "1_W"}) {
                assertTrue(ratios.contains(">" + param + "</td>"), "update:parameter ratio of " + param + ": " + ratios);
                for (JsonNode r : data.get("updateRatios").get(param)) assertTrue(r.asDouble() > 0 && Double.isFinite(r.asDouble()), param + ": " + data);
            }

            // Ctrl-C, as a terminal sends it (SIGTERM where this process was started with SIGINT ignored, as by `cmd &`
            // in a script: the child inherits that and Java cannot undo it; both go through the same stop request)
            String signal = ignoresSigint(p.pid()) ? "-TERM" : "-INT";
            assertEquals(0, new ProcessBuilder("kill", signal, Long.toString(p.pid())).start().waitFor());
            assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the process ends after " + signal);
            errReader.join(5000);
            assertEquals(130, p.exitValue(), out + "\n" + err);
            assertTrue(out.stream().anyMatch(l -> l.startsWith("done: ")), out.toString());
            assertTrue(Files.exists(dir.resolve("run/latest.zip")));
            assertFalse(err.toString().contains("\tat "), "no stack trace: " + err);
            assertRefused(InetAddress.getLoopbackAddress(), port);
        } finally {
            p.destroyForcibly();
        }
    }

    /** In-process: the UI only watches (the same result as without it), and nothing of it is left after training. */
    @Test
    void theUiChangesNothingAndStopsWithTraining() throws Exception {
        Path corpus = Files.writeString(dir.resolve("tiny.txt"), TEXT.repeat(40));
        TestCli.Result plain = train(corpus, "plain", "--max-iterations", "30");
        assertEquals(0, plain.code(), plain.err());
        TestCli.Result watched = train(corpus, "watched", "--max-iterations", "30", "--ui", "--ui-port", "0");
        assertEquals(0, watched.code(), watched.err());
        assertEquals("", watched.err());
        Matcher m = Pattern.compile("training UI: http://127\\.0\\.0\\.1:(\\d+)/train/overview\\n").matcher(watched.out());
        assertTrue(m.find(), watched.out());
        assertEquals(JSON.readTree(plain.lastLine()).get("best_val_loss"), JSON.readTree(watched.lastLine()).get("best_val_loss"));
        assertUiGone(Integer.parseInt(m.group(1)));

        // --resume takes --ui too
        TestCli.Result resumed = TestCli.run("train", "--resume", dir.resolve("watched").toString(), "--max-iterations", "40",
                "--ui", "--ui-port", "0", "--json");
        assertEquals(0, resumed.code(), resumed.err());
        m = Pattern.compile("training UI: http://127\\.0\\.0\\.1:(\\d+)/train/overview\\n").matcher(resumed.out());
        assertTrue(m.find(), resumed.out());
        assertEquals(40, JSON.readTree(resumed.lastLine()).get("iterations").asLong());
        assertUiGone(Integer.parseInt(m.group(1)));
    }

    /** A port in use is one line and exit code 2 before anything is written; nothing is left running. */
    @Test
    void aPortInUseIsAOneLineUsageError() throws Exception {
        Path corpus = Files.writeString(dir.resolve("tiny.txt"), TEXT.repeat(40));
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            int port = taken.getLocalPort();
            TestCli.Result r = train(corpus, "run", "--max-iterations", "5", "--ui", "--ui-port", Integer.toString(port));
            assertEquals(2, r.code(), r.err());
            assertEquals("textgen: --ui-port " + port + ": 127.0.0.1:" + port + " is in use (Address already in use); "
                    + "choose another port with --ui-port", r.err().strip());
            assertFalse(Files.exists(dir.resolve("run")), "no run directory");
            assertUiGone(-1);
        }
    }

    private TestCli.Result train(Path corpus, String runDir, String... more) {
        List<String> args = new ArrayList<>(List.of("train", "--corpus", corpus.toString(), "--run-dir", dir.resolve(runDir).toString(), "--json"));
        args.addAll(List.of(TINY));
        args.addAll(List.of(more));
        return TestCli.run(args.toArray(String[]::new));
    }

    /** The port (if any) refuses connections, DL4J's static server instance is cleared, and no Vert.x thread is left. */
    private static void assertUiGone(int port) throws Exception {
        if (port > 0) assertRefused(InetAddress.getLoopbackAddress(), port);
        assertNull(VertxUIServer.getInstance());
        List<String> left = new ArrayList<>();
        for (long t0 = System.nanoTime(); System.nanoTime() - t0 < 10e9; Thread.sleep(100)) {
            left = Thread.getAllStackTraces().keySet().stream().filter(Thread::isAlive).map(Thread::getName)
                    .filter(n -> n.startsWith("vert.x-") || n.startsWith("vertx-")).toList();
            if (left.isEmpty()) return;
        }
        fail("Vert.x threads left: " + left);
    }

    /** Polls the overview's data until it holds {@code reports} scores; returns it. */
    private static JsonNode waitForReports(int port, int reports, Process p) throws Exception {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        HttpRequest req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/train/overview/data"))
                .timeout(Duration.ofSeconds(20)).build();
        JsonNode data = null;
        for (long t0 = System.nanoTime(); System.nanoTime() - t0 < 90e9; Thread.sleep(500)) {
            assertTrue(p.isAlive(), "training still runs");
            HttpResponse<String> r = http.send(req, HttpResponse.BodyHandlers.ofString());
            assertEquals(200, r.statusCode(), r.body());
            data = JSON.readTree(r.body());
            if (data.path("scores").size() >= reports) return data;
        }
        fail("fewer than " + reports + " reports after 90 s: " + data);
        return null;
    }

    /**
     * Every listening TCP socket on {@code port} (from /proc/net/tcp and tcp6) is bound to a loopback address, and
     * the port refuses connections on every non-loopback address of this machine while it answers on 127.0.0.1.
     */
    private static void assertListensOnLoopbackOnly(int port) throws Exception {
        List<InetAddress> bound = new ArrayList<>();
        for (String table : new String[]{"/proc/net/tcp", "/proc/net/tcp6"}) {
            if (!Files.exists(Path.of(table))) continue;
            List<String> rows = Files.readAllLines(Path.of(table));
            for (String row : rows.subList(1, rows.size())) { // after the header: sl local_address rem_address st ...
                String[] f = row.trim().split("\\s+");
                String[] local = f[1].split(":");
                if (!f[3].equals("0A") || Integer.parseInt(local[1], 16) != port) continue; // 0A: LISTEN
                bound.add(procAddress(local[0]));
            }
        }
        assertFalse(bound.isEmpty(), "something listens on port " + port);
        for (InetAddress a : bound) assertTrue(a.isLoopbackAddress(), "listening on " + a.getHostAddress() + ": " + bound);
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
        }
        for (NetworkInterface nif : Collections.list(NetworkInterface.getNetworkInterfaces())) {
            if (!nif.isUp() || nif.isLoopback()) continue;
            for (InetAddress a : Collections.list(nif.getInetAddresses())) {
                if (a.isLoopbackAddress() || a.isLinkLocalAddress()) continue;
                assertRefused(a, port);
            }
        }
    }

    /** An address as /proc/net/tcp* writes it: 4 or 16 bytes in 32-bit words of host (little-endian) byte order. */
    private static InetAddress procAddress(String hex) throws IOException {
        byte[] b = new byte[hex.length() / 2];
        for (int word = 0; word < b.length / 4; word++) {
            for (int i = 0; i < 4; i++) {
                b[word * 4 + i] = (byte) Integer.parseInt(hex.substring(word * 8 + (3 - i) * 2, word * 8 + (3 - i) * 2 + 2), 16);
            }
        }
        return InetAddress.getByAddress(b); // an IPv4-mapped IPv6 address comes back as the IPv4 address
    }

    private static void assertRefused(InetAddress a, int port) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(a, port), 3000);
            fail("port " + port + " answers on " + a.getHostAddress());
        } catch (ConnectException | SocketTimeoutException expected) {
            // refused (or dropped): not served there
        }
    }

    /** Whether the process was started with SIGINT ignored (bit 2 of SigIgn in /proc/PID/status). */
    private static boolean ignoresSigint(long pid) throws IOException {
        Path status = Path.of("/proc/" + pid + "/status");
        if (!Files.exists(status)) return false;
        String mask = Files.readAllLines(status).stream().filter(l -> l.startsWith("SigIgn:")).findFirst().orElse("SigIgn: 0")
                .substring(7).trim();
        return new BigInteger(mask, 16).testBit(1);
    }

    /** The rendered DOM of {@code url} after Chromium ran its scripts for 10 s of virtual time. */
    private String dumpDom(String chromium, String url) throws Exception {
        Path profile = Files.createDirectories(dir.resolve("chromium-profile"));
        Path log = dir.resolve("chromium.log");
        Process c = new ProcessBuilder(chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--user-data-dir=" + profile, "--dump-dom", "--virtual-time-budget=10000", url)
                .redirectError(log.toFile()).start();
        String dom = new String(c.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        boolean ended = c.waitFor(60, TimeUnit.SECONDS);
        if (!ended) c.destroyForcibly();
        assertTrue(ended && c.exitValue() == 0, "chromium failed: " + Files.readString(log));
        return dom;
    }

    /** The outer HTML of the element with this id, up to the next element that has an id (enough for flot's charts). */
    private static String element(String dom, String id) {
        int start = dom.indexOf("id=\"" + id + "\"");
        assertTrue(start >= 0, "no #" + id + " in the page: " + dom);
        int end = dom.indexOf(" id=\"", start + id.length() + 5);
        return dom.substring(start, end < 0 ? dom.length() : end);
    }

    /** The largest tick label of one of flot's axes ({@code flot-x-axis} or {@code flot-y-axis}) in a chart. */
    private static double maxTick(String chart, String axis) {
        int from = chart.indexOf(axis);
        assertTrue(from >= 0, "no " + axis + ": " + chart);
        int axisEnd = chart.indexOf(axis.equals("flot-x-axis") ? "flot-y-axis" : "flot-overlay", from);
        Matcher m = Pattern.compile("tickLabel[^>]*>(-?[0-9.]+)<").matcher(chart.substring(from, axisEnd < 0 ? chart.length() : axisEnd));
        double max = Double.NEGATIVE_INFINITY;
        while (m.find()) max = Math.max(max, Double.parseDouble(m.group(1)));
        return max;
    }

    private static Thread drain(BufferedReader in, java.util.function.Consumer<String> sink) {
        Thread t = new Thread(() -> in.lines().forEach(sink));
        t.setDaemon(true);
        t.start();
        return t;
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            return s.getLocalPort();
        }
    }

    /** Debian's chromium on the PATH; without it the test fails in CI and is skipped elsewhere. */
    private static String chromium() {
        for (String name : new String[]{"chromium", "chromium-browser"}) {
            for (String d : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
                if (!d.isEmpty() && Files.isExecutable(Path.of(d, name))) return Path.of(d, name).toString();
            }
        }
        String why = "headless Chromium is needed to load the training UI's page: apt-get install chromium (.ci/run does)";
        if ("true".equalsIgnoreCase(System.getenv("CI"))) fail(why);
        Assumptions.abort(why);
        return null;
    }
}
