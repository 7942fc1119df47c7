package textgen;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Packages depend one way (README, Layout): each package of app/src/main uses only the packages before it in
 * {@link #ORDER}, by import or by qualified name (comments aside), so that e.g. model never reaches into corpus.
 */
class PackageDependencyTest {
    /** The flow's order: a package may use those to its left. */
    static final List<String> ORDER = List.of("io", "tensor", "config", "corpus", "model", "eval", "generate", "report",
            "checkpoint", "train", "ui", "cli");
    static final Path MAIN = Path.of("src/main/java/textgen");
    static final Pattern USE = Pattern.compile("\\btextgen\\.([a-z]+)\\.[A-Z]");

    @Test
    void everyPackageUsesOnlyThePackagesBeforeIt() throws IOException {
        List<String> wrong = new ArrayList<>();
        try (Stream<Path> files = Files.walk(MAIN)) {
            for (Path file : (Iterable<Path>) files.filter(f -> f.toString().endsWith(".java"))::iterator) {
                Path rel = MAIN.relativize(file);
                if (rel.getNameCount() < 2) continue; // textgen's own classes: used by all, use none
                String pkg = rel.getName(0).toString();
                assertTrue(ORDER.contains(pkg), "package " + pkg + " is not in PackageDependencyTest.ORDER");
                Matcher m = USE.matcher(withoutComments(Files.readString(file)));
                while (m.find()) {
                    String used = m.group(1);
                    if (!used.equals(pkg) && ORDER.indexOf(used) >= ORDER.indexOf(pkg)) wrong.add(rel + " uses " + used);
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
