package textgen.corpus;

import textgen.TextgenException;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.function.Consumer;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipException;

/**
 * Reads the documents of a corpus, in order, as one text streamed in pieces of about {@link #PIECE} characters:
 * strict UTF-8 (an invalid byte is an error naming the file and its byte offset, in the decompressed content for
 * {@code .gz}), a leading byte-order mark of each document dropped, and a line break inserted between two documents when the
 * first does not end with one. Pieces are cut just after a whitespace character (a piece is cut elsewhere only after
 * {@link #PIECE} characters without any), so no word token and no surrogate pair spans two pieces. The SHA-256 is over the
 * UTF-8 bytes of that joined text: for a single file without a byte-order mark, the SHA-256 of the file.
 */
final class TextStream {
    static final int PIECE = 1 << 16;

    /** What was read: the SHA-256 of the joined text, the files' sizes on disk, the text's code points. */
    record Stats(String sha256, int files, long bytes, long codePoints) {
    }

    private TextStream() {
    }

    static Stats read(CorpusFiles files, String what, Consumer<String> pieces) {
        MessageDigest sha;
        try {
            sha = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        Reader r = new Reader(sha, pieces);
        for (CorpusFiles.Document d : files.documents()) r.document(d, files.name(what, d));
        r.emit(r.pending.length());
        return new Stats(HexFormat.of().formatHex(sha.digest()), files.documents().size(), files.bytes(), r.codePoints);
    }

    private static final class Reader {
        final MessageDigest sha;
        final Consumer<String> pieces;
        final StringBuilder pending = new StringBuilder(2 * PIECE);
        final ByteBuffer in = ByteBuffer.allocate(PIECE);
        final CharBuffer out = CharBuffer.allocate(PIECE);
        final CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
        long codePoints;
        boolean open; // the text so far is non-empty and does not end with a line break
        boolean docStart;

        Reader(MessageDigest sha, Consumer<String> pieces) {
            this.sha = sha;
            this.pieces = pieces;
        }

        void document(CorpusFiles.Document d, String name) {
            if (open) {
                pending.append('\n');
                sha.update((byte) '\n');
                open = false;
            }
            decoder.reset();
            in.clear();
            docStart = true;
            long consumed = 0;
            try (InputStream raw = Files.newInputStream(d.path()); InputStream is = d.gzip() ? new GZIPInputStream(raw, PIECE) : raw) {
                boolean eof = false;
                while (!eof) {
                    int n = is.read(in.array(), in.position(), in.remaining());
                    if (n < 0) eof = true;
                    else in.position(in.position() + n);
                    in.flip();
                    while (true) {
                        int pre = in.position();
                        CoderResult res = decoder.decode(in, out, eof);
                        int from = pre;
                        if (consumed == 0 && in.position() - pre >= 3 && (in.get(pre) & 0xff) == 0xEF && (in.get(pre + 1) & 0xff) == 0xBB
                                && (in.get(pre + 2) & 0xff) == 0xBF) from += 3; // the byte-order mark is not text
                        sha.update(in.array(), from, in.position() - from);
                        consumed += in.position() - pre;
                        if (res.isError()) {
                            throw TextgenException.usage(name + " is not valid UTF-8: invalid byte 0x"
                                    + String.format("%02x", in.get(in.position()) & 0xff) + " at byte offset " + consumed
                                    + (d.gzip() ? " of its decompressed content" : ""));
                        }
                        drain();
                        if (!res.isOverflow()) break;
                    }
                    in.compact();
                }
                decoder.flush(out);
                drain();
            } catch (NoSuchFileException e) {
                throw TextgenException.usage(name + " does not exist");
            } catch (AccessDeniedException e) {
                throw TextgenException.usage(name + " is not readable (permission denied)");
            } catch (ZipException | EOFException e) {
                // an empty or cut-off file ends the stream early (EOFException, often without a message)
                String why = e instanceof EOFException ? "it ends early (empty or truncated)" : e.getMessage();
                throw TextgenException.usage(name + " is not valid gzip: " + why);
            } catch (IOException e) {
                throw TextgenException.usage("cannot read " + name + ": " + e.getMessage());
            }
        }

        /** Moves what the decoder wrote to the pending text, and passes on whole pieces. */
        void drain() {
            out.flip();
            if (docStart && out.hasRemaining()) {
                docStart = false;
                if (out.get(0) == '\uFEFF') out.get();
            }
            if (out.hasRemaining()) {
                open = out.get(out.limit() - 1) != '\n';
                pending.append(out);
            }
            out.clear();
            while (pending.length() >= PIECE) {
                int cut = pending.length();
                while (cut > 0 && !Character.isWhitespace(pending.charAt(cut - 1))) cut--;
                if (cut == 0) cut = Character.isHighSurrogate(pending.charAt(pending.length() - 1)) ? pending.length() - 1 : pending.length();
                emit(cut);
            }
        }

        void emit(int n) {
            if (n == 0) return;
            String piece = pending.substring(0, n);
            pending.delete(0, n);
            codePoints += piece.codePointCount(0, piece.length());
            pieces.accept(piece);
        }
    }
}
