package textgen.tensor;

import java.util.Arrays;

/**
 * A read-only sequence of token ids indexed by {@code long} positions: an array in memory ({@link #of}) or an encoded
 * corpus file read through memory maps. Readers copy windows into {@code int[]} buffers ({@link #copy}), never ask
 * element by element in a hot loop.
 */
public interface TokenIds {

    /** How many ids. */
    long size();

    /** Copies ids {@code [from, from+n)} into {@code into[offset ..]}. */
    void copy(long from, int[] into, int offset, int n);

    /** The ids {@code [from, to)} as a sequence of their own (sharing the storage). */
    TokenIds slice(long from, long to);

    /** The id at {@code i} (for tests and reports, not for hot loops). */
    default int get(long i) {
        int[] one = new int[1];
        copy(i, one, 0, 1);
        return one[0];
    }

    /** All ids in an array; refused past what an array holds. */
    default int[] toArray() {
        if (size() > Integer.MAX_VALUE - 8) throw new IllegalStateException(size() + " ids do not fit in an array");
        int[] out = new int[(int) size()];
        copy(0, out, 0, out.length);
        return out;
    }

    /** {@code ids} (not copied) as a sequence. */
    static TokenIds of(int[] ids) {
        return new ArrayIds(ids, 0, ids.length);
    }

    /** A window of an array. */
    record ArrayIds(int[] ids, int from, int to) implements TokenIds {
        @Override
        public long size() {
            return to - from;
        }

        @Override
        public void copy(long start, int[] into, int offset, int n) {
            if (start < 0 || start + n > size()) throw new IndexOutOfBoundsException("ids [" + start + ", " + (start + n) + ") of " + size());
            System.arraycopy(ids, from + (int) start, into, offset, n);
        }

        @Override
        public TokenIds slice(long start, long end) {
            if (start < 0 || end > size() || start > end) throw new IndexOutOfBoundsException("slice [" + start + ", " + end + ") of " + size());
            return new ArrayIds(ids, from + (int) start, from + (int) end);
        }

        @Override
        public int[] toArray() {
            return Arrays.copyOfRange(ids, from, to);
        }
    }
}
