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
        return new RunConfig.ModelConfig(false, 64, RunConfig.Cell.LSTM, "tanh", layers, hidden, 0.0);
    }

    public static RunConfig.TrainingConfig training(int batch, int tbptt, RunConfig.Sampling sampling) {
        return new RunConfig.TrainingConfig(batch, tbptt, sampling, 0.0, 0.01, RunConfig.LrSchedule.STEP, 1.0, 0, 5.0, 1, 0, 0, 100, 0, 1.0, 3, 0,
                4.0, 0.5, 3, 123, 1);
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
