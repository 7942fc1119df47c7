package textgen.train;

import org.junit.jupiter.api.Test;
import textgen.config.ConfigLoader;
import textgen.config.RunConfig;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LrScheduleTest {
    private static RunConfig.TrainingConfig training(String... overrides) throws Exception {
        Path yaml = Files.createTempFile("lr", ".yaml");
        Files.writeString(yaml, "corpus:\n  path: /x.txt\n");
        try {
            return ConfigLoader.load(yaml, List.of(overrides)).training();
        } finally {
            Files.delete(yaml);
        }
    }

    @Test
    void stepDecaysPerEpochPastTheStart() throws Exception {
        var tc = training("training.learningRate=0.01", "training.lrDecay=0.5", "training.lrDecayAfter=2");
        assertEquals(0.01, Trainer.scheduledLr(tc, 0, 0.9), 1e-12);
        assertEquals(0.01, Trainer.scheduledLr(tc, 2, 0.9), 1e-12);
        assertEquals(0.0025, Trainer.scheduledLr(tc, 4, 0.1), 1e-12);
    }

    @Test
    void cosineFallsFromTheLearningRateToZeroOverTheRun() throws Exception {
        var tc = training("training.learningRate=0.01", "training.lrSchedule=cosine", "training.lrDecay=0.5");
        assertEquals(0.01, Trainer.scheduledLr(tc, 0, 0), 1e-12);
        assertEquals(0.005, Trainer.scheduledLr(tc, 3, 0.5), 1e-12, "half way: half the rate; epochs and lrDecay play no part");
        assertEquals(0.01 * 0.5 * (1 + Math.cos(Math.PI * 0.25)), Trainer.scheduledLr(tc, 1, 0.25), 1e-12);
        assertEquals(0, Trainer.scheduledLr(tc, 9, 1), 1e-12);
        assertEquals(0, Trainer.scheduledLr(tc, 9, 1.3), 1e-12, "past the end: 0");
        double prev = 1;
        for (int i = 0; i <= 2000; i++) { // moves only in 0.1% steps, never up
            double lr = Trainer.scheduledLr(tc, 0, i / 2000.0);
            assertTrue(lr <= prev);
            if (i % 2 == 1) assertEquals(Trainer.scheduledLr(tc, 0, (i - 1) / 2000.0), lr, 0);
            prev = lr;
        }
    }
}
