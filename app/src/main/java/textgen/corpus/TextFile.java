package textgen.corpus;

import textgen.TextgenException;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/** Reads a text file as strict UTF-8; invalid bytes are an error that names the file and the byte offset. */
public final class TextFile {
    private TextFile() {
    }

    /** @param what what the file is for, e.g. "corpus" or "text", used in messages */
    public static String read(Path path, String what) {
        if (Files.isDirectory(path)) throw TextgenException.usage(what + " " + path + " is a directory, not a text file");
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(path);
        } catch (NoSuchFileException e) {
            throw TextgenException.usage(what + " " + path + " does not exist");
        } catch (AccessDeniedException e) {
            throw TextgenException.usage(what + " " + path + " is not readable (permission denied)");
        } catch (IOException e) {
            throw TextgenException.usage("cannot read " + what + " " + path + ": " + e.getMessage());
        } catch (OutOfMemoryError e) {
            throw TextgenException.usage(what + " " + path + " is too large to load into memory");
        }
        return decode(bytes, what + " " + path);
    }

    static String decode(byte[] bytes, String name) {
        CharsetDecoder dec = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(bytes);
        CharBuffer out = CharBuffer.allocate((int) Math.min(Integer.MAX_VALUE - 8, (long) bytes.length + 1));
        CoderResult r = dec.decode(in, out, true);
        if (r.isError()) {
            throw TextgenException.usage(name + " is not valid UTF-8: invalid byte 0x"
                    + String.format("%02x", bytes[in.position()] & 0xff) + " at byte offset " + in.position());
        }
        dec.flush(out);
        out.flip();
        String s = out.toString();
        // A leading byte-order mark is an encoding marker, not text.
        return s.startsWith("\uFEFF") ? s.substring(1) : s;
    }
}
