package textgen;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import textgen.model.Backend;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.*;

/**
 * One ND4J backend per build. The CPU build is the one these tests run on; the CUDA build ({@code -Pcuda}) is checked
 * through Maven's dependency tree, which resolves POMs only, so no CUDA native library is downloaded.
 */
class BackendProfileTest {
    @TempDir
    Path dir;

    record Artifact(String group, String artifact, String classifier, String version, String scope) {
        String id() {
            return group + ":" + artifact + (classifier.isEmpty() ? "" : ":" + classifier);
        }
    }

    static final Pattern LINE = Pattern.compile("([\\w.\\-]+):([\\w.\\-]+):(?:jar|pom)(?::([\\w.\\-]+))?:([\\w.\\-]+):(compile|runtime|provided|test|system)");

    static List<Artifact> parse(List<String> tree) {
        List<Artifact> out = new ArrayList<>();
        for (String l : tree) {
            Matcher m = LINE.matcher(l);
            if (m.find()) out.add(new Artifact(m.group(1), m.group(2), m.group(3) == null ? "" : m.group(3), m.group(4), m.group(5)));
        }
        return out;
    }

    /** Maven running this build (surefire passes maven.home), else mvn on PATH. */
    static String mvn() {
        String home = System.getProperty("maven.home");
        return home != null && Files.isExecutable(Path.of(home, "bin", "mvn")) ? Path.of(home, "bin", "mvn").toString() : "mvn";
    }

    @Test
    void cudaProfileHasTheCudaBackendAndNoCpuNatives() throws Exception {
        Path root = Path.of(System.getProperty("textgen.root", "..")).toAbsolutePath().normalize();
        assertTrue(Files.isDirectory(root.resolve(".mvn")), "the checkout root with .mvn/maven.config: " + root);
        Path out = dir.resolve("tree.txt");
        List<String> cmd = new ArrayList<>(List.of(mvn(), "-B", "-q", "-f", root.resolve("app/pom.xml").toString(), "-Pcuda",
                "dependency:tree", "-DoutputFile=" + out));
        String repo = System.getProperty("maven.repo.local");
        if (repo != null && !repo.isBlank()) cmd.add("-Dmaven.repo.local=" + repo);
        Process p = new ProcessBuilder(cmd).directory(root.toFile()).redirectErrorStream(true)
                .redirectOutput(dir.resolve("mvn.log").toFile()).start();
        assertTrue(p.waitFor(10, TimeUnit.MINUTES), "mvn dependency:tree finished");
        assertEquals(0, p.exitValue(), () -> String.join(" ", cmd) + "\n" + read(dir.resolve("mvn.log")));
        List<Artifact> deps = parse(Files.readAllLines(out));
        List<String> shipped = deps.stream().filter(a -> !a.scope().equals("test") && !a.scope().equals("provided")).map(Artifact::id).toList();

        assertTrue(shipped.contains("org.nd4j:nd4j-cuda-11.6"), shipped.toString());
        assertTrue(shipped.contains("org.nd4j:nd4j-cuda-11.6:linux-x86_64"), "the CUDA natives: " + shipped);
        assertTrue(shipped.contains("org.bytedeco:cuda:linux-x86_64"), "JavaCPP's CUDA bindings: " + shipped);
        for (Artifact a : deps) {
            assertFalse(a.artifact().matches("nd4j-native(-platform|-preset)?"), "CPU backend in the CUDA build: " + a);
            assertFalse(a.artifact().equals("mkl-platform") || a.artifact().equals("openblas-platform"), "CPU natives in the CUDA build: " + a);
            if (List.of("openblas", "mkl", "dnnl", "opencl").contains(a.artifact())) {
                assertEquals("provided", a.scope(), "the BLAS's Java API only compiles the CPU kernels: " + a);
                assertEquals("", a.classifier(), "no BLAS natives: " + a);
            }
            assertTrue(a.classifier().isEmpty() || a.classifier().startsWith("linux-x86_64"), "only this platform's natives: " + a);
            if (a.group().equals("org.nd4j") || a.group().equals("org.deeplearning4j")) assertEquals(Backend.DL4J_VERSION, a.version(), a.toString());
        }
        assertEquals(List.of("openblas", "mkl", "dnnl", "opencl"), deps.stream().filter(a -> a.scope().equals("provided")).map(Artifact::artifact).toList(),
                "only the BLAS APIs are provided: " + deps);
    }

    @Test
    void defaultBuildIsTheCpuBackendAlone() {
        List<String> jars = List.of(System.getProperty("java.class.path").split(File.pathSeparator));
        assertTrue(jars.stream().anyMatch(j -> j.endsWith("nd4j-native-" + Backend.DL4J_VERSION + "-linux-x86_64.jar")), "CPU natives");
        assertTrue(jars.stream().noneMatch(j -> j.contains("nd4j-cuda")), "no CUDA backend: " + jars);
        assertEquals("cpu", Backend.configuredBackend());
    }

    private static String read(Path p) {
        try {
            return Files.readString(p);
        } catch (java.io.IOException e) {
            return "";
        }
    }
}
