package textgen.corpus;

import textgen.tensor.TokenIds;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A corpus's token ids on disk, read through memory maps. The format, little-endian:
 * <pre>
 * bytes 0..7    "TGTOKENS"
 * bytes 8..11   format version (1)
 * bytes 12..15  width: bytes per id, 1, 2 or 4 (the narrowest that holds every id of the vocabulary)
 * bytes 16..23  count: number of ids
 * bytes 24..27  vocabulary size
 * bytes 28..31  reserved (0)
 * bytes 32..    the ids, id i at 32 + i * width
 * </pre>
 * Any range of ids is at a known byte range, so a reader (a worker of a sharded run) can map its own part without
 * reading the rest ({@link #open(Path, long, long)}). Files of any length are mapped in pieces of at most 1 GiB.
 */
public final class EncodedTokens implements TokenIds {
    static final byte[] MAGIC = "TGTOKENS".getBytes(StandardCharsets.US_ASCII);
    /** Bytes before the first id. */
    public static final int HEADER = 32;
    private static final int CHUNK_SHIFT = 30;

    private final int shift; // pieces of 2^shift bytes: 30 (1 GiB), smaller in tests

    private final MappedByteBuffer[] chunks; // chunk c holds bytes [c << 30, ...) of the id area, from the first id mapped
    private final int width;
    private final long from, to; // the ids of the file this instance reads, [from, to)
    private final long mappedFrom;
    private final Path file;

    private EncodedTokens(Path file, MappedByteBuffer[] chunks, int shift, int width, long mappedFrom, long from, long to) {
        this.file = file;
        this.chunks = chunks;
        this.shift = shift;
        this.width = width;
        this.mappedFrom = mappedFrom;
        this.from = from;
        this.to = to;
    }

    /** The width that holds ids 0 .. vocabularySize-1. */
    public static int width(int vocabularySize) {
        return vocabularySize <= 1 << 8 ? 1 : vocabularySize <= 1 << 16 ? 2 : 4;
    }

    /** The header of an encoded file: width, id count and vocabulary size. */
    public record Header(int width, long count, int vocabularySize) {
    }

    public static Header header(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            return header(ch, file);
        }
    }

    private static Header header(FileChannel ch, Path file) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(HEADER);
        while (b.hasRemaining() && ch.read(b, b.position()) > 0) {
            // read the whole header
        }
        b.flip();
        return header(b, file.toString(), ch.size());
    }

    /** The header in {@code b} (the file's first bytes) of {@code name}, a file of {@code size} bytes, checked. */
    public static Header header(ByteBuffer b, String name, long size) throws IOException {
        b.order(ByteOrder.LITTLE_ENDIAN);
        byte[] magic = new byte[MAGIC.length];
        if (b.remaining() < HEADER) throw new IOException(name + " is not an encoded corpus (too short)");
        b.get(magic);
        if (!java.util.Arrays.equals(magic, MAGIC) || b.getInt() != 1) throw new IOException(name + " is not an encoded corpus (version 1)");
        Header h = new Header(b.getInt(), b.getLong(), b.getInt());
        if (h.width != 1 && h.width != 2 && h.width != 4 || h.count < 0 || HEADER + h.count * h.width != size)
            throw new IOException(name + " is damaged: its header does not match its size");
        return h;
    }

    /** All ids of {@code file}. */
    public static EncodedTokens open(Path file) throws IOException {
        return open(file, 0, -1);
    }

    /** Ids {@code [first, end)} of {@code file} (end -1: to the last), mapping only their bytes. */
    public static EncodedTokens open(Path file, long first, long end) throws IOException {
        return open(file, first, end, CHUNK_SHIFT);
    }

    /** With maps of 2^shift bytes (a multiple of 4), so that tests can cross map boundaries on small files. */
    static EncodedTokens open(Path file, long first, long end, int shift) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            Header h = header(ch, file);
            long last = end < 0 ? h.count : end;
            if (first < 0 || last > h.count || first > last) throw new IndexOutOfBoundsException("ids [" + first + ", " + last + ") of " + h.count);
            long bytes = (last - first) * h.width;
            int n = (int) ((bytes + (1L << shift) - 1) >>> shift);
            MappedByteBuffer[] chunks = new MappedByteBuffer[Math.max(n, 1)];
            for (int c = 0; c < n; c++) {
                long off = (long) c << shift;
                chunks[c] = ch.map(FileChannel.MapMode.READ_ONLY, HEADER + first * h.width + off, Math.min(1L << shift, bytes - off));
                chunks[c].order(ByteOrder.LITTLE_ENDIAN);
            }
            if (n == 0) chunks[0] = ch.map(FileChannel.MapMode.READ_ONLY, HEADER, 0);
            return new EncodedTokens(file, chunks, shift, h.width, first, first, last);
        }
    }

    public int width() {
        return width;
    }

    /** The file these ids are in. */
    public Path file() {
        return file;
    }

    /** The position in {@link #file} of this sequence's first id (ids before it belong to other slices). */
    public long first() {
        return from;
    }

    /** Decodes {@code n} ids of {@code width} bytes from {@code b} (little-endian) at byte {@code at} into {@code into[offset ..]}. */
    public static void decode(ByteBuffer b, int at, int width, int[] into, int offset, int n) {
        switch (width) {
            case 1 -> {
                for (int i = 0; i < n; i++) into[offset + i] = b.get(at + i) & 0xff;
            }
            case 2 -> {
                for (int i = 0; i < n; i++) into[offset + i] = b.getShort(at + 2 * i) & 0xffff;
            }
            default -> {
                for (int i = 0; i < n; i++) into[offset + i] = b.getInt(at + 4 * i);
            }
        }
    }

    @Override
    public long size() {
        return to - from;
    }

    @Override
    public void copy(long start, int[] into, int offset, int n) {
        if (start < 0 || n < 0 || start + n > size()) throw new IndexOutOfBoundsException("ids [" + start + ", " + (start + n) + ") of " + size());
        long byteAt = (from - mappedFrom + start) * width;
        int done = 0;
        while (done < n) {
            MappedByteBuffer b = chunks[(int) (byteAt >>> shift)];
            int at = (int) (byteAt & ((1L << shift) - 1));
            int k = Math.min(n - done, (b.limit() - at) / width);
            decode(b, at, width, into, offset + done, k);
            done += k;
            byteAt += (long) k * width;
        }
    }

    @Override
    public TokenIds slice(long start, long end) {
        if (start < 0 || end > size() || start > end) throw new IndexOutOfBoundsException("slice [" + start + ", " + end + ") of " + size());
        return new EncodedTokens(file, chunks, shift, width, mappedFrom, from + start, from + end);
    }

    /** Writes ids to a new file in the format above: {@link #add} each id, then {@link #finish}. */
    static final class Writer implements AutoCloseable {
        private final FileChannel channel;
        private final OutputStream out;
        private final byte[] buffer = new byte[1 << 16];
        private final int width;
        private final int vocabularySize;
        private long count;

        Writer(Path file, int vocabularySize) throws IOException {
            this.channel = FileChannel.open(file, StandardOpenOption.WRITE, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING);
            this.width = width(vocabularySize);
            this.vocabularySize = vocabularySize;
            channel.write(ByteBuffer.allocate(HEADER)); // filled in by finish
            this.out = new BufferedOutputStream(Channels.newOutputStream(channel), 1 << 20);
        }

        void add(int[] ids) throws IOException {
            int n = 0;
            for (int id : ids) {
                if (n + width > buffer.length) {
                    out.write(buffer, 0, n);
                    n = 0;
                }
                buffer[n++] = (byte) id;
                if (width >= 2) buffer[n++] = (byte) (id >>> 8);
                if (width == 4) {
                    buffer[n++] = (byte) (id >>> 16);
                    buffer[n++] = (byte) (id >>> 24);
                }
            }
            out.write(buffer, 0, n);
            count += ids.length;
        }

        long count() {
            return count;
        }

        void finish() throws IOException {
            out.flush();
            ByteBuffer h = ByteBuffer.allocate(HEADER).order(ByteOrder.LITTLE_ENDIAN);
            h.put(MAGIC).putInt(1).putInt(width).putLong(count).putInt(vocabularySize).putInt(0).flip();
            channel.write(h, 0);
            channel.force(true);
        }

        @Override
        public void close() throws IOException {
            channel.close();
        }
    }
}
