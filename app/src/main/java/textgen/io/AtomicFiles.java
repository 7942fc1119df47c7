package textgen.io;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.CopyOption;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * Replaces files so that a reader, or a crash at any moment, sees either the old whole file or the new whole file:
 * the new content goes into a temporary sibling (same directory, so the rename never crosses file systems), is
 * flushed to disk, and is renamed over the target. Where the file system cannot rename atomically the rename still
 * replaces the target, without the guarantee. Temporary files are hidden ({@code .<name>.<hex>.tmp}), so that
 * {@link #isTemporary} can find what a crash left behind.
 */
public final class AtomicFiles {
    private AtomicFiles() {
    }

    /** Writes the new content into the (empty, existing) temporary file it is given. */
    @FunctionalInterface
    public interface Content {
        void writeTo(Path tmp) throws IOException;
    }

    /**
     * Replaces {@code target} with what {@code content} writes. On any failure the temporary file is removed, the
     * failure is rethrown and {@code target} is untouched.
     */
    public static void replace(Path target, Content content) throws IOException {
        Path tmp = temporarySibling(target);
        try {
            content.writeTo(tmp);
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                ch.force(true);
            }
            move(tmp, target);
        } catch (IOException | RuntimeException | Error e) {
            deleteQuietly(tmp);
            throw e;
        }
    }

    /** Makes {@code link} a hard link to {@code existing}, replacing it in one rename; fails where hard links are not supported. */
    public static void replaceWithLink(Path existing, Path link) throws IOException {
        Path tmp = temporaryName(link, 0);
        try {
            Files.createLink(tmp, existing);
            move(tmp, link);
        } catch (IOException | RuntimeException e) {
            deleteQuietly(tmp);
            throw e;
        }
    }

    /** Renames {@code from} over {@code to}: atomically where the file system can, else as a plain replacing move. */
    public static void move(Path from, Path to) throws IOException {
        move(from, to, Files::move);
    }

    /** {@link Files#move}, or (in tests) a file system's that cannot move atomically. */
    @FunctionalInterface
    interface Rename {
        void move(Path from, Path to, CopyOption... options) throws IOException;
    }

    static void move(Path from, Path to, Rename rename) throws IOException {
        try {
            rename.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            rename.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /** Whether {@code file} is named like the temporary files made here (left behind only by a crash mid-write). */
    public static boolean isTemporary(Path file) {
        String n = file.getFileName().toString();
        return n.startsWith(".") && n.endsWith(".tmp");
    }

    /**
     * A new empty file beside {@code target}, created with the usual permissions (Files.createTempFile would make it
     * owner-only).
     */
    static Path temporarySibling(Path target) throws IOException {
        for (int attempt = 0; ; attempt++) {
            try {
                return Files.createFile(temporaryName(target, attempt));
            } catch (FileAlreadyExistsException e) {
                if (attempt > 100) throw e;
            }
        }
    }

    private static Path temporaryName(Path target, int attempt) {
        Path dir = target.toAbsolutePath().getParent();
        return dir.resolve("." + target.getFileName() + "." + Long.toHexString(System.nanoTime() ^ attempt) + ".tmp");
    }

    private static void deleteQuietly(Path tmp) {
        try {
            Files.deleteIfExists(tmp);
        } catch (IOException ignored) {
            // the write already failed: that is what the caller reports
        }
    }
}
