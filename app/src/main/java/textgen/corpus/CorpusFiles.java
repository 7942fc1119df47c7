package textgen.corpus;

import textgen.TextgenException;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * What a corpus path names, as an ordered list of documents: a file; a folder (every regular file below it); or a glob
 * such as {@code data/**}{@code /*.txt} (Java's glob syntax, matched against paths relative to the folder before the
 * first segment with a wildcard; {@code **}{@code /} also matches no folder at all). Hidden files and folders (names
 * starting with '.') are skipped. Documents are ordered by relative path, compared byte-wise in UTF-8, so the order
 * does not depend on the file system or the locale. Files ending in {@code .gz} are read through gzip.
 *
 * @param spec  the path or glob as given
 * @param kind  "file", "folder" or "glob"
 */
public record CorpusFiles(String spec, String kind, List<Document> documents) {

    /** One file of a corpus: where it is, and its name relative to the folder or glob base (its file name alone for a file). */
    public record Document(Path path, String relative, long size, long modifiedNanos) {
        public boolean gzip() {
            return path.getFileName().toString().endsWith(".gz");
        }
    }

    public long bytes() {
        return documents.stream().mapToLong(Document::size).sum();
    }

    /** How a message names document {@code d}: the path alone for a single file, else the path and its place among the others. */
    public String name(String what, Document d) {
        return documents.size() == 1 && kind.equals("file") ? what + " " + d.path() : what + " file " + d.path() + " (" + kind + " " + spec + ")";
    }

    /**
     * Resolves {@code spec}. A missing path, an empty folder, a glob matching nothing and an unreadable file are usage
     * errors that name it; {@code what} ("corpus", "validation text", "text") starts each message.
     */
    public static CorpusFiles resolve(String spec, String what) {
        Path path = Path.of(spec);
        if (Files.isDirectory(path)) return check(new CorpusFiles(spec, "folder", walk(path, null, what + " folder " + spec)), what);
        if (Files.exists(path)) return check(new CorpusFiles(spec, "file", List.of(document(path, path.getFileName().toString()))), what);
        int glob = firstWildcardSegment(spec);
        if (glob < 0) throw TextgenException.usage(what + " " + spec + " does not exist");
        String base = spec.substring(0, glob);
        String pattern = spec.substring(glob);
        Path root = base.isEmpty() ? Path.of(".") : Path.of(base);
        if (!Files.isDirectory(root)) throw TextgenException.usage(what + " glob " + spec + ": folder " + root + " does not exist");
        List<Document> docs = walk(root, pattern, what + " glob " + spec);
        if (docs.isEmpty()) throw TextgenException.usage(what + " glob " + spec + " matches no file (hidden files and folders are skipped)");
        return check(new CorpusFiles(spec, "glob", docs), what);
    }

    private static CorpusFiles check(CorpusFiles files, String what) {
        if (files.documents.isEmpty()) {
            throw TextgenException.usage(what + " folder " + files.spec + " holds no files (hidden files and folders are skipped)");
        }
        for (Document d : files.documents) {
            if (!Files.isReadable(d.path())) {
                throw TextgenException.usage(files.name(what, d) + " is not readable (permission denied)");
            }
        }
        return files;
    }

    /** The index just after the last '/' before the first segment holding a glob character, or -1 without one. */
    private static int firstWildcardSegment(String spec) {
        int i = 0;
        while (i < spec.length() && "*?[{".indexOf(spec.charAt(i)) < 0) i++;
        if (i == spec.length()) return -1;
        return spec.lastIndexOf('/', i) + 1;
    }

    private static List<Document> walk(Path root, String pattern, String name) {
        List<PathMatcher> matchers = new ArrayList<>();
        if (pattern != null) {
            matchers.add(FileSystems.getDefault().getPathMatcher("glob:" + pattern));
            if (pattern.contains("**/")) matchers.add(FileSystems.getDefault().getPathMatcher("glob:" + pattern.replace("**/", "")));
        }
        List<Document> docs = new ArrayList<>();
        try (Stream<Path> all = Files.walk(root)) {
            all.forEach(p -> {
                Path rel = root.relativize(p);
                if (rel.toString().isEmpty() || hidden(rel) || !Files.isRegularFile(p)) return;
                if (pattern != null && matchers.stream().noneMatch(m -> m.matches(rel))) return;
                docs.add(document(p, rel.toString().replace('\\', '/')));
            });
        } catch (IOException | UncheckedIOException e) {
            IOException cause = e instanceof UncheckedIOException u ? u.getCause() : (IOException) e;
            throw TextgenException.usage("cannot read " + name + ": " + cause.getMessage());
        }
        docs.sort(Comparator.comparing(d -> d.relative().getBytes(StandardCharsets.UTF_8), Arrays::compareUnsigned));
        return docs;
    }

    private static boolean hidden(Path rel) {
        for (Path part : rel) if (part.toString().startsWith(".")) return true;
        return false;
    }

    private static Document document(Path p, String relative) {
        try {
            return new Document(p, relative, Files.size(p), Files.getLastModifiedTime(p).to(TimeUnit.NANOSECONDS));
        } catch (IOException e) {
            throw TextgenException.usage("cannot read " + p + ": " + e.getMessage());
        }
    }
}
