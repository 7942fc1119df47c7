package textgen.checkpoint;

import textgen.TextgenException;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One process's exclusive claim on a run directory, so that two trainers never write into the same run: an OS lock
 * ({@link FileChannel#tryLock}) on {@code RUN_DIR/.lock}, whose text names the holder (pid, host, since when) for the
 * message that refuses a second one. The OS drops the lock when the process ends, however it ends (kill -9 too), so a
 * lock left by a dead process never blocks; the file stays (deleting it would let a waiting process lock the deleted
 * file while a third creates and locks a new one).
 * <p>
 * Two Java rules shape this class. OS locks belong to the whole JVM: a second tryLock there throws
 * OverlappingFileLockException instead of failing, so the directories this JVM holds are also kept in {@link #HELD}
 * (the one piece of static state: it mirrors the OS's per-process table), and that is checked first. On Linux,
 * closing any channel of a file drops the process's locks on it: while it is held, the lock file is written only
 * through the holding channel and never opened again by this JVM.
 */
final class RunLock implements AutoCloseable {
    static final String FILE = ".lock";
    /** The run directories this JVM holds (real paths), with their holder text. */
    private static final Map<Path, String> HELD = new ConcurrentHashMap<>();

    private final Path key;
    private final FileChannel channel;
    private boolean closed;

    private RunLock(Path key, FileChannel channel) {
        this.key = key;
        this.channel = channel;
    }

    /** Locks the existing directory {@code dir}, or refuses (exit 2) naming the holder when another run holds it. */
    static RunLock acquire(Path dir) {
        Path key;
        try {
            key = dir.toRealPath();
        } catch (IOException e) {
            throw TextgenException.usage("cannot lock run directory " + dir + ": " + e.getMessage());
        }
        String me = "pid " + ProcessHandle.current().pid() + " on " + host() + " since " + Instant.now().truncatedTo(ChronoUnit.SECONDS);
        String other = HELD.putIfAbsent(key, me);
        if (other != null) throw inUse(dir, other);
        FileChannel channel = null;
        try {
            channel = FileChannel.open(dir.resolve(FILE), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            FileLock lock = channel.tryLock();
            if (lock == null) {
                channel.close(); // this process holds no lock on the file: closing drops nothing
                channel = null;
                throw inUse(dir, holder(dir));
            }
            channel.truncate(0);
            channel.write(ByteBuffer.wrap((me + "\n").getBytes(StandardCharsets.UTF_8)));
            return new RunLock(key, channel);
        } catch (IOException | RuntimeException e) {
            closeQuietly(channel);
            HELD.remove(key);
            if (e instanceof TextgenException te) throw te;
            throw TextgenException.usage("cannot lock run directory " + dir + " (" + dir.resolve(FILE) + "): " + e.getMessage(), e);
        }
    }

    private static TextgenException inUse(Path dir, String holder) {
        return TextgenException.usage("run directory " + dir + " is in use by another textgen train (" + holder
                + "): wait until it ends, or stop it (it saves a checkpoint when signalled)");
    }

    /** The holder's text, read afresh (only ever when this process failed to lock the file, so it holds no lock on it). */
    private static String holder(Path dir) {
        try {
            String text = Files.readString(dir.resolve(FILE), StandardCharsets.UTF_8).strip();
            return text.isEmpty() ? "it has not said which yet" : text;
        } catch (IOException e) {
            return "which one is unknown: " + e.getMessage();
        }
    }

    private static String host() {
        try {
            return java.net.InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            return "an unknown host";
        }
    }

    private static void closeQuietly(FileChannel channel) {
        try {
            if (channel != null) channel.close();
        } catch (IOException ignored) {
            // closing is all that is left to do; the OS drops the lock with the process anyway
        }
    }

    /** Releases the lock (closing the channel releases it); the file and its text stay. */
    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        closeQuietly(channel);
        HELD.remove(key); // after the OS lock is gone: another run in this JVM may lock it now
    }
}
