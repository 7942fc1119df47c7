package textgen.generate;

import org.junit.jupiter.api.Test;
import textgen.TestModels;
import textgen.config.RunConfig;
import textgen.corpus.BatchSource;
import textgen.corpus.Vocabulary;
import textgen.model.CarriedStateNetwork;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

class SamplerTest {
    private static final Vocabulary VOCAB = Vocabulary.of("abcd\n");
    private static final CarriedStateNetwork NET = trained();

    private static CarriedStateNetwork trained() {
        int[] ids = VOCAB.encode("abcd\nabcd\nabdc\n".repeat(60), false, "t");
        CarriedStateNetwork net = TestModels.net(VOCAB.size(), 1, 16, 10);
        BatchSource src = new BatchSource(ids, VOCAB.size(), 4, 10, RunConfig.Sampling.CONSECUTIVE, 1);
        for (int e = 0; e < 4; e++) {
            net.resetTrainingState();
            for (int k = 0; k < src.batchesPerEpoch(); k++) net.fitCarryingState(src.batch(e, k));
        }
        return net;
    }

    private static String gen(SamplingOptions o, long seed, int[] prime, String stop, StringBuilder streamed) {
        return new Sampler(NET, VOCAB, o).generate(prime, 40, stop, new SplittableRandom(seed), streamed::append);
    }

    @Test
    void sameSeedSameTextAndStreamingMatches() {
        StringBuilder s1 = new StringBuilder(), s2 = new StringBuilder();
        String a = gen(SamplingOptions.withTemperature(1.5), 7, new int[0], null, s1);
        String b = gen(SamplingOptions.withTemperature(1.5), 7, new int[0], null, s2);
        assertEquals(a, b);
        assertEquals(40, a.codePointCount(0, a.length()));
        assertEquals(a, s1.toString(), "streamed text is the returned text");
        assertNotEquals(a, gen(SamplingOptions.withTemperature(1.5), 8, new int[0], null, new StringBuilder()));
    }

    @Test
    void lowTemperatureAndTopOneEqualGreedy() {
        int[] prime = VOCAB.encode("ab", false, "p");
        String greedy = gen(new SamplingOptions(1, 0, 1, true), 1, prime, null, new StringBuilder());
        assertEquals(greedy, gen(SamplingOptions.withTemperature(1e-3), 99, prime, null, new StringBuilder()));
        assertEquals(greedy, gen(new SamplingOptions(1, 1, 1, false), 5, prime, null, new StringBuilder()));
        assertEquals(greedy, gen(new SamplingOptions(1, 0, 1e-9, false), 6, prime, null, new StringBuilder()));
        assertTrue(greedy.startsWith("cd\n"), "the model learned the pattern: " + greedy);
    }

    @Test
    void stopStringEndsSampleAndIsNotEmitted() {
        StringBuilder streamed = new StringBuilder();
        String text = gen(new SamplingOptions(1, 0, 1, true), 1, VOCAB.encode("ab", false, "p"), "\na", streamed);
        assertEquals("cd", text);
        assertEquals("cd", streamed.toString());
    }

    @Test
    void topKRestrictsChoices() {
        Sampler s = new Sampler(NET, VOCAB, new SamplingOptions(1, 2, 1, false));
        double[] p = {0.1, 0.5, 0.05, 0.3, 0.05};
        SplittableRandom r = new SplittableRandom(1);
        for (int i = 0; i < 200; i++) {
            int c = s.choose(p, r);
            assertTrue(c == 1 || c == 3, "only the two most likely: " + c);
        }
        Sampler nucleus = new Sampler(NET, VOCAB, new SamplingOptions(1, 0, 0.55, false));
        for (int i = 0; i < 200; i++) {
            int c = nucleus.choose(p, r);
            assertTrue(c == 1 || c == 3, "smallest set reaching 0.55: " + c);
        }
    }
}
