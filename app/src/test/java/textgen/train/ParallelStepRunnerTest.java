package textgen.train;

import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.updater.MultiLayerUpdater;
import org.deeplearning4j.nn.updater.UpdaterBlock;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.config.Sgd;
import textgen.TestModels;
import textgen.config.RunConfig;
import textgen.corpus.BatchSource;
import textgen.model.CarriedStateNetwork;
import textgen.model.FastLstm;
import textgen.model.FastLstmLayer;
import textgen.model.FastRnnOutput;
import textgen.model.FastRnnOutputLayer;
import textgen.model.NetworkFactory;
import textgen.model.WeightDrop;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Data-parallel steps ({@link ParallelStepRunner}, DL4J's ParallelWrapper underneath) against one network taking the
 * whole minibatch: with plain SGD and no clipping they must be the same steps, carried state and state resets
 * included, which holds only if every device trains its own fixed streams and all devices' gradients count.
 */
class ParallelStepRunnerTest {
    private static final int V = 7, H = 12, B = 8, T = 6;

    private static RunConfig.TrainingConfig training(RunConfig.Sampling sampling) {
        // no gradient clipping: clipping applies per shard, so with it the two would differ
        return RunConfig.defaults().with("training.batchSize", B).with("training.tbpttLength", T).with("training.sampling", sampling)
                .with("training.stateResetProbability", 0).with("training.learningRate", 0.05).with("training.gradientClip", 0)
                .with("training.maxEpochs", 1).with("training.evalEvery", 100).with("training.sampleLength", 0)
                .with("training.sampleTemperature", 1.0).with("training.seed", 7).with("training.devices", 2).training();
    }

    /** A fresh 2-layer network of textgen's configuration, with every layer's updater replaced by {@code updater}. */
    private static CarriedStateNetwork network(IUpdater updater, RunConfig.Sampling sampling) {
        MultiLayerConfiguration conf = NetworkFactory.configuration(TestModels.model(2, H), training(sampling), V);
        if (updater != null) {
            conf.getConfs().forEach(c -> {
                if (c.getLayer() instanceof BaseLayer l) l.setIUpdater(updater.clone());
            });
        }
        CarriedStateNetwork net = new CarriedStateNetwork(conf);
        net.init();
        return net;
    }

    private static double maxDiff(INDArray a, INDArray b) {
        return a.sub(b).amaxNumber().doubleValue();
    }

    @Test
    void sgdOnTwoDevicesTakesTheSameStepsAsOneNetworkOnTheWholeMinibatch() {
        BatchSource source = new BatchSource(TestModels.randomIds(2000, V, 11), V, B, T, RunConfig.Sampling.CONSECUTIVE, 1);
        CarriedStateNetwork one = network(new Sgd(0.5), RunConfig.Sampling.CONSECUTIVE);
        INDArray init = one.params().dup();
        CarriedStateNetwork master = CarriedStateNetwork.from(one);
        try (StepRunner single = StepRunner.of(1, B); StepRunner two = StepRunner.of(2, B)) {
            single.train(one);
            two.train(master);
            assertInstanceOf(ParallelStepRunner.class, two);
            for (StepRunner r : List.of(single, two)) r.resetTrainingState();
            for (int k = 0; k < 6; k++) {
                if (k == 3) {
                    // streams 1 (device 0) and 6 (device 1) restart from zero, as training.stateResetProbability does
                    for (StepRunner r : List.of(single, two)) r.resetRows(new int[]{1, 6});
                }
                double s1 = single.step(single.batch(source, 0, k), true, 99 + k), s2 = two.step(two.batch(source, 0, k), true, 99 + k);
                assertEquals(s1, s2, 1e-4 * s1, "minibatch " + k + ": the mean of the devices' losses is the whole minibatch's");
            }
            double moved = maxDiff(one.params(), init);
            assertTrue(moved > 1e-2, "training moved the parameters: " + moved);
            assertTrue(maxDiff(one.params(), master.params()) < 1e-5, "parameters after 6 steps differ by " + maxDiff(one.params(), master.params()));

            // each device carried the state of its own four streams; together they are the one network's eight
            Map<Integer, Map<String, INDArray>> a = single.trainingState(), b = two.trainingState();
            assertEquals(a.keySet(), b.keySet());
            a.forEach((layer, m) -> m.forEach((key, v) -> {
                assertArrayEquals(new long[]{B, H}, b.get(layer).get(key).shape());
                assertTrue(maxDiff(v, b.get(layer).get(key)) < 1e-5, "carried " + layer + "/" + key);
            }));
            // ... and restoring it puts every row back on its device
            two.restoreTrainingState(a);
            Map<Integer, Map<String, INDArray>> back = two.trainingState();
            a.forEach((layer, m) -> m.forEach((key, v) -> assertEquals(v, back.get(layer).get(key))));

            assertArrayEquals(new long[]{6}, single.stepsPerDevice());
            assertArrayEquals(new long[]{6, 6}, two.stepsPerDevice(), "both devices trained every step");
        }
    }

    /**
     * model.recurrentDropout: every device masks its replica's recurrent weights with the same mask (one per minibatch,
     * from the seed and iteration), so with SGD and no clipping two devices still take the one network's steps; a
     * replica left unmasked, or masked differently, would not.
     */
    @Test
    void weightDropOnTwoDevicesTakesTheSameStepsAsOneNetworkOnTheWholeMinibatch() {
        BatchSource source = new BatchSource(TestModels.randomIds(2000, V, 12), V, B, T, RunConfig.Sampling.RANDOM, 1);
        CarriedStateNetwork one = network(new Sgd(0.5), RunConfig.Sampling.RANDOM), plain = CarriedStateNetwork.from(one);
        one.setWeightDrop(WeightDrop.of(RunConfig.defaults().with("model.layers", 2).with("model.hiddenSize", H).with("model.recurrentDropout", 0.4).model(), 7));
        CarriedStateNetwork master = CarriedStateNetwork.from(one);
        assertSame(one.weightDrop(), master.weightDrop());
        try (StepRunner single = StepRunner.of(1, B); StepRunner two = StepRunner.of(2, B); StepRunner unmasked = StepRunner.of(1, B)) {
            single.train(one);
            two.train(master);
            unmasked.train(plain);
            for (int k = 0; k < 4; k++) {
                for (StepRunner r : List.of(single, two, unmasked)) r.step(r.batch(source, 0, k), false, 99 + k);
            }
            ((ParallelStepRunner) two).replicas().forEach(n -> assertSame(one.weightDrop(), n.weightDrop(), "every device drops weights"));
        }
        assertTrue(maxDiff(one.params(), plain.params()) > 1e-3, "weight drop changed the steps");
        assertTrue(maxDiff(one.params(), master.params()) < 1e-5, "parameters after 4 steps differ by " + maxDiff(one.params(), master.params()));
    }

    @Test
    void replicasRunTheFastLayersOnTheirOwnStateAndEndEveryStepWithTheAveragedParameters() {
        BatchSource source = new BatchSource(TestModels.randomIds(2000, V, 12), V, B, T, RunConfig.Sampling.RANDOM, 1);
        CarriedStateNetwork master = network(null, RunConfig.Sampling.RANDOM);
        try (ParallelStepRunner two = (ParallelStepRunner) StepRunner.of(2, B)) {
            two.train(master);
            two.setLearningRate(0.01);
            for (int k = 0; k < 3; k++) two.step(two.batch(source, 0, k), false, k);
            List<CarriedStateNetwork> nets = two.replicas();
            assertSame(master, nets.get(0), "device 0 trains the run's own network");
            CarriedStateNetwork replica = nets.get(1);
            assertNotSame(master, replica);
            for (int i = 0; i < master.getnLayers(); i++) {
                assertSame(master.getLayer(i).getClass(), replica.getLayer(i).getClass());
                assertNotSame(master.getLayer(i), replica.getLayer(i));
            }
            if (NetworkFactory.useFastLstm()) {
                assertInstanceOf(FastLstmLayer.class, replica.getLayer(0));
                assertInstanceOf(FastRnnOutputLayer.class, replica.getLayer(2));
            }
            assertEquals(master.params(), replica.params(), "parameters are averaged and written back to every device");
            assertEquals(master.getUpdater().getStateViewArray(), replica.getUpdater().getStateViewArray(), "so is the Adam state");
            assertEquals(3, replica.getIterationCount());
            assertEquals(0.01, replica.getLearningRate(0), 1e-12, "the learning rate reached the replica");
        }
    }

    @Test
    void adamFirstMomentIsTheWholeMinibatchsAndTheSecondAtLeastIts() {
        BatchSource source = new BatchSource(TestModels.randomIds(2000, V, 13), V, B, T, RunConfig.Sampling.CONSECUTIVE, 1);
        CarriedStateNetwork one = network(null, RunConfig.Sampling.CONSECUTIVE);
        CarriedStateNetwork master = CarriedStateNetwork.from(one);
        try (StepRunner single = StepRunner.of(1, B); StepRunner two = StepRunner.of(2, B)) {
            single.train(one);
            two.train(master);
            single.step(single.batch(source, 0, 0), true, 1);
            two.step(two.batch(source, 0, 0), true, 1);
        }
        List<UpdaterBlock> a = ((MultiLayerUpdater) one.getUpdater()).getUpdaterBlocks();
        List<UpdaterBlock> b = ((MultiLayerUpdater) master.getUpdater()).getUpdaterBlocks();
        assertEquals(a.size(), b.size());
        for (int i = 0; i < a.size(); i++) {
            Map<String, INDArray> sa = a.get(i).getGradientUpdater().getState(), sb = b.get(i).getGradientUpdater().getState();
            INDArray m1 = sa.get("M"), m2 = sb.get("M"), v1 = sa.get("V"), v2 = sb.get("V");
            assertTrue(m1.amaxNumber().doubleValue() > 1e-4, "the step moved the first moment");
            assertTrue(maxDiff(m1, m2) < 1e-6 + 1e-4 * m1.amaxNumber().doubleValue(), "first moment, block " + i + ": " + maxDiff(m1, m2));
            // mean of squares >= square of the mean, element by element
            assertTrue(v2.sub(v1).minNumber().doubleValue() > -1e-9, "second moment, block " + i);
            assertTrue(v2.sub(v1).maxNumber().doubleValue() > 0, "and larger somewhere: the shards' gradients differ");
        }
    }

    @Test
    void dl4jsOwnReplicationThroughJsonKeepsTheFastLayers() {
        // ParallelWrapper's DefaultTrainer copies a configuration through JSON; textgen's workers copy it with
        // CarriedStateNetwork.from, but either way a replica runs the fast layers
        MultiLayerConfiguration conf = NetworkFactory.configuration(TestModels.model(1, H), training(RunConfig.Sampling.RANDOM), V, true);
        MultiLayerConfiguration copy = MultiLayerConfiguration.fromJson(conf.toJson());
        assertInstanceOf(FastLstm.class, copy.getConf(0).getLayer());
        assertInstanceOf(FastRnnOutput.class, copy.getConf(1).getLayer());
    }
}
