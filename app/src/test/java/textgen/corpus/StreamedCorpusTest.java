package textgen.corpus;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import textgen.TextgenException;
import textgen.config.RunConfig;
import textgen.tensor.TokenIds;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.Random;
import java.util.stream.Stream;
import java.util.zip.GZIPOutputStream;

import static org.junit.jupiter.api.Assertions.*;

/** Corpora as folders, globs and gzip, read in pieces, encoded into a memory-mapped cache file. */
class StreamedCorpusTest {
    @TempDir
    Path dir;

    private CorpusCache cache() {
        return new CorpusCache(dir.resolve("cache"));
    }

    private static RunConfig.CorpusConfig config(String path, String tokenizer) {
        return RunConfig.defaults().with("corpus.path", path).with("corpus.validationFraction", 0.1).with("corpus.tokenizer", tokenizer).corpus();
    }

    private static String text(Corpus c) {
        int[] t = c.train().toArray(), v = c.validation().toArray();
        return c.vocabulary().decode(t, 0, t.length) + c.vocabulary().decode(v, 0, v.length);
    }

    private static void gzip(Path p, String text) throws IOException {
        try (OutputStream o = new GZIPOutputStream(Files.newOutputStream(p))) {
            o.write(text.getBytes(StandardCharsets.UTF_8));
        }
    }

    @Test
    void aFolderIsItsVisibleFilesInByteOrderJoinedByLineBreaks() throws IOException {
        Path f = Files.createDirectories(dir.resolve("docs"));
        Files.writeString(f.resolve("b.txt"), "world");
        Files.writeString(f.resolve("a.txt"), "\uFEFFhello"); // a byte-order mark is dropped
        Files.writeString(f.resolve("B.txt"), "upper\n"); // 'B' < 'a' < 'b' byte-wise
        gzip(Files.createDirectories(f.resolve("sub")).resolve("c.txt.gz"), "gz text\n");
        Files.writeString(Files.createDirectories(f.resolve(".git")).resolve("x.txt"), "hidden folder");
        Files.writeString(f.resolve(".hidden.txt"), "hidden file");
        Corpus c = Corpus.load(config(f.toString(), "char"), null, UnknownPolicy.error, cache());
        String joined = "upper\nhello\nworld\ngz text\n";
        assertEquals(joined, text(c));
        assertEquals(Corpus.sha256(joined), c.sha256());
        assertEquals(4, c.files());
        assertEquals(joined.length(), c.codePoints());
    }

    @Test
    void aGlobMatchesRelativePathsAndDoubleStarMatchesNoFolderToo() throws IOException {
        Path f = Files.createDirectories(dir.resolve("g"));
        Files.writeString(f.resolve("top.txt"), "top\n".repeat(3));
        Files.writeString(Files.createDirectories(f.resolve("x/y")).resolve("deep.txt"), "deep\n".repeat(3));
        Files.writeString(f.resolve("x/other.md"), "not matched\n");
        Corpus c = Corpus.load(config(f + "/**/*.txt", "char"), null, UnknownPolicy.error, cache());
        assertEquals("top\n".repeat(3) + "deep\n".repeat(3), text(c));
        TextgenException e = assertThrows(TextgenException.class, () -> Corpus.load(config(f + "/**/*.csv", "char"), null, UnknownPolicy.error, cache()));
        assertTrue(e.getMessage().contains("matches no file"), e.getMessage());
    }

    @Test
    void aSingleFileKeepsItsHashSoOldRunsResume() throws IOException {
        String t = "abc\u00e9\uD83D\uDE00 def\n".repeat(30);
        Path p = Files.writeString(dir.resolve("one.txt"), t);
        Corpus c = Corpus.load(config(p.toString(), "char"), null, UnknownPolicy.error, cache());
        assertEquals(Corpus.sha256(t), c.sha256());
        assertEquals(1, c.files());
        assertEquals(Files.size(p), c.bytes());
    }

    /** Pieces are cut at whitespace: streaming gives exactly the ids of encoding the whole text at once. */
    @Test
    void streamedIdsEqualWholeTextIds() throws IOException {
        Random r = new Random(5);
        String[] words = {"don't", "O'Brien", "<unk>", "caf\u00e9", "\uD83D\uDE00", "the", "a", ",", ".", "\r\n", "\n", "  ", "\t", "x1"};
        StringBuilder sb = new StringBuilder();
        while (sb.length() < 5 * TextStream.PIECE) sb.append(words[r.nextInt(words.length)]).append(r.nextInt(4) == 0 ? "" : " ");
        String t = sb.toString();
        Path p = Files.writeString(dir.resolve("big.txt"), t);
        for (String tok : new String[]{"char", "word"}) {
            Corpus c = Corpus.load(config(p.toString(), tok), null, UnknownPolicy.error, cache());
            Vocabulary whole = tok.equals("char") ? Vocabulary.of(t) : WordVocabulary.build(t, false, 0, 1);
            assertEquals(whole, c.vocabulary(), tok);
            int[] expected = whole.encode(t, whole.defaultUnknownPolicy(), "t");
            int[] got = new int[(int) (c.train().size() + c.validation().size())];
            c.train().copy(0, got, 0, (int) c.train().size());
            c.validation().copy(0, got, (int) c.train().size(), (int) c.validation().size());
            assertArrayEquals(expected, got, tok);
        }
    }

    @Test
    void invalidUtf8NamesTheFileOfAFolderAndItsOffset() throws IOException {
        Path f = Files.createDirectories(dir.resolve("bad"));
        Files.writeString(f.resolve("a.txt"), "fine text\n");
        Files.write(f.resolve("b.txt"), new byte[]{'o', 'k', ' ', 'x', (byte) 0xC3, 0x28});
        gzip(f.resolve("c.txt.gz"), "fine");
        TextgenException e = assertThrows(TextgenException.class, () -> Corpus.load(config(f.toString(), "char"), null, UnknownPolicy.error, cache()));
        assertTrue(e.getMessage().contains(f.resolve("b.txt") + " (folder " + f + ") is not valid UTF-8: invalid byte 0xc3 at byte offset 4"), e.getMessage());
        Files.write(f.resolve("b.txt"), new byte[]{'o', 'k', (byte) 0xE2, (byte) 0x82}); // truncated at the end
        e = assertThrows(TextgenException.class, () -> Corpus.load(config(f.toString(), "char"), null, UnknownPolicy.error, cache()));
        assertTrue(e.getMessage().contains("b.txt") && e.getMessage().contains("byte offset 2"), e.getMessage());
        assertFalse(Files.exists(dir.resolve("cache")) && hasTokens(dir.resolve("cache")), "nothing cached");
    }

    private static boolean hasTokens(Path cache) throws IOException {
        try (Stream<Path> s = Files.list(cache)) {
            return s.anyMatch(p -> p.toString().endsWith(".tokens"));
        }
    }

    @Test
    void theCacheIsReusedUntilTheTextChanges() throws IOException {
        Path p = Files.writeString(dir.resolve("c.txt"), "abcdefghij".repeat(10));
        Corpus first = Corpus.load(config(p.toString(), "char"), null, UnknownPolicy.error, cache());
        Path tokens;
        try (Stream<Path> s = Files.list(dir.resolve("cache"))) {
            tokens = s.filter(x -> x.toString().endsWith(".tokens")).findFirst().orElseThrow();
        }
        assertEquals(1, EncodedTokens.header(tokens).width());
        FileTime made = Files.getLastModifiedTime(tokens);
        Corpus again = Corpus.load(config(p.toString(), "char"), null, UnknownPolicy.error, cache());
        assertArrayEquals(first.train().toArray(), again.train().toArray());
        assertEquals(made, Files.getLastModifiedTime(tokens), "reused, not written again");
        // touched, same text: hashed again, same entry
        Files.setLastModifiedTime(p, FileTime.fromMillis(made.toMillis() + 60_000));
        assertEquals(first.sha256(), Corpus.load(config(p.toString(), "char"), null, UnknownPolicy.error, cache()).sha256());
        assertEquals(made, Files.getLastModifiedTime(tokens));
        // same size, other text: never the old ids
        Files.writeString(p, "jihgfedcba".repeat(10));
        Corpus changed = Corpus.load(config(p.toString(), "char"), null, UnknownPolicy.error, cache());
        assertNotEquals(first.sha256(), changed.sha256());
        assertEquals('j', changed.vocabulary().token(changed.train().get(0)).charAt(0));
    }

    @Test
    void encodedFilesUseTheNarrowestWidthAndOpenByRange() throws IOException {
        for (int vocab : new int[]{2, 256, 257, 65536, 65537, 1_114_112}) {
            int width = EncodedTokens.width(vocab);
            assertEquals(vocab <= 256 ? 1 : vocab <= 65536 ? 2 : 4, width);
            Path f = dir.resolve("ids-" + vocab);
            int[] ids = new int[1000];
            for (int i = 0; i < ids.length; i++) ids[i] = (int) ((i * 7919L) % vocab);
            try (EncodedTokens.Writer w = new EncodedTokens.Writer(f, vocab)) {
                w.add(ids);
                w.finish();
            }
            assertEquals(EncodedTokens.HEADER + 1000L * width, Files.size(f));
            assertArrayEquals(ids, EncodedTokens.open(f).toArray());
            TokenIds part = EncodedTokens.open(f, 300, 700);
            assertEquals(400, part.size());
            assertEquals(ids[300], part.get(0));
            assertArrayEquals(java.util.Arrays.copyOfRange(ids, 350, 360), part.slice(50, 60).toArray());
            // maps of 64 bytes: every window of 1..40 ids, from every start, crosses map boundaries
            EncodedTokens small = EncodedTokens.open(f, 3, 997, 6);
            for (int start = 0; start < 900; start += 7) {
                for (int n = 1; n <= 40; n += 13) {
                    int[] got = new int[n];
                    small.copy(start, got, 0, n);
                    assertArrayEquals(java.util.Arrays.copyOfRange(ids, 3 + start, 3 + start + n), got, "start " + start + " n " + n);
                }
            }
            assertArrayEquals(java.util.Arrays.copyOfRange(ids, 503, 553), small.slice(500, 550).toArray());
        }
    }

    /** --init-from and --resume: a folder read with a checkpoint's vocabulary, unknown tokens by policy, listed over all files. */
    @Test
    void aFixedVocabularyReadsAFolder() throws IOException {
        Path f = Files.createDirectories(dir.resolve("fixed"));
        Files.writeString(f.resolve("1.txt"), "abcabcabcabc\nabcabc");
        Files.writeString(f.resolve("2.txt"), "cbaxcbaycba\n");
        Vocabulary v = Vocabulary.of("abc\n");
        Corpus c = Corpus.load(config(f.toString(), "char"), v, UnknownPolicy.skip, cache());
        assertEquals("abcabcabcabc\nabcabc\ncbacbacba\n", text(c));
        TextgenException e = assertThrows(TextgenException.class, () -> Corpus.load(config(f.toString(), "char"), v, UnknownPolicy.error, cache()));
        assertTrue(e.getMessage().contains("2 character(s)") && e.getMessage().contains("'x' (U+0078), 'y' (U+0079)"), e.getMessage());
    }
}
