package textgen;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Packages depend one way (README, Layout): each package of app/src/main uses, by import or by qualified name
 * (comments aside), only the packages {@link #ALLOWED} lists for it, all of them earlier in the flow; corpus and model
 * are side by side (tokens meet tensors in tensor), so model never reaches into corpus.
 */
class PackageDependencyTest {
    static final Map<String, Set<String>> ALLOWED = Map.ofEntries(
            Map.entry("io", Set.of()),
            Map.entry("tensor", Set.of()),
            Map.entry("config", Set.of()),
            Map.entry("corpus", Set.of("io", "tensor", "config")),
            Map.entry("model", Set.of("io", "tensor", "config")),
            Map.entry("eval", Set.of("tensor", "config", "model")),
            Map.entry("generate", Set.of("tensor", "config", "corpus", "model")),
            Map.entry("report", Set.of("io")),
            Map.entry("checkpoint", Set.of("io", "tensor", "config", "corpus", "model")),
            Map.entry("train", Set.of("io", "tensor", "config", "corpus", "model", "eval", "generate", "report", "checkpoint")),
            Map.entry("ui", Set.of("config", "model", "train")),
            Map.entry("spark", Set.of("tensor", "config", "corpus", "model", "train")),
            Map.entry("cli", Set.of("io", "tensor", "config", "corpus", "model", "eval", "generate", "report", "checkpoint", "train")));
    static final Path MAIN = Path.of("src/main/java/textgen");
    static final Pattern USE = Pattern.compile("\\btextgen\\.([a-z]+)\\.[A-Z]");

    @Test
    void everyPackageUsesOnlyThePackagesAllowedIt() throws IOException {
        List<String> wrong = new ArrayList<>();
        try (Stream<Path> files = Files.walk(MAIN)) {
            for (Path file : (Iterable<Path>) files.filter(f -> f.toString().endsWith(".java"))::iterator) {
                Path rel = MAIN.relativize(file);
                if (rel.getNameCount() < 2) continue; // textgen's own classes: used by all, use none
                String pkg = rel.getName(0).toString();
                assertTrue(ALLOWED.containsKey(pkg), "package " + pkg + " is not in PackageDependencyTest.ALLOWED");
                Matcher m = USE.matcher(withoutComments(Files.readString(file)));
                while (m.find()) {
                    String used = m.group(1);
                    if (!used.equals(pkg) && !ALLOWED.get(pkg).contains(used)) wrong.add(rel + " uses " + used);
                }
            }
        }
        assertEquals(List.of(), wrong.stream().distinct().toList());
    }

    @Test
    void aUseAgainstTheOrderIsFound() {
        Matcher m = USE.matcher(withoutComments("import textgen.corpus.Vocabulary; // textgen.cli.Main\n/** textgen.train.Trainer */"));
        assertTrue(m.find());
        assertEquals("corpus", m.group(1));
        assertTrue(!m.find(), "comments are not uses");
    }

    static String withoutComments(String java) {
        return java.replaceAll("(?s)/\\*.*?\\*/", "").replaceAll("//[^\n]*", "");
    }
}
