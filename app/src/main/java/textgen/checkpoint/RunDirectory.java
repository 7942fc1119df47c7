package textgen.checkpoint;

import textgen.TextgenException;
import textgen.io.AtomicFiles;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A training run's directory: the effective config, checkpoints and samples. Each checkpoint is written once as
 * {@code iter-<iteration>[-val<loss>].zip}; {@code latest.zip} and {@code best.zip} are links to (or, where links are
 * not supported, copies of) the newest and the best one; {@code checkpoints.json} lists them. The last
 * {@code training.keepLast} checkpoints and the best one are kept, older ones deleted. Every file is replaced
 * atomically, so a crash at any moment leaves whole checkpoints, and readers (sample, perplexity, inspect, plot) need
 * no lock. A RunDirectory is its run's one writer: it holds the directory's lock ({@link RunLock}, {@code .lock}) from
 * {@link #create} or {@link #open} until {@link #close}, and another process or run asking for it is refused.
 */
public final class RunDirectory implements AutoCloseable {
    public static final String LATEST = "latest.zip";
    public static final String BEST = "best.zip";
    public static final String CONFIG = "config.yaml";
    public static final String INDEX = "checkpoints.json";
    private static final com.fasterxml.jackson.databind.ObjectMapper JSON = new com.fasterxml.jackson.databind.ObjectMapper();

    /** One line of the index. */
    public record Entry(String file, long iteration, double epochs, double valLoss, String time) {
    }

    /** The index: checkpoints oldest first, the best one's file (null if none has a validation loss). */
    public record Index(java.util.List<Entry> checkpoints, String best) {
    }

    private final Path dir;
    private final RunLock lock;

    private RunDirectory(Path dir, RunLock lock) {
        this.dir = dir;
        this.lock = lock;
    }

    /** The default directory of a new run: {@code runs/<name>-<yyyyMMdd-HHmmss>}. */
    public static Path defaultPath(String name) {
        return Path.of("runs", name + "-" + java.time.LocalDateTime.now().format(java.time.format.DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
    }

    /**
     * Creates a new run directory and locks it; one in use by another run, or that already holds a run, is refused,
     * never overwritten.
     */
    public static RunDirectory create(Path dir) {
        if (Files.exists(dir) && !Files.isDirectory(dir))
            throw TextgenException.usage("run directory " + dir + " exists and is not a directory");
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw TextgenException.usage("cannot create run directory " + dir + ": " + e.getMessage());
        }
        if (!Files.isWritable(dir)) throw TextgenException.usage("run directory " + dir + " is not writable");
        return locked(dir, () -> {
            if (Files.exists(dir.resolve(LATEST)) || Files.exists(dir.resolve(BEST)) || Files.exists(dir.resolve(CONFIG))) {
                throw TextgenException.usage("run directory " + dir + " already holds a run: choose another --run-dir (textgen never overwrites a run)");
            }
        });
    }

    /**
     * An existing run directory, to resume, locked before anything else is looked at: it must hold latest.zip.
     * Temporary files of a save that a crash interrupted are deleted (only now that no other run can be writing them).
     */
    public static RunDirectory open(Path dir) {
        if (!Files.isDirectory(dir)) throw TextgenException.usage("--resume " + dir + ": no such run directory");
        if (!Files.isWritable(dir)) throw TextgenException.usage("--resume " + dir + ": run directory is not writable");
        return locked(dir, () -> {
            if (!Files.isRegularFile(dir.resolve(LATEST)))
                throw TextgenException.usage("--resume " + dir + ": no " + LATEST + " in it (not a run directory, or no checkpoint was written yet)");
            // temporary files of a save that a crash interrupted (the lock says no live writer owns them): never a
            // checkpoint, safe to delete
            try (var files = Files.list(dir)) {
                for (Path p : (Iterable<Path>) files::iterator) {
                    if (AtomicFiles.isTemporary(p)) Files.deleteIfExists(p);
                }
            } catch (IOException e) {
                throw TextgenException.usage("--resume " + dir + ": cannot list the run directory: " + e.getMessage());
            }
        });
    }

    /** Locks {@code dir}, then runs {@code check}; when it fails the lock is released again. */
    private static RunDirectory locked(Path dir, Runnable check) {
        RunLock lock = RunLock.acquire(dir);
        try {
            check.run();
            return new RunDirectory(dir, lock);
        } catch (RuntimeException e) {
            lock.close();
            throw e;
        }
    }

    /** Releases the run directory's lock: another run may write into it from now on. */
    @Override
    public void close() {
        lock.close();
    }

    /** The index of a run directory (empty when it has none, e.g. a run from before there were indexes). */
    public static Index readIndex(Path dir) {
        Path p = dir.resolve(INDEX);
        if (!Files.isRegularFile(p)) return new Index(new java.util.ArrayList<>(), null);
        try {
            Index index = JSON.readValue(p.toFile(), Index.class);
            return new Index(new java.util.ArrayList<>(index.checkpoints() == null ? java.util.List.of() : index.checkpoints()), index.best());
        } catch (IOException e) {
            throw TextgenException.usage(p + " is not a valid checkpoint index: " + e.getMessage().lines().findFirst().orElse(""));
        }
    }

    /** File name of a checkpoint: iteration and (when evaluated) validation loss. */
    static String checkpointName(long iteration, double valLoss) {
        return String.format(java.util.Locale.ROOT, "iter-%08d", iteration)
                + (Double.isNaN(valLoss) ? "" : String.format(java.util.Locale.ROOT, "-val%.4f", valLoss)) + ".zip";
    }

    /**
     * Records a checkpoint written by {@code writer} (given the path to write atomically): updates the index, makes it
     * latest (and best), then deletes checkpoints beyond the last {@code keepLast} that are not the best.
     */
    public Path saveCheckpoint(long iteration, double epochs, double valLoss, boolean best, int keepLast,
                               java.util.function.Consumer<Path> writer) {
        String name = checkpointName(iteration, valLoss);
        Path file = dir.resolve(name);
        writer.accept(file);
        // the index first, then the links: a crash between them leaves latest.zip one checkpoint behind, never dangling
        Index old = readIndex(dir);
        java.util.List<Entry> list = new java.util.ArrayList<>(old.checkpoints());
        String bestFile = best ? name : old.best();
        java.util.List<Entry> kept = new java.util.ArrayList<>();
        java.util.List<Entry> dropped = new java.util.ArrayList<>();
        // a checkpoint of the same iteration (a time-based one, then the final evaluation) is replaced
        list.removeIf(e -> e.iteration() == iteration && !e.file().equals(name) && !e.file().equals(bestFile) && dropped.add(e));
        list.removeIf(e -> e.file().equals(name));
        list.add(new Entry(name, iteration, epochs, valLoss, java.time.Instant.now().toString()));
        for (int i = 0; i < list.size(); i++) {
            Entry e = list.get(i);
            if (i >= list.size() - keepLast || e.file().equals(bestFile)) kept.add(e);
            else dropped.add(e);
        }
        writeAtomically(INDEX, json(new Index(kept, bestFile)));
        linkAtomically(file, latest());
        if (best) linkAtomically(file, best());
        delete(dropped);
        return file;
    }

    /**
     * The newest checkpoint listed with an iteration below {@code before} (Long.MAX_VALUE: the newest of all), or null.
     * Used by the divergence guard to step back further when the latest checkpoint diverges again.
     */
    public Path checkpointBefore(long before) {
        Entry found = null;
        for (Entry e : readIndex(dir).checkpoints()) {
            if (e.iteration() < before && Files.isRegularFile(dir.resolve(e.file())) && (found == null || e.iteration() > found.iteration()))
                found = e;
        }
        if (found == null) return before == Long.MAX_VALUE && Files.isRegularFile(latest()) ? latest() : null;
        return dir.resolve(found.file());
    }

    /** After a rollback to {@code iteration}: forget the checkpoints after it (the best one stays) and point latest.zip at {@code to}. */
    public void discardAfter(long iteration, Path to) {
        Index old = readIndex(dir);
        java.util.List<Entry> kept = new java.util.ArrayList<>();
        java.util.List<Entry> dropped = new java.util.ArrayList<>();
        for (Entry e : old.checkpoints()) (e.iteration() <= iteration || e.file().equals(old.best()) ? kept : dropped).add(e);
        writeAtomically(INDEX, json(new Index(kept, old.best())));
        if (to != null) linkAtomically(to, latest());
        delete(dropped);
    }

    /** Deletes checkpoints the index no longer lists; one left behind is harmless. */
    private void delete(java.util.List<Entry> entries) {
        for (Entry e : entries) {
            try {
                Files.deleteIfExists(dir.resolve(e.file()));
            } catch (IOException ex) {
                // not listed any more: harmless
            }
        }
    }

    private static byte[] json(Object o) {
        try {
            return JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(o);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Points {@code link} at {@code target}'s content: a hard link renamed into place, or an atomic copy. */
    void linkAtomically(Path target, Path link) {
        try {
            AtomicFiles.replaceWithLink(target, link);
        } catch (IOException | UnsupportedOperationException e) {
            copyAtomically(target, link);
        }
    }

    /** Writes a small file through a temporary file and a rename. */
    public void writeAtomically(String name, byte[] content) {
        replaceAtomically(dir.resolve(name), "file", tmp -> Files.write(tmp, content));
    }

    /**
     * Replaces {@code to} with what {@code content} writes ({@link AtomicFiles#replace}): {@code to} is always a whole
     * file. On failure {@code to} is untouched.
     */
    private static void replaceAtomically(Path to, String what, AtomicFiles.Content content) {
        try {
            AtomicFiles.replace(to, content);
        } catch (IOException e) {
            throw TextgenException.runtime("could not write " + to + ": " + e.getMessage()
                    + (Files.exists(to) ? " (the previous " + what + " there is intact)" : ""), e);
        }
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
        replaceAtomically(to, "checkpoint", tmp -> Files.copy(from, tmp, java.nio.file.StandardCopyOption.REPLACE_EXISTING));
    }

    public void writeText(String name, String text) {
        try {
            Files.writeString(dir.resolve(name), text, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw TextgenException.runtime("cannot write " + dir.resolve(name) + ": " + e.getMessage(), e);
        }
    }

    /** Deletes the file {@code name} of this run directory, if it is there. */
    public void delete(String name) {
        try {
            Files.deleteIfExists(dir.resolve(name));
        } catch (IOException e) {
            throw TextgenException.runtime("cannot delete " + dir.resolve(name) + ": " + e.getMessage(), e);
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
