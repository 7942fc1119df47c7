package textgen.train;

import org.deeplearning4j.nn.api.Model;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.optimize.api.BaseTrainingListener;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import textgen.config.ConfigLoader;
import textgen.config.RunConfig;
import textgen.corpus.Corpus;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.*;

class TrainingListenerTest {
    @TempDir
    Path dir;

    /**
     * onNetwork hands over every network that trains: the first, and each one the divergence guard restores from a
     * checkpoint in its place. A DL4J listener attached there (as the training UI's StatsListener is) sees every step.
     */
    @Test
    void onNetworkGivesEveryTrainedNetworkIncludingRestoredOnes() throws Exception {
        Files.writeString(dir.resolve("text.txt"), "The cat sat on the mat.\nThe dog sat on the log.\n".repeat(40));
        Path yaml = Files.writeString(dir.resolve("c.yaml"), """
                corpus:
                  path: text.txt
                model:
                  layers: 1
                  hiddenSize: 16
                training:
                  batchSize: 4
                  tbpttLength: 10
                  evalEvery: 4
                  sampleLength: 0
                  sampling: random
                  maxIterations: 40
                  # Adam at lr 10 explodes at once; each rollback cuts the rate 1000-fold, so training recovers
                  learningRate: 10
                  divergenceLrCut: 0.001
                  divergenceFactor: 1.5
                """);
        RunConfig cfg = ConfigLoader.load(yaml, List.of());
        List<MultiLayerNetwork> networks = new ArrayList<>();
        List<Integer> stepsSeen = new ArrayList<>();
        AtomicInteger rollbacks = new AtomicInteger();
        TrainingListener watcher = new TrainingListener() {
            @Override
            public void onNetwork(MultiLayerNetwork network) {
                networks.add(network);
                int index = stepsSeen.size();
                stepsSeen.add(0);
                network.addListeners(new BaseTrainingListener() {
                    @Override
                    public void iterationDone(Model model, int iteration, int epoch) {
                        stepsSeen.set(index, stepsSeen.get(index) + 1);
                    }
                });
            }

            @Override
            public void onRollback(Trainer.Rollback rollback) {
                rollbacks.incrementAndGet();
            }
        };
        Trainer.Result r;
        try (TrainingRun run = TrainingRun.create(cfg, Corpus.load(cfg.corpus()), dir.resolve("run"), List.of(watcher), () -> false)) {
            r = run.run();
        }

        assertEquals(40, r.iterations());
        assertTrue(rollbacks.get() >= 1, "the run diverged and rolled back");
        assertEquals(1 + rollbacks.get(), networks.size(), "the first network and one per rollback");
        assertEquals(networks.size(), networks.stream().distinct().count(), "each a new network");
        MultiLayerNetwork last = networks.get(networks.size() - 1);
        assertEquals(40, last.getIterationCount(), "the last one trained to the end");
        int restoredAt = 40 - stepsSeen.get(stepsSeen.size() - 1);
        assertTrue(restoredAt >= 0 && restoredAt % 4 == 0, "the last network saw every step after the checkpoint it came from: " + stepsSeen);
    }

    @Test
    void aNewRunStoppedBeforeItsFirstStepLeavesItsDirectoryFreeForANewRun() throws Exception {
        Files.writeString(dir.resolve("text.txt"), "The cat sat on the mat.\nThe dog sat on the log.\n".repeat(40));
        Path yaml = Files.writeString(dir.resolve("c.yaml"), """
                corpus:
                  path: text.txt
                model:
                  layers: 1
                  hiddenSize: 8
                training:
                  batchSize: 4
                  tbpttLength: 10
                  evalEvery: 4
                  sampleLength: 0
                  maxIterations: 4
                """);
        RunConfig cfg = ConfigLoader.load(yaml, List.of());
        Path runDir = dir.resolve("run");
        try (TrainingRun run = TrainingRun.create(cfg, Corpus.load(cfg.corpus()), runDir, List.of(), () -> true)) {
            Trainer.Result r = run.run();
            assertEquals(0, r.iterations());
            assertTrue(r.interrupted());
        }
        assertFalse(Files.exists(runDir.resolve("config.yaml")), "nothing of a run is left to resume");
        try (TrainingRun again = TrainingRun.create(cfg, Corpus.load(cfg.corpus()), runDir, List.of(), () -> false)) {
            assertEquals(4, again.run().iterations(), "the directory takes a new run");
        }
        assertTrue(Files.exists(runDir.resolve("latest.zip")));
    }
}
