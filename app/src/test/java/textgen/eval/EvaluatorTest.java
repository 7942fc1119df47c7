package textgen.eval;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import textgen.TestModels;
import textgen.config.RunConfig;
import textgen.corpus.BatchSource;
import textgen.tensor.TokenTensors;
import textgen.model.CarriedStateNetwork;

import static org.junit.jupiter.api.Assertions.*;

class EvaluatorTest {
    private static final int V = 7;

    /** The streaming evaluator equals one rnnTimeStep per character summing -log p, to 1e-4 relative. */
    @Test
    void streamingScoreEqualsNaiveStepByStep() {
        CarriedStateNetwork net = TestModels.net(V, 2, 16, 10);
        // train a little so the distribution is not uniform
        int[] train = TestModels.randomIds(2000, V, 1);
        for (int i = 0; i < train.length; i++) if (i % 3 == 0) train[i] = 2;
        BatchSource src = new BatchSource(train, V, 4, 10, RunConfig.Sampling.CONSECUTIVE, 1);
        for (int k = 0; k < 20; k++) net.fitCarryingState(src.batch(0, k));

        int[] text = java.util.Arrays.copyOf(train, 700);
        Evaluator.Score s = Evaluator.score(net, text, V, 1, 64); // chunks of 64 across a 700-char file

        net.rnnClearPreviousState();
        double naive = 0;
        for (int i = 0; i + 1 < text.length; i++) {
            INDArray out = net.rnnTimeStep(TokenTensors.oneHot(new int[][]{text}, i, 1, V));
            naive -= Math.log(out.getDouble(0, text[i + 1], 0));
        }
        assertEquals(text.length - 1, s.tokens());
        assertEquals(naive, s.totalNats(), 1e-4 * naive);
        assertTrue(s.nats() < Math.log(V) - 0.05, "trained model beats uniform: " + s.nats());
    }

    @Test
    void untrainedModelScoresCloseToVocabularySize() {
        int v = 50;
        CarriedStateNetwork net = TestModels.net(v, 2, 32, 10);
        Evaluator.Score s = Evaluator.score(net, TestModels.randomIds(3000, v, 2), v, 1, 256);
        assertEquals(v, s.perplexity(), 0.1 * v, "perplexity " + s.perplexity());
        assertEquals(s.nats() / Math.log(2), s.bits(), 1e-12);
    }

    /**
     * Many streams of a wide model are scored in chunks short enough to keep the predictor's buffers within 32 MB
     * (64 streams x 512 steps of a 2 x 512 LSTM held about 400 MB, the peak of a training run's memory), with the
     * score of short chunks.
     */
    @Test
    void wideModelsAreScoredInChunksOfBoundedMemory() {
        int v = 65, streams = 64;
        CarriedStateNetwork net = TestModels.net(v, 2, 512, 10);
        long rowFloats = textgen.model.Predictor.of(net).rowFloats();
        assertTrue(rowFloats >= 2 * 7 * 512, "an LSTM layer caches at least 7 x H floats per row: " + rowFloats);
        int chunk = Evaluator.chunkSize(streams, 512, rowFloats);
        assertTrue(chunk >= 8 && chunk < 32, "chunk " + chunk);
        assertTrue((long) streams * chunk * rowFloats <= 8L << 20);
        assertEquals(512, Evaluator.chunkSize(1, 512, 1000), "a narrow model keeps the chunk it asked for");
        assertEquals(1, Evaluator.chunkSize(100_000, 512, 1000), "at least one step");

        int[] text = TestModels.randomIds(64 * 40 + 1, v, 3);
        Evaluator.Score capped = Evaluator.score(net, text, v, streams, 512);
        Evaluator.Score short5 = Evaluator.score(net, text, v, streams, 5);
        assertEquals(short5.tokens(), capped.tokens());
        assertEquals(short5.totalNats(), capped.totalNats(), 1e-5 * short5.totalNats());
    }
}
