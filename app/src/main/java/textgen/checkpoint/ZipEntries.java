package textgen.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import textgen.TextgenException;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;

/**
 * Reading and writing a checkpoint's zip entries, defensively: an entry is read up to a limit whatever its header
 * claims (a damaged size field cannot exhaust memory), and a Java-serialized entry is recognised before anything
 * deserializes it. Problems are one-line usage errors.
 */
final class ZipEntries {
    static final ObjectMapper JSON = new ObjectMapper();

    private ZipEntries() {
    }

    static void put(ZipOutputStream zip, String name, byte[] bytes) throws IOException {
        zip.putNextEntry(new ZipEntry(name));
        zip.write(bytes);
        zip.closeEntry();
    }

    /** Whether the entry starts with Java serialization's magic number. */
    static boolean isJavaSerialized(ZipFile zip, ZipEntry e) throws IOException {
        try (InputStream in = zip.getInputStream(e)) {
            byte[] head = in.readNBytes(2);
            return head.length == 2 && (head[0] & 0xff) == 0xAC && (head[1] & 0xff) == 0xED;
        }
    }

    static JsonNode readJson(ZipFile zip, String entry, String name) throws IOException {
        try {
            return JSON.readTree(readText(zip, entry));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw TextgenException.usage(name + ": " + entry + " is not valid JSON");
        }
    }

    static String readText(ZipFile zip, String entry) throws IOException {
        return new String(readBytes(zip, entry, 16 << 20), StandardCharsets.UTF_8);
    }

    /** An entry's bytes, at most {@code limit} whatever its header claims. */
    static byte[] readBytes(ZipFile zip, String entry, long limitBytes) throws IOException {
        ZipEntry e = zip.getEntry(entry);
        int limit = (int) Math.min(Integer.MAX_VALUE - 16, limitBytes);
        if (e.getSize() > limit) throw TextgenException.usage("entry " + entry + " is implausibly large");
        try (InputStream in = zip.getInputStream(e)) {
            byte[] bytes = in.readNBytes(limit);
            if (in.read() != -1) throw TextgenException.usage("entry " + entry + " is implausibly large");
            return bytes;
        }
    }
}
