package textgen.model;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import textgen.TestModels;
import textgen.config.RunConfig;
import textgen.tensor.TokenTensors;

import static org.junit.jupiter.api.Assertions.*;

/** The predictor's own forward pass is the network's: same probabilities as DL4J's output(), chunked or not. */
class PredictorTest {
    private static final int V = 9, H = 12, S = 3, N = 11;

    private static CarriedStateNetwork net(boolean fast) {
        return net(TestModels.model(2, H), fast);
    }

    private static CarriedStateNetwork net(RunConfig.ModelConfig model, boolean fast) {
        CarriedStateNetwork net = new CarriedStateNetwork(NetworkFactory.configuration(model,
                TestModels.training(S, 5, RunConfig.Sampling.CONSECUTIVE), V, fast));
        net.init();
        return net;
    }

    /**
     * LSTM layers: several streams, and one (sampling and scoring: the batch-1 recurrence, {@link NativeLstm} where it
     * is built) with H = 13 and 37, not multiples of its vector width or halves; the state carries across chunks.
     */
    @Test
    void fastPathMatchesDl4jOutputAcrossChunksAndStreams() {
        fastPathMatchesDl4jOutput(TestModels.model(2, H), S);
        fastPathMatchesDl4jOutput(TestModels.model(2, 13), 1);
        fastPathMatchesDl4jOutput(TestModels.model(2, 37), 1);
    }

    /** GRU layers on the CPU kernel: the same, with one-hot input and an embedding, one stream (sampling) and several. */
    @Test
    void gruFastPathMatchesDl4jOutput() {
        RunConfig.ModelConfig gru = RunConfig.defaults().with("model.cell", "gru").with("model.layers", 2).with("model.hiddenSize", 13).model();
        fastPathMatchesDl4jOutput(gru, 1);
        fastPathMatchesDl4jOutput(gru, S);
        fastPathMatchesDl4jOutput(RunConfig.defaults().with("model.cell", "gru").with("model.layers", 2).with("model.hiddenSize", 13)
                .with("model.input", "embedding").with("model.embeddingSize", 5).model(), S);
    }

    /** The fast network's predictor against DL4J's output() of the stock network (GRU: ND4J operations), same parameters. */
    private static void fastPathMatchesDl4jOutput(RunConfig.ModelConfig model, int streams) {
        CarriedStateNetwork stock = net(model, false), fast = net(model, true);
        stock.setParams(stock.params().add(0.05)); // non-trivial biases too
        fast.setParams(stock.params().dup());
        int[][] ids = new int[streams][];
        for (int s = 0; s < streams; s++) ids[s] = TestModels.randomIds(N, V, 40 + s);
        int[] starts = new int[streams];
        INDArray expected = stock.output(Predictor.embedding(stock) ? TokenTensors.ids(ids, starts, N)
                : TokenTensors.oneHot(ids, 0, N, V)); // [S, V, N], whole sequence at once

        Predictor fastPredictor = Predictor.of(fast), stockPredictor = Predictor.of(stock);
        assertNotEquals(fastPredictor.getClass(), stockPredictor.getClass(), "fast network takes the fast path");
        for (Predictor p : new Predictor[]{fastPredictor, stockPredictor}) {
            for (int round = 0; round < 2; round++) { // reset really resets
                p.reset();
                int pos = 0;
                for (int n : new int[]{4, 1, 6}) {
                    float[] got = p.feed(ids, pos, n);
                    for (int s = 0; s < streams; s++) {
                        for (int t = 0; t < n; t++) {
                            for (int v = 0; v < V; v++) {
                                assertEquals(expected.getFloat(s, v, pos + t), got[(s * n + t) * V + v], 2e-6,
                                        p.getClass().getSimpleName() + " stream " + s + " step " + (pos + t) + " token " + v);
                            }
                        }
                    }
                    pos += n;
                }
            }
        }
    }

    /** feedReusing gives feed's probabilities, in one array per chunk size that the next call overwrites. */
    @Test
    void feedReusingEqualsFeedAndReusesItsArrays() {
        CarriedStateNetwork fast = net(true);
        int[][] ids = new int[S][];
        for (int s = 0; s < S; s++) ids[s] = TestModels.randomIds(N, V, 60 + s);
        Predictor fresh = Predictor.of(fast), reusing = Predictor.of(fast);
        float[] previous = null;
        int pos = 0;
        for (int n : new int[]{3, 3, 3, 2}) {
            float[] expected = fresh.feed(ids, pos, n), got = reusing.feedReusing(ids, pos, n);
            assertArrayEquals(expected, got, "chunk at " + pos);
            if (n == 3 && previous != null) assertSame(previous, got, "the same array for the same chunk size");
            previous = got;
            pos += n;
        }
    }

    @Test
    void fastPathLeavesTheNetworksStateAlone() {
        CarriedStateNetwork used = net(true), untouched = net(true);
        int[][] ids = {TestModels.randomIds(N, V, 7)};
        used.rnnTimeStep(TokenTensors.oneHot(ids, 0, 5, V));
        untouched.rnnTimeStep(TokenTensors.oneHot(ids, 0, 5, V));
        Predictor.of(used).feed(new int[][]{TestModels.randomIds(N, V, 8)}, 0, N);
        assertEquals(untouched.rnnTimeStep(TokenTensors.oneHot(ids, 5, 3, V)), used.rnnTimeStep(TokenTensors.oneHot(ids, 5, 3, V)));
    }
}
