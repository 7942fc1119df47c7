package textgen.model;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.api.ndarray.INDArray;
import textgen.TestModels;
import textgen.config.RunConfig;
import textgen.corpus.BatchSource;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Paired LSTM layers running side by side ({@link LayerPipeline}) train as one layer at a time does: the same
 * parameters, updater state and carried state after several steps, to float rounding (OpenBLAS's products on one
 * thread and on two, and over chunks of steps rather than whole segments, may round differently), for odd sizes (H not
 * a multiple of the vector width, batch 1, segments shorter than the chunk count, a third unpaired layer); and bit
 * for bit the same from run to run.
 */
class LayerPipelineTest {
    private static CarriedStateNetwork net(int layers, int h, int v, int b, int t, boolean pipelined) {
        CarriedStateNetwork net = new CarriedStateNetwork(NetworkFactory.configuration(TestModels.model(layers, h),
                TestModels.training(b, t, RunConfig.Sampling.CONSECUTIVE), v, true));
        net.init();
        net.pipelineLayers(pipelined);
        return net;
    }

    private static Map<Integer, Map<String, INDArray>> train(CarriedStateNetwork net, int v, int b, int t, int steps) {
        BatchSource src = new BatchSource(TestModels.randomIds(2000, v, 5), v, b, t, RunConfig.Sampling.CONSECUTIVE, 1);
        for (int i = 0; i < steps; i++) net.fitCarryingState(src.batch(0, i));
        return net.trainingState();
    }

    @ParameterizedTest
    @CsvSource({"2, 13, 9, 5, 7", "2, 13, 9, 1, 7", "3, 16, 11, 4, 3", "2, 8, 5, 3, 1", "2, 33, 7, 2, 20"})
    void pipelinedPairTrainsExactlyLikeOneLayerAtATime(int layers, int h, int v, int b, int t) {
        Assumptions.assumeTrue(LayerPipeline.ENABLED, "the layer pipeline needs two cores");
        CarriedStateNetwork seq = net(layers, h, v, b, t, false), pipe = net(layers, h, v, b, t, true), again = net(layers, h, v, b, t, true);
        assertTrue(((FastLstmLayer) pipe.getLayer(0)).paired(), "layers 0 and 1 pair up");
        assertFalse(((FastLstmLayer) seq.getLayer(0)).paired());
        if (layers == 3) assertFalse(((FastLstmLayer) pipe.getLayer(2)).paired(), "a third layer has no partner");
        var seqState = train(seq, v, b, t, 4);
        var pipeState = train(pipe, v, b, t, 4);
        train(again, v, b, t, 4);
        assertClose(seq.params(), pipe.params(), "parameters");
        assertClose(seq.getUpdater().getStateViewArray(), pipe.getUpdater().getStateViewArray(), "updater state");
        for (var e : seqState.entrySet()) {
            for (var k : e.getValue().entrySet()) assertClose(k.getValue(), pipeState.get(e.getKey()).get(k.getKey()), "carried " + k.getKey());
        }
        assertEquals(seq.score(), pipe.score(), 1e-6 * seq.score());
        assertArrayEquals(pipe.params().toFloatVector(), again.params().toFloatVector(), "run to run, bit for bit");
        assertArrayEquals(pipe.getUpdater().getStateViewArray().toFloatVector(), again.getUpdater().getStateViewArray().toFloatVector());
    }

    @ParameterizedTest
    @CsvSource({"2, 13, 9, 5, 7"})
    void inferenceAndUnpairedCallsAreUnchanged(int layers, int h, int v, int b, int t) {
        CarriedStateNetwork seq = net(layers, h, v, b, t, false), pipe = net(layers, h, v, b, t, true);
        BatchSource src = new BatchSource(TestModels.randomIds(500, v, 6), v, b, t, RunConfig.Sampling.CONSECUTIVE, 1);
        INDArray x = src.batch(0, 0).getFeatures();
        assertArrayEquals(seq.output(x).ravel().toFloatVector(), pipe.output(x).ravel().toFloatVector(), "inference is not pipelined");
        assertArrayEquals(seq.rnnTimeStep(x).ravel().toFloatVector(), pipe.rnnTimeStep(x).ravel().toFloatVector());
        seq.setInput(x);
        pipe.setInput(x);
        seq.setLabels(src.batch(0, 0).getLabels());
        pipe.setLabels(src.batch(0, 0).getLabels());
        seq.computeGradientAndScore();
        pipe.computeGradientAndScore();
        assertClose(seq.gradient().gradient(), pipe.gradient().gradient(), "gradient");
        assertEquals(seq.score(), pipe.score(), 1e-6 * seq.score());
    }

    /** Element-wise within 1e-5 of the array's largest magnitude. */
    private static void assertClose(INDArray expected, INDArray actual, String what) {
        float[] e = expected.ravel().toFloatVector(), a = actual.ravel().toFloatVector();
        assertEquals(e.length, a.length, what);
        double scale = 1e-30, worst = 0;
        for (float f : e) scale = Math.max(scale, Math.abs(f));
        for (int i = 0; i < e.length; i++) worst = Math.max(worst, Math.abs(e[i] - a[i]));
        assertTrue(worst <= 1e-5 * scale, what + ": largest difference " + worst + " of " + scale);
    }
}
