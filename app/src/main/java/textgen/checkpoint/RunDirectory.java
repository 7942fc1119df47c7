package textgen.checkpoint;

import textgen.TextgenException;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** A training run's directory: effective config, latest and best checkpoints, samples. */
public final class RunDirectory {
    public static final String LATEST = "latest.zip";
    public static final String BEST = "best.zip";
    public static final String CONFIG = "config.yaml";

    private final Path dir;

    private RunDirectory(Path dir) {
        this.dir = dir;
    }

    /** Creates a new run directory; an existing one that already holds a run is refused, never overwritten. */
    public static RunDirectory create(Path dir) {
        if (Files.exists(dir) && !Files.isDirectory(dir))
            throw TextgenException.usage("run directory " + dir + " exists and is not a directory");
        if (Files.exists(dir.resolve(LATEST)) || Files.exists(dir.resolve(BEST)) || Files.exists(dir.resolve(CONFIG))) {
            throw TextgenException.usage("run directory " + dir + " already holds a run: choose another --run-dir (textgen never overwrites a run)");
        }
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw TextgenException.usage("cannot create run directory " + dir + ": " + e.getMessage());
        }
        if (!Files.isWritable(dir)) throw TextgenException.usage("run directory " + dir + " is not writable");
        return new RunDirectory(dir);
    }

    public Path path() {
        return dir;
    }

    public Path latest() {
        return dir.resolve(LATEST);
    }

    public Path best() {
        return dir.resolve(BEST);
    }

    /** Copies {@code from} over {@code to} through a temporary file, so {@code to} is always a whole file. */
    public void copyAtomically(Path from, Path to) {
        Path tmp = null;
        try {
            tmp = temporarySibling(to);
            Files.copy(from, tmp, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(tmp, java.nio.file.StandardOpenOption.WRITE)) {
                ch.force(true);
            }
            Files.move(tmp, to, java.nio.file.StandardCopyOption.ATOMIC_MOVE, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            try {
                if (tmp != null) Files.deleteIfExists(tmp);
            } catch (IOException ignored) {
                // the copy already failed; report that
            }
            throw TextgenException.runtime("could not write checkpoint " + to + ": " + e.getMessage()
                    + (Files.exists(to) ? " (the previous checkpoint there is intact)" : ""), e);
        }
    }

    /**
     * A new empty file beside {@code target} (same directory, so a rename onto {@code target} is atomic), created with
     * the usual permissions (Files.createTempFile would make it owner-only).
     */
    static Path temporarySibling(Path target) throws IOException {
        Path dir = target.toAbsolutePath().getParent();
        for (int attempt = 0; ; attempt++) {
            Path tmp = dir.resolve("." + target.getFileName() + "." + Long.toHexString(System.nanoTime() ^ attempt) + ".tmp");
            try {
                return Files.createFile(tmp);
            } catch (java.nio.file.FileAlreadyExistsException e) {
                if (attempt > 100) throw e;
            }
        }
    }

    public void writeText(String name, String text) {
        try {
            Files.writeString(dir.resolve(name), text, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw TextgenException.runtime("cannot write " + dir.resolve(name) + ": " + e.getMessage(), e);
        }
    }

    public void appendText(String name, String text) {
        try {
            Files.writeString(dir.resolve(name), text, StandardCharsets.UTF_8,
                    java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw TextgenException.runtime("cannot write " + dir.resolve(name) + ": " + e.getMessage(), e);
        }
    }
}
