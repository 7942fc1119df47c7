package textgen.spark;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import textgen.corpus.EncodedTokens;
import textgen.tensor.TokenIds;

import java.io.Closeable;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Ids {@code [first, end)} of an encoded corpus ({@link EncodedTokens}' format) on any Hadoop FileSystem (file://,
 * hdfs://, s3a:// where its connector is on the class path), read by positioned reads of just the windows asked for:
 * a Spark worker reads its own streams' bytes and nothing else.
 */
final class HadoopTokenIds implements TokenIds, Closeable {
    private final FSDataInputStream in;
    private final int width;
    private final long first, end;

    private HadoopTokenIds(FSDataInputStream in, int width, long first, long end) {
        this.in = in;
        this.width = width;
        this.first = first;
        this.end = end;
    }

    /** Opens {@code uri} and checks its header; ids {@code [first, end)} must be in it. */
    static HadoopTokenIds open(String uri, long first, long end) throws IOException {
        Path path = new Path(uri);
        FileSystem fs = path.getFileSystem(new Configuration());
        long size = fs.getFileStatus(path).getLen();
        FSDataInputStream in = fs.open(path);
        try {
            byte[] h = new byte[EncodedTokens.HEADER];
            in.readFully(0, h);
            EncodedTokens.Header header = EncodedTokens.header(ByteBuffer.wrap(h), uri, size);
            if (first < 0 || end > header.count() || first > end)
                throw new IOException(uri + " holds " + header.count() + " ids, not ids [" + first + ", " + end + ")");
            return new HadoopTokenIds(in, header.width(), first, end);
        } catch (IOException | RuntimeException e) {
            in.close();
            throw e;
        }
    }

    @Override
    public long size() {
        return end - first;
    }

    @Override
    public void copy(long from, int[] into, int offset, int n) {
        if (from < 0 || n < 0 || from + n > size()) throw new IndexOutOfBoundsException("ids [" + from + ", " + (from + n) + ") of " + size());
        byte[] bytes = new byte[n * width];
        try {
            in.readFully(EncodedTokens.HEADER + (first + from) * width, bytes);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        EncodedTokens.decode(ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN), 0, width, into, offset, n);
    }

    @Override
    public TokenIds slice(long from, long to) {
        if (from < 0 || to > size() || from > to) throw new IndexOutOfBoundsException("slice [" + from + ", " + to + ") of " + size());
        return new HadoopTokenIds(in, width, first + from, first + to);
    }

    @Override
    public void close() throws IOException {
        in.close();
    }
}
