package textgen.cli;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The bad-input battery: every case runs the real CLI and must exit 2 with exactly one line on stderr that names
 * the offending thing, print no stack trace, and leave every file in the working directory as it was.
 */
class BadInputTest {
    @TempDir
    static Path dir;
    static String ck, corpus, config;
    static boolean unreadable;
    /**
     * busy-run, held by this JVM as a trainer holds its run directory. (The snapshots read busy-run/.lock, and on Linux
     * that drops this process's OS lock on it: what is tested is the refusal a run in the same JVM meets.)
     */
    static textgen.checkpoint.RunDirectory busy;

    private record Case(String name, String expect, String... args) {
    }

    @BeforeAll
    static void fixtures() throws Exception {
        corpus = write("corpus.txt", "The cat sat on the mat.\nThe dog sat on the log.\n".repeat(40));
        config = write("good.yaml", "corpus:\n  path: corpus.txt\nmodel:\n  layers: 1\n  hiddenSize: 8\ntraining:\n  batchSize: 4\n"
                + "  tbpttLength: 8\n  evalEvery: 2\n  sampleLength: 0\n");
        Cli.Result r = Cli.run("train", "--config", config, "--run-dir", dir.resolve("run").toString(), "--max-iterations", "2");
        assertEquals(0, r.code(), r.err());
        ck = dir.resolve("ck.zip").toString();
        Files.copy(dir.resolve("run/latest.zip"), Path.of(ck));
        write("empty.txt", "");
        write("one-char.txt", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
        write("short.txt", "abcdefghij\n".repeat(6));
        Files.write(dir.resolve("latin1.txt"), "caf\u00e9 ol\u00e9\n".repeat(50).getBytes(StandardCharsets.ISO_8859_1));
        write("unknown-chars.txt", "The \u00e9l\u00e8ve sat.\n");
        write("not-yaml.yaml", "model: [1, 2\n  hiddenSize: {\n");
        write("binary.yaml", "\u0000\u0001\u0002");
        write("unknown-key.yaml", "model:\n  hiddenSise: 8\n");
        write("wrong-type.yaml", "model:\n  hiddenSize: lots\n");
        write("zero-hidden.yaml", "model:\n  hiddenSize: 0\n");
        write("gru-relu.yaml", "corpus:\n  path: corpus.txt\nmodel:\n  cell: gru\n  activation: relu\n");
        write("zero-batch.yaml", "training:\n  batchSize: 0\n");
        write("recurrent-dropout-one.yaml", "corpus:\n  path: corpus.txt\nmodel:\n  recurrentDropout: 1\n");
        write("bad-fraction.yaml", "corpus:\n  path: corpus.txt\n  validationFraction: 1.5\n");
        write("zero-fraction.yaml", "corpus:\n  path: corpus.txt\n  validationFraction: 0\n");
        write("long-tbptt.yaml", "corpus:\n  path: corpus.txt\ntraining:\n  batchSize: 32\n  tbpttLength: 5000\n");
        write("missing-corpus.yaml", "corpus:\n  path: no-such-corpus.txt\n");
        write("tagged.yaml", "model: !!javax.script.ScriptEngineManager [!!java.net.URLClassLoader [[!!java.net.URL [\"http://x\"]]]]\n");
        write("list.yaml", "- a\n- b\n");
        write("duplicate.yaml", "model:\n  layers: 1\n  layers: 2\n");
        write("not-a-zip.zip", "just text");
        byte[] good = Files.readAllBytes(Path.of(ck));
        Files.write(dir.resolve("truncated.zip"), java.util.Arrays.copyOf(good, good.length / 2));
        zip("other.zip", Map.of("readme.txt", "hello".getBytes()));
        zip("no-vocab.zip", without(ck, "vocabulary.json", null));
        ByteArrayOutputStream ser = new ByteArrayOutputStream();
        try (ObjectOutputStream o = new ObjectOutputStream(ser)) {
            o.writeObject(new java.util.ArrayList<>(List.of("x")));
        }
        Map<String, byte[]> withSer = without(ck, "none", null);
        withSer.put("preprocessor.bin", ser.toByteArray());
        zip("serialized.zip", withSer);
        zip("future.zip", without(ck, "none", "textgen.json"));
        write("prompts-missing-dir", "");
        Files.createDirectories(dir.resolve("a-directory"));
        Path docs = Files.createDirectories(dir.resolve("docs/sub"));
        write("docs/a.txt", "The cat sat on the mat.\n".repeat(20));
        Files.write(docs.resolve("latin1.txt"), "ok caf\u00e9\n".getBytes(StandardCharsets.ISO_8859_1));
        Path gz = Files.createDirectories(dir.resolve("gzdocs"));
        write("gzdocs/a.txt", "The cat sat on the mat.\n".repeat(20));
        write("gzdocs/b.txt.gz", "not gzip at all");
        write("gzempty.txt.gz", "");
        Path gzLatin = Files.createDirectories(dir.resolve("gzlatin"));
        try (var o = new java.util.zip.GZIPOutputStream(Files.newOutputStream(gzLatin.resolve("x.txt.gz")))) {
            o.write("The cat sat.\ncaf\u00e9\n".getBytes(StandardCharsets.ISO_8859_1));
        }
        Path locked = Files.createDirectories(dir.resolve("locked"));
        write("locked/a.txt", "The cat sat on the mat.\n".repeat(20));
        Path secret = Files.writeString(locked.resolve("b.txt"), "secret\n");
        // as root every file is readable: then the case is left out
        unreadable = secret.toFile().setReadable(false, false) && !Files.isReadable(secret);
        Files.copy(Path.of(ck), Files.createDirectories(dir.resolve("busy-run")).resolve("latest.zip"));
        busy = textgen.checkpoint.RunDirectory.open(dir.resolve("busy-run"));
    }

    @org.junit.jupiter.api.AfterAll
    static void release() {
        if (busy != null) busy.close();
    }

    static String write(String name, String text) throws IOException {
        return Files.writeString(dir.resolve(name), text).toString();
    }

    /** The entries of a zip, minus {@code drop}; {@code bumpVersion} names the entry whose format version goes to 99. */
    static Map<String, byte[]> without(String zip, String drop, String bumpVersion) throws IOException {
        Map<String, byte[]> m = new TreeMap<>();
        try (ZipFile z = new ZipFile(zip)) {
            for (ZipEntry e : java.util.Collections.list(z.entries())) {
                if (e.getName().equals(drop)) continue;
                byte[] b = z.getInputStream(e).readAllBytes();
                if (e.getName().equals(bumpVersion)) b = new String(b, StandardCharsets.UTF_8).replace("\"formatVersion\" : 1", "\"formatVersion\" : 99").getBytes(StandardCharsets.UTF_8);
                m.put(e.getName(), b);
            }
        }
        return m;
    }

    static void zip(String name, Map<String, byte[]> entries) throws IOException {
        try (ZipOutputStream z = new ZipOutputStream(Files.newOutputStream(dir.resolve(name)))) {
            for (var e : entries.entrySet()) {
                z.putNextEntry(new ZipEntry(e.getKey()));
                z.write(e.getValue());
                z.closeEntry();
            }
        }
    }

    static String f(String name) {
        return dir.resolve(name).toString();
    }

    List<Case> cases() {
        String runDir = f("new-run");
        List<Case> c = new ArrayList<>();
        // options
        c.add(new Case("unknown option", "--bogus", "train", "--bogus"));
        c.add(new Case("unknown subcommand", "fly", "fly"));
        c.add(new Case("missing required option", "--model", "sample"));
        c.add(new Case("non-numeric number", "--length", "sample", "--model", ck, "--length", "many"));
        c.add(new Case("zero length", "--length", "sample", "--model", ck, "--length", "0"));
        c.add(new Case("negative length", "--length", "sample", "--model", ck, "--length", "-5"));
        c.add(new Case("length over the maximum", "1000000", "sample", "--model", ck, "--length", "1000000000"));
        c.add(new Case("zero temperature", "--temperature", "sample", "--model", ck, "--temperature", "0"));
        c.add(new Case("negative temperature", "--temperature", "sample", "--model", ck, "--temperature", "-1"));
        c.add(new Case("top-p zero", "--top-p", "sample", "--model", ck, "--top-p", "0"));
        c.add(new Case("top-p above one", "--top-p", "sample", "--model", ck, "--top-p", "1.5"));
        c.add(new Case("top-k zero", "--top-k", "sample", "--model", ck, "--top-k", "0"));
        c.add(new Case("zero count", "--count", "sample", "--model", ck, "--count", "0"));
        c.add(new Case("conflicting primes", "mutually exclusive", "sample", "--model", ck, "--prime", "a", "--prime-file", corpus));
        c.add(new Case("negative max-iterations", "training.maxIterations", "train", "--config", config, "--run-dir", runDir, "--max-iterations", "-3"));
        c.add(new Case("non-numeric max-minutes", "training.maxMinutes", "train", "--config", config, "--run-dir", runDir, "--max-minutes", "soon"));
        c.add(new Case("--set without =", "key=value", "train", "--config", config, "--run-dir", runDir, "--set", "model.layers"));
        c.add(new Case("--set bad choice", "training.sampling", "train", "--config", config, "--run-dir", runDir, "--set", "training.sampling=sometimes"));
        c.add(new Case("relu for an LSTM cell", "model.activation relu applies to model.cell simple only", "train", "--config", config,
                "--run-dir", runDir, "--set", "model.activation=relu"));
        c.add(new Case("relu for a GRU cell", "--set: model.activation relu applies to model.cell simple only (GRU cells use tanh)", "train",
                "--config", config, "--run-dir", runDir, "--set", "model.cell=gru", "--set", "model.activation=relu"));
        for (String bad : List.of("-0.1", "1", "1.0", "1.5")) {
            c.add(new Case("recurrent dropout " + bad, "--set: model.recurrentDropout " + bad + " is out of range: must be a number >= 0 and < 1",
                    "train", "--config", config, "--run-dir", runDir, "--set", "model.recurrentDropout=" + bad));
        }
        c.add(new Case("recurrent dropout not a number", "--set: model.recurrentDropout 'some' is not a number: must be a number >= 0 and < 1",
                "train", "--config", config, "--run-dir", runDir, "--set", "model.recurrentDropout=some"));
        c.add(new Case("unknown cell", "must be one of lstm, gru, simple", "train", "--config", config, "--run-dir", runDir, "--set", "model.cell=transformer"));
        c.add(new Case("--ui-port out of range", "--ui-port must be in 0..65535", "train", "--config", config, "--run-dir", runDir, "--ui", "--ui-port", "70000"));
        c.add(new Case("--ui-port not a number", "--ui-port", "train", "--config", config, "--run-dir", runDir, "--ui", "--ui-port", "nine"));
        c.add(new Case("--ui-port without --ui", "--ui-port needs --ui", "train", "--config", config, "--run-dir", runDir, "--ui-port", "9001"));
        c.add(new Case("--resume with --config", "--config", "train", "--resume", f("run"), "--config", config));
        c.add(new Case("--resume of a non-run", "no such run directory", "train", "--resume", f("nowhere")));
        c.add(new Case("--resume of a run in use", "run directory " + f("busy-run") + " is in use by another textgen train (pid "
                + ProcessHandle.current().pid(), "train", "--resume", f("busy-run"), "--set", "training.evalEvery=5"));
        c.add(new Case("new run into a run directory in use", "run directory " + f("busy-run") + " is in use", "train", "--config", config,
                "--run-dir", f("busy-run")));
        c.add(new Case("corpus addition zero count", "--count", "corpus", "addition", "--count", "0", "--out", f("a.txt")));
        // config
        c.add(new Case("missing config file", "does not exist", "train", "--config", f("nope.yaml"), "--run-dir", runDir));
        c.add(new Case("config not YAML", "not valid YAML", "train", "--config", f("not-yaml.yaml"), "--run-dir", runDir));
        c.add(new Case("config binary", "binary.yaml", "train", "--config", f("binary.yaml"), "--run-dir", runDir));
        c.add(new Case("config a list", "mapping", "train", "--config", f("list.yaml"), "--run-dir", runDir));
        c.add(new Case("config a directory", "is a directory", "train", "--config", f("a-directory"), "--run-dir", runDir));
        c.add(new Case("unknown key", "hiddenSise", "train", "--config", f("unknown-key.yaml"), "--run-dir", runDir));
        c.add(new Case("duplicate key", "set twice", "train", "--config", f("duplicate.yaml"), "--run-dir", runDir));
        c.add(new Case("wrong type", "model.hiddenSize", "train", "--config", f("wrong-type.yaml"), "--run-dir", runDir));
        c.add(new Case("hidden size 0", "model.hiddenSize", "train", "--config", f("zero-hidden.yaml"), "--run-dir", runDir));
        c.add(new Case("relu for a GRU cell in a config", "gru-relu.yaml", "train", "--config", f("gru-relu.yaml"), "--run-dir", runDir));
        c.add(new Case("recurrent dropout 1 in a config", "recurrent-dropout-one.yaml:4: model.recurrentDropout 1 is out of range: must be a number >= 0 and < 1",
                "train", "--config", f("recurrent-dropout-one.yaml"), "--run-dir", runDir));
        c.add(new Case("batch size 0", "training.batchSize", "train", "--config", f("zero-batch.yaml"), "--run-dir", runDir));
        c.add(new Case("validation fraction 1.5", "corpus.validationFraction", "train", "--config", f("bad-fraction.yaml"), "--run-dir", runDir));
        c.add(new Case("validation fraction 0", "corpus.validationFraction", "train", "--config", f("zero-fraction.yaml"), "--run-dir", runDir));
        c.add(new Case("tbptt longer than the data", "training.tbpttLength", "train", "--config", f("long-tbptt.yaml"), "--run-dir", runDir));
        c.add(new Case("corpus path missing", "no-such-corpus.txt", "train", "--config", f("missing-corpus.yaml"), "--run-dir", runDir));
        c.add(new Case("YAML type tag", "tag", "train", "--config", f("tagged.yaml"), "--run-dir", runDir));
        c.add(new Case("no corpus at all", "corpus.path", "train", "--run-dir", runDir));
        // corpus
        c.add(new Case("empty corpus", "is empty", "train", "--config", config, "--corpus", f("empty.txt"), "--run-dir", runDir));
        c.add(new Case("corpus an empty folder", "corpus folder " + f("a-directory") + " holds no files", "train", "--config", config,
                "--corpus", f("a-directory"), "--run-dir", runDir));
        c.add(new Case("corpus below a file", "does not exist", "train", "--config", config, "--corpus", f("corpus.txt/inside"), "--run-dir", runDir));
        c.add(new Case("corpus glob matching nothing", "corpus glob " + f("docs") + "/**/*.md matches no file", "train", "--config", config,
                "--corpus", f("docs") + "/**/*.md", "--run-dir", runDir));
        c.add(new Case("corpus folder with a file not UTF-8", f("docs/sub/latin1.txt") + " (folder " + f("docs")
                + ") is not valid UTF-8: invalid byte 0xe9 at byte offset 6", "train", "--config", config, "--corpus", f("docs"), "--run-dir", runDir));
        c.add(new Case("corpus folder with a file not gzip", f("gzdocs/b.txt.gz") + " (folder " + f("gzdocs") + ") is not valid gzip",
                "train", "--config", config, "--corpus", f("gzdocs"), "--run-dir", runDir));
        c.add(new Case("gzip corpus empty (0 bytes)", f("gzempty.txt.gz") + " is not valid gzip: it ends early (empty or truncated)",
                "train", "--config", config, "--corpus", f("gzempty.txt.gz"), "--run-dir", runDir));
        c.add(new Case("gzip corpus not UTF-8", "invalid byte 0xe9 at byte offset 16 of its decompressed content", "train", "--config", config,
                "--corpus", f("gzlatin") + "/*.gz", "--run-dir", runDir));
        c.add(new Case("validation folder empty", "validation text folder " + f("a-directory") + " holds no files", "train", "--config", config,
                "--set", "corpus.validationPath=" + f("a-directory"), "--run-dir", runDir));
        c.add(new Case("text glob matching nothing", "text glob " + f("docs") + "/*.md matches no file", "perplexity", "--model", ck,
                "--text", f("docs") + "/*.md"));
        if (unreadable) {
            c.add(new Case("corpus folder with an unreadable file", f("locked/b.txt") + " (folder " + f("locked") + ") is not readable",
                    "train", "--config", config, "--corpus", f("locked"), "--run-dir", runDir));
        }
        c.add(new Case("corpus not UTF-8", "byte offset 3", "train", "--config", config, "--corpus", f("latin1.txt"), "--run-dir", runDir));
        c.add(new Case("corpus shorter than a batch", "fewer than one minibatch", "train", "--config", config, "--corpus", f("short.txt"),
                "--set", "training.batchSize=32", "--run-dir", runDir));
        c.add(new Case("corpus of one character", "single distinct character", "train", "--config", config, "--corpus", f("one-char.txt"), "--run-dir", runDir));
        // checkpoints
        c.add(new Case("checkpoint missing", "does not exist", "sample", "--model", f("nope.zip")));
        c.add(new Case("checkpoint not a zip", "not a readable zip", "sample", "--model", f("not-a-zip.zip")));
        c.add(new Case("checkpoint truncated", "truncated.zip", "sample", "--model", f("truncated.zip")));
        c.add(new Case("zip of something else", "not a textgen checkpoint", "sample", "--model", f("other.zip")));
        c.add(new Case("entry missing", "vocabulary.json", "perplexity", "--model", f("no-vocab.zip"), "--text", corpus));
        c.add(new Case("Java-serialized entry", "Java-serialized", "sample", "--model", f("serialized.zip")));
        c.add(new Case("format version from the future", "format version 99", "inspect", f("future.zip")));
        c.add(new Case("directory that is no run", "not a run directory", "sample", "--model", f("a-directory")));
        // sample / perplexity
        c.add(new Case("prime with unknown characters", "'\u00e9'", "sample", "--model", ck, "--prime", "caf\u00e9"));
        c.add(new Case("empty prime file", "is empty", "sample", "--model", ck, "--prime-file", f("empty.txt")));
        c.add(new Case("prompts file missing", "does not exist", "sample", "--model", ck, "--prompts", f("nope.tsv")));
        c.add(new Case("text outside the vocabulary", "'\u00e8'", "perplexity", "--model", ck, "--text", f("unknown-chars.txt")));
        c.add(new Case("text missing", "does not exist", "perplexity", "--model", ck, "--text", f("nope.txt")));
        c.add(new Case("text empty", "fewer than 2", "perplexity", "--model", ck, "--text", f("empty.txt")));
        c.add(new Case("inspect a missing path", "does not exist", "inspect", f("nope.zip")));
        return c;
    }

    @TestFactory
    Stream<DynamicTest> everyBadInputIsOneLineExitTwoAndTouchesNothing() {
        List<Case> cases = cases();
        assertTrue(cases.size() >= 40, "the battery has " + cases.size() + " cases");
        return cases.stream().map(c -> DynamicTest.dynamicTest(c.name(), () -> {
            Map<String, String> before = snapshot();
            Cli.Result r = Cli.run(c.args());
            String what = c.name() + ": " + String.join(" ", c.args()) + "\nstderr: " + r.err() + "\nstdout: " + r.out();
            assertEquals(2, r.code(), what);
            List<String> lines = r.err().strip().lines().toList();
            assertEquals(1, lines.size(), what);
            assertTrue(lines.get(0).contains(c.expect()), "names '" + c.expect() + "': " + what);
            assertFalse(r.err().contains("\tat ") || r.err().contains("Exception"), "no stack trace: " + what);
            assertEquals(before, snapshot(), "no file created, changed or deleted: " + what);
        }));
    }

    @TestFactory
    Stream<DynamicTest> stacktraceOptionShowsTheTrace() {
        return Stream.of(DynamicTest.dynamicTest("--stacktrace", () -> {
            Cli.Result r = Cli.run("sample", "--model", f("not-a-zip.zip"), "--stacktrace");
            assertEquals(2, r.code());
            assertTrue(r.err().contains("\tat "), r.err());
        }));
    }

    /** Every file under the fixture directory: path -> size, modification time and SHA-256. */
    static Map<String, String> snapshot() throws Exception {
        Map<String, String> m = new TreeMap<>();
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.toList()) {
                String key = dir.relativize(p).toString();
                if (Files.isDirectory(p)) m.put(key + "/", "dir");
                else m.put(key, Files.size(p) + " " + Files.getLastModifiedTime(p) + " "
                        + (Files.isReadable(p) ? HexFormat.of().formatHex(sha.digest(Files.readAllBytes(p))) : "unreadable"));
            }
        }
        return m;
    }
}
