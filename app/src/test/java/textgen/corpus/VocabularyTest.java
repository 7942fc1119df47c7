package textgen.corpus;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** What the two kinds of vocabulary answer differently, asked through {@link Vocabulary}. */
class VocabularyTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Vocabulary CHARS = Vocabulary.of("ab\nc");
    private static final Vocabulary WORDS = new WordVocabulary(List.of("<unk>", "the", "\n"), true);

    @Test
    void jsonCodingIsTheCheckpointsAndRoundTrips() throws Exception {
        assertEquals("{\"type\":\"char\",\"codePoints\":[10,97,98,99]}", JSON.writeValueAsString(CHARS.toJson()));
        assertEquals("{\"type\":\"word\",\"lowercase\":true,\"tokens\":[\"<unk>\",\"the\",\"\\n\"]}", JSON.writeValueAsString(WORDS.toJson()));
        assertEquals(CHARS, Vocabulary.fromJson(CHARS.toJson()));
        assertEquals(WORDS, Vocabulary.fromJson(WORDS.toJson()));
    }

    @Test
    void fromJsonTellsAnotherKindFromBrokenContents() throws Exception {
        assertNull(Vocabulary.fromJson(JSON.readTree("{\"type\":\"bytes\"}")));
        assertNull(Vocabulary.fromJson(JSON.readTree("{\"type\":\"char\",\"codePoints\":[97]}")), "one character is no vocabulary");
        assertNull(Vocabulary.fromJson(JSON.readTree("[1, 2]")));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Vocabulary.fromJson(JSON.readTree("{\"type\":\"word\",\"lowercase\":false,\"tokens\":[\"<unk>\",3]}")));
        assertEquals("token 1 is not a string", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Vocabulary.fromJson(JSON.readTree("{\"type\":\"word\",\"tokens\":[\"<unk>\",\"a\"]}")));
        assertThrows(IllegalArgumentException.class, () -> Vocabulary.fromJson(JSON.readTree("{\"type\":\"char\",\"codePoints\":[98,97]}")));
    }

    @Test
    void onlyWordsAreLowercasedAndCappedForOneHotInput() {
        assertFalse(CHARS.lowercase());
        assertTrue(WORDS.lowercase());
        assertFalse(new WordVocabulary(List.of("<unk>", "The"), false).lowercase());
        assertEquals(Integer.MAX_VALUE, CHARS.maxOneHotSize());
        assertEquals(WordVocabulary.MAX_ONEHOT, WORDS.maxOneHotSize());
    }

    @Test
    void describeMissingListsCharactersWithoutAnIdAndNothingForWords() {
        assertNull(CHARS.describeMissing("cab\nba"));
        assertEquals("'é' (U+00E9), '\\t' (U+0009)", CHARS.describeMissing("abé\tcé"));
        assertNull(WORDS.describeMissing("words it never saw"), "words it lacks are read as <unk>");
    }
}
