package textgen.corpus;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import textgen.TextgenException;
import textgen.config.ConfigLoader;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class WordVocabularyTest {
    @TempDir
    Path dir;

    @Test
    void tokenizerSplitsWordsPunctuationAndLines() {
        assertEquals(List.of("Don't", ",", "O'Brien", "-", "it", "'", "s", "3", ".", "14", "!", "\n", "naïve", "café", "\n", "<unk>", "x", "<", "b", ">"),
                WordVocabulary.tokenize("Don't, O'Brien - it 's 3.14!\r\n  naïve\tcafé\n<unk>x <b>", false));
        assertEquals(List.of("the", "king", "'", "\n"), WordVocabulary.tokenize("The KING'\n", true));
        assertEquals(List.of("a", "b"), WordVocabulary.tokenize(" a\u00a0\u2003b ", false), "any Unicode space separates");
        assertEquals(List.of("e\u0301t\u00e9", "\uD835\uDC00"), WordVocabulary.tokenize("e\u0301t\u00e9 \uD835\uDC00", false),
                "combining marks stay in the word; a letter outside the BMP is a word");
    }

    @Test
    void vocabularyIsUnkThenMostFrequentCappedByMaxAndMinCount() {
        String text = "b a b c b a\nd <unk> a b";
        WordVocabulary all = WordVocabulary.build(text, false, 0, 1);
        assertEquals(List.of("<unk>", "b", "a", "\n", "c", "d"), all.tokens(), "counts 4, 3, then ties alphabetically");
        assertEquals(List.of("<unk>", "b", "a"), WordVocabulary.build(text, false, 3, 1).tokens());
        assertEquals(List.of("<unk>", "b", "a"), WordVocabulary.build(text, false, 0, 2).tokens());
        WordVocabulary capped = WordVocabulary.build(text, false, 3, 1);
        assertArrayEquals(new int[]{1, 2, 1, 0, 1, 2, 0, 0, 0, 2, 1}, capped.encode(text, UnknownPolicy.unk, "t"));
        TextgenException e = assertThrows(TextgenException.class, () -> WordVocabulary.build("a b c", false, 0, 2));
        assertTrue(e.getMessage().contains("corpus.minCount"), e.getMessage());
    }

    @Test
    void unknownWordsAreNamedSkippedOrReadAsUnk() {
        WordVocabulary v = WordVocabulary.build("the cat sat on the mat .\n", true, 0, 1);
        TextgenException e = assertThrows(TextgenException.class, () -> v.encode("The dog sat on the log", UnknownPolicy.error, "prime text"));
        assertTrue(e.getMessage().startsWith("prime text has 2 word(s) not in the model's vocabulary: 'dog', 'log'"), e.getMessage());
        assertEquals(4, v.encode("The dog sat on the log", UnknownPolicy.skip, "p").length);
        int[] ids = v.encode("The dog sat", UnknownPolicy.unk, "p");
        assertEquals(List.of("the", "<unk>", "sat"), List.of(v.token(ids[0]), v.token(ids[1]), v.token(ids[2])));
        assertEquals(6, v.count("The dog sat on the log"));
        TextgenException c = assertThrows(TextgenException.class, () -> Vocabulary.of("abc").encode("abd", UnknownPolicy.unk, "prime text"));
        assertTrue(c.getMessage().contains("word-level"), c.getMessage());
    }

    @Test
    void decodingJoinsWordsTheWayTextIsWritten() {
        WordVocabulary v = WordVocabulary.build("( Hello , world ) !\nNew line : yes .", false, 0, 1);
        int[] ids = v.encode("(Hello, world)!\nNew line: yes.", UnknownPolicy.error, "t");
        assertEquals("(Hello, world)!\nNew line: yes.", v.decode(ids, 0, ids.length));
    }

    @Test
    void corpusReadsWordsAndItsValidationFileMapsUnknownWordsToUnk() throws IOException {
        Path train = Files.writeString(dir.resolve("train.txt"), "the cat sat .\nthe dog sat .\n".repeat(5) + "a zebra\n");
        Path val = Files.writeString(dir.resolve("val.txt"), "the emu sat .\n");
        Path cfg = Files.writeString(dir.resolve("c.yaml"), """
                corpus:
                  path: train.txt
                  validationPath: val.txt
                  tokenizer: word
                  minCount: 2
                """);
        Corpus c = Corpus.load(ConfigLoader.load(cfg, List.of()).corpus());
        Vocabulary v = c.vocabulary();
        assertEquals(List.of("<unk>", "\n", ".", "sat", "the", "cat", "dog"), ((WordVocabulary) v).tokens());
        assertEquals(5 * 10 + 3, c.train().size());
        assertArrayEquals(v.encode("the <unk> sat .\n", UnknownPolicy.error, "v"), c.validation().toArray());
    }

    @Test
    void wordKeysAreRefusedForCharacterCorpora() throws IOException {
        Path cfg = Files.writeString(dir.resolve("c.yaml"), "corpus:\n  maxVocabulary: 100\n");
        TextgenException e = assertThrows(TextgenException.class, () -> ConfigLoader.load(cfg, List.of()));
        assertTrue(e.getMessage().contains("corpus.maxVocabulary applies to corpus.tokenizer word only") && e.getMessage().contains("c.yaml:2"),
                e.getMessage());
        TextgenException b = assertThrows(TextgenException.class, () -> ConfigLoader.load(null, List.of("corpus.tokenizer=word", "corpus.lowercase=yes")));
        assertTrue(b.getMessage().contains("corpus.lowercase 'yes' is not allowed: must be true or false"), b.getMessage());
    }
}
