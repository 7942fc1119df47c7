package textgen.corpus;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.dataset.DataSet;
import textgen.TextgenException;
import textgen.config.RunConfig;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

class CorpusTest {
    private static RunConfig.CorpusConfig corpus(String path, double validationFraction) {
        return RunConfig.defaults().with("corpus.path", path).with("corpus.validationFraction", validationFraction).corpus();
    }

    @TempDir
    Path dir;

    @Test
    void vocabularyIsCodePointsNotChars() {
        String text = "a\uD83D\uDE00b\u00e9a"; // a, U+1F600 (two Java chars), b, é, a
        CharVocabulary v = Vocabulary.of(text);
        assertEquals(4, v.size());
        int[] ids = v.encode(text, false, "t");
        assertEquals(5, ids.length);
        assertEquals(text, v.decode(ids, 0, ids.length));
        assertEquals(0x1F600, v.codePoint(v.id(0x1F600)));
    }

    @Test
    void unknownCharactersAreNamedOrSkipped() {
        Vocabulary v = Vocabulary.of("abc");
        TextgenException e = assertThrows(TextgenException.class, () -> v.encode("abxz\n", false, "prime text"));
        assertTrue(e.getMessage().contains("'x' (U+0078)") && e.getMessage().contains("'\\n' (U+000A)"), e.getMessage());
        assertArrayEquals(new int[]{0, 1}, v.encode("axb", true, "prime text"));
    }

    @Test
    void invalidUtf8NamesByteOffset() throws IOException {
        Path p = dir.resolve("bad.txt");
        Files.write(p, new byte[]{'h', 'i', ' ', (byte) 0xC3, 0x28, 'x'});
        TextgenException e = assertThrows(TextgenException.class, () -> TextFile.read(p, "corpus"));
        assertTrue(e.getMessage().contains("byte offset 3") && e.getMessage().contains("0xc3"), e.getMessage());
    }

    @Test
    void splitHoldsOutTheLastFraction() throws IOException {
        Path p = dir.resolve("c.txt");
        Files.writeString(p, "abcdefghij".repeat(10));
        Corpus c = Corpus.load(corpus(p.toString(), 0.2));
        assertEquals(80, c.train().size());
        assertEquals(20, c.validation().size());
        assertEquals(10, c.vocabulary().size());
    }

    @Test
    void degenerateCorporaAreUsageErrors() throws IOException {
        Path empty = Files.writeString(dir.resolve("e.txt"), "");
        Path single = Files.writeString(dir.resolve("s.txt"), "aaaaaaaaaa");
        assertTrue(assertThrows(TextgenException.class, () -> Corpus.load(corpus(empty.toString(), 0.1)))
                .getMessage().contains("is empty"));
        assertTrue(assertThrows(TextgenException.class, () -> Corpus.load(corpus(single.toString(), 0.1)))
                .getMessage().contains("single distinct character"));
        Path none = Files.createDirectories(dir.resolve("none"));
        Files.writeString(none.resolve(".hidden.txt"), "hidden files are skipped");
        assertTrue(assertThrows(TextgenException.class, () -> Corpus.load(corpus(none.toString(), 0.1)))
                .getMessage().contains("holds no files"));
    }

    @Test
    void consecutiveBatchesContinueEachRow() {
        int[] ids = new int[1001];
        for (int i = 0; i < ids.length; i++) ids[i] = i % 7;
        BatchSource s = new BatchSource(ids, 7, 4, 10, RunConfig.Sampling.CONSECUTIVE, 1);
        assertEquals(25, s.batchesPerEpoch()); // streams of 250, 25 windows of 10
        DataSet b0 = s.batch(0, 0);
        DataSet b1 = s.batch(0, 1);
        for (int row = 0; row < 4; row++) {
            int start = row * 250;
            for (int t = 0; t < 10; t++) {
                assertEquals(1f, b0.getFeatures().getFloat(row, ids[start + t], t));
                assertEquals(1f, b0.getLabels().getFloat(row, ids[start + t + 1], t), "labels are the next token");
                assertEquals(1f, b1.getFeatures().getFloat(row, ids[start + 10 + t], t), "batch k+1 continues row b of batch k");
            }
        }
        assertEquals(4 * 10, b0.getFeatures().sumNumber().intValue(), "one-hot");
    }

    @Test
    void shardsAreTheMinibatchsRowsInOrderForBothSamplersAndInputs() {
        int[] ids = new int[1001];
        for (int i = 0; i < ids.length; i++) ids[i] = (i * 13) % 7;
        for (RunConfig.Sampling sampling : RunConfig.Sampling.values()) {
            for (boolean index : new boolean[]{false, true}) {
                BatchSource s = new BatchSource(ids, 7, 6, 10, sampling, 3, index);
                DataSet whole = s.batch(1, 4);
                DataSet[] shards = s.shards(1, 4, 3);
                assertEquals(3, shards.length);
                for (int i = 0; i < 3; i++) {
                    var rows = org.nd4j.linalg.indexing.NDArrayIndex.interval(2 * i, 2 * i + 2);
                    var all = org.nd4j.linalg.indexing.NDArrayIndex.all();
                    assertEquals(whole.getFeatures().get(rows, all, all), shards[i].getFeatures(), sampling + " shard " + i);
                    assertEquals(whole.getLabels().get(rows, all, all), shards[i].getLabels(), sampling + " shard " + i);
                }
            }
        }
        BatchSource s = new BatchSource(ids, 7, 6, 10, RunConfig.Sampling.CONSECUTIVE, 3);
        assertThrows(IllegalArgumentException.class, () -> s.shards(0, 0, 4));
    }

    @Test
    void randomBatchesAreReproducibleAndTooShortCorporaRefused() {
        int[] ids = new int[500];
        for (int i = 0; i < ids.length; i++) ids[i] = (i * 31) % 11;
        BatchSource s = new BatchSource(ids, 11, 3, 8, RunConfig.Sampling.RANDOM, 9);
        assertEquals(s.batch(2, 5).getFeatures(), new BatchSource(ids, 11, 3, 8, RunConfig.Sampling.RANDOM, 9).batch(2, 5).getFeatures());
        assertNotEquals(s.batch(2, 5).getFeatures(), s.batch(2, 6).getFeatures());
        TextgenException e = assertThrows(TextgenException.class, () -> new BatchSource(ids, 11, 10, 50, RunConfig.Sampling.CONSECUTIVE, 1));
        assertTrue(e.getMessage().contains("training.tbpttLength") && e.getMessage().contains("501"), e.getMessage());
    }

    @Test
    void numberWordsAndTheirHoldout() {
        assertEquals("four thousand seven hundred twenty-one", NumberWordsTask.words(4721));
        assertEquals("one thousand", NumberWordsTask.words(1000));
        assertEquals("three hundred five", NumberWordsTask.words(305));
        assertEquals("zero", NumberWordsTask.words(0));
        var split = NumberWordsTask.generate(5000, 200, 1);
        var train = new java.util.HashSet<Integer>();
        split.get(0).forEach(p -> train.add(p.number()));
        split.get(1).forEach(p -> assertTrue(p.number() >= 100 && !train.contains(p.number()), p.line()));
        assertTrue(train.containsAll(java.util.List.of(0, 7, 22)), "small numbers are all in training");
    }

    @Test
    void additionHoldoutNeverInTraining() {
        AdditionTask t = new AdditionTask(2, AdditionTask.Format.REVERSED);
        AdditionTask.Split s = t.generate(3000, 200, 7);
        var train = new java.util.HashSet<String>();
        s.train().forEach(p -> train.add(p.prompt()));
        s.holdout().forEach(p -> assertFalse(train.contains(p.prompt()), p.prompt()));
        s.holdout().forEach(p -> assertTrue(p.a() >= 10 && p.b() >= 10, "small problems stay in training: " + p.line()));
        assertTrue(s.train().stream().anyMatch(p -> p.a() < 10 && p.b() < 10));
        assertEquals("75+86=521", t.problem(57, 68).line(), "every number least-significant digit first");
        assertEquals("3+01=31", t.problem(3, 10).line());
        assertEquals("57+68=125", new AdditionTask(2, AdditionTask.Format.PLAIN).problem(57, 68).line());
    }
}
