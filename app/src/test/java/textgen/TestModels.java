package textgen;

import textgen.config.RunConfig;
import textgen.model.CarriedStateNetwork;
import textgen.model.NetworkFactory;

import java.util.SplittableRandom;

/** Tiny models and data for fast tests. */
public final class TestModels {
    private TestModels() {
    }

    public static RunConfig.ModelConfig model(int layers, int hidden) {
        return RunConfig.defaults().with("model.layers", layers).with("model.hiddenSize", hidden).model();
    }

    public static RunConfig.TrainingConfig training(int batch, int tbptt, RunConfig.Sampling sampling) {
        return RunConfig.defaults().with("training.batchSize", batch).with("training.tbpttLength", tbptt).with("training.sampling", sampling)
                .with("training.stateResetProbability", 0).with("training.learningRate", 0.01).with("training.maxEpochs", 1)
                .with("training.evalEvery", 100).with("training.sampleLength", 0).with("training.sampleTemperature", 1.0)
                .with("training.seed", 123).training();
    }

    public static CarriedStateNetwork net(int vocab, int layers, int hidden, int tbptt) {
        return NetworkFactory.create(model(layers, hidden), training(4, tbptt, RunConfig.Sampling.CONSECUTIVE), vocab);
    }

    public static int[] randomIds(int n, int vocab, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) ids[i] = r.nextInt(vocab);
        return ids;
    }
}
