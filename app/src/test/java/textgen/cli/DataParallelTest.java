package textgen.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import textgen.checkpoint.Checkpoint;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** {@code train --devices 2} (training.devices): data-parallel training through the real CLI, on two CPU worker threads. */
class DataParallelTest {
    static final ObjectMapper JSON = new ObjectMapper();
    @TempDir
    Path dir;

    private Path config() throws IOException {
        Files.writeString(dir.resolve("tiny.txt"), CliEndToEndTest.TEXT.repeat(40));
        return Files.writeString(dir.resolve("tiny.yaml"), """
                corpus:
                  path: tiny.txt
                  validationFraction: 0.1
                model:
                  layers: 1
                  hiddenSize: 64
                training:
                  batchSize: 16
                  tbpttLength: 20
                  learningRate: 0.02
                  evalEvery: 50
                  sampleLength: 30
                  maxEpochs: 100
                """);
    }

    private static Cli.Result ok(String... args) {
        Cli.Result r = Cli.run(args);
        assertEquals(0, r.code(), () -> String.join(" ", args) + "\n" + r.err() + r.out());
        return r;
    }

    @Test
    void twoDevicesTrainConsecutiveStreamsAndTheCheckpointSamples() throws IOException {
        Path run = dir.resolve("run");
        Cli.Result r = ok("train", "--config", config().toString(), "--run-dir", run.toString(), "--max-iterations", "150",
                "--devices", "2", "--json");
        assertTrue(r.out().contains("data-parallel on 2 devices"), r.out());
        JsonNode j = JSON.readTree(r.lastLine());
        assertEquals(150, j.get("iterations").asLong());
        assertEquals(List.of(150L, 150L), List.of(j.get("device_steps").get(0).asLong(), j.get("device_steps").get(1).asLong()),
                "both devices took every step: " + j);
        double uniform = Math.log(CliEndToEndTest.TEXT.codePoints().distinct().count());
        assertTrue(j.get("best_val_loss").asDouble() < uniform * 0.5, "learned well below uniform (" + uniform + "): " + j);

        Checkpoint.Loaded l = Checkpoint.read(run.resolve("latest.zip"), true);
        assertEquals(2, l.config().training().devices());
        assertEquals(150, l.state().iteration());
        assertEquals(150, l.network().getIterationCount());
        // the carried state of all 16 streams, from both devices
        l.carried().values().forEach(m -> m.values().forEach(a -> assertEquals(16, a.size(0))));
        assertEquals(1, l.carried().size());

        Cli.Result s = ok("sample", "--model", run.toString(), "--prime", "The ", "--length", "40", "--seed", "1", "--json");
        assertTrue(s.out().contains("\"text\""), s.out());
        Cli.Result p = ok("perplexity", "--model", run.toString(), "--text", dir.resolve("tiny.txt").toString(), "--json");
        assertTrue(JSON.readTree(p.lastLine()).get("nats").asDouble() < uniform * 0.5, p.out());
    }

    @Test
    void aResumedRunOnTwoDevicesIsBitIdenticalToOneThatNeverStopped() throws IOException {
        // 2 layers with dropout (each device draws its own masks); stops at 6 (off the evaluation grid) and resumes
        Path config = Files.writeString(dir.resolve("small.yaml"), """
                corpus:
                  path: tiny.txt
                model:
                  layers: 2
                  hiddenSize: 24
                  dropout: 0.2
                training:
                  batchSize: 8
                  tbpttLength: 12
                  learningRate: 0.01
                  evalEvery: 4
                  sampleLength: 0
                  devices: 2
                """);
        Files.writeString(dir.resolve("tiny.txt"), CliEndToEndTest.TEXT.repeat(30));
        // consecutive streams: the carried state of each device's streams goes into the checkpoint and back
        Path whole = dir.resolve("whole"), split = dir.resolve("split");
        ok("train", "--config", config.toString(), "--run-dir", whole.toString(), "--max-iterations", "10");
        ok("train", "--config", config.toString(), "--run-dir", split.toString(), "--max-iterations", "6");
        JsonNode resumed = JSON.readTree(ok("train", "--resume", split.toString(), "--max-iterations", "10", "--json").lastLine());
        assertEquals(4, resumed.get("device_steps").get(1).asLong(), "the resumed session's steps: " + resumed);
        Checkpoint.Loaded a = Checkpoint.read(whole.resolve("latest.zip"), true), b = Checkpoint.read(split.resolve("latest.zip"), true);
        assertEquals(10, b.state().iteration());
        assertEquals(a.network().params(), b.network().params(), "parameters after 10 iterations");
        assertEquals(a.network().getUpdater().getStateViewArray(), b.network().getUpdater().getStateViewArray(), "Adam state");
        assertEquals(2, a.carried().size());
        a.carried().forEach((layer, m) -> m.forEach((k, v) -> assertEquals(v, b.carried().get(layer).get(k), "carried " + layer + "/" + k)));
        // a run may go on on another number of devices (e.g. fewer GPUs): not bit-identical, but it continues
        Path run = split;
        JsonNode j = JSON.readTree(ok("train", "--resume", run.toString(), "--max-iterations", "14", "--devices", "1", "--json").lastLine());
        assertEquals(1, j.get("device_steps").size());
        assertEquals(14, j.get("iterations").asLong());
        assertEquals(1, Checkpoint.read(run.resolve("latest.zip"), false).config().training().devices());
    }

    @Test
    void divergenceRollsBackAndRandomWindowsTrainOnOnBothDevices() throws IOException {
        // Adam at lr 10 explodes at once; the rollback restarts both devices from the checkpoint with the rate cut 1000-fold
        Files.writeString(dir.resolve("tiny.txt"), CliEndToEndTest.TEXT.repeat(30));
        Path run = dir.resolve("diverge");
        Cli.Result r = ok("train", "--corpus", dir.resolve("tiny.txt").toString(), "--run-dir", run.toString(), "--max-iterations", "30",
                "--devices", "2", "--set", "model.layers=1", "--set", "model.hiddenSize=24", "--set", "training.batchSize=8",
                "--set", "training.tbpttLength=12", "--set", "training.evalEvery=4", "--set", "training.sampleLength=0",
                "--set", "training.learningRate=10", "--set", "training.divergenceLrCut=0.001", "--set", "training.divergenceFactor=1.5",
                "--set", "training.sampling=random", "--json");
        assertTrue(r.out().contains("diverged at iteration"), r.out());
        JsonNode j = JSON.readTree(r.lastLine());
        long d0 = j.get("device_steps").get(0).asLong();
        assertTrue(d0 > 30, "the steps rolled back count too: " + j);
        assertEquals(d0, j.get("device_steps").get(1).asLong());
        Checkpoint.Loaded l = Checkpoint.read(run.resolve("latest.zip"), false);
        assertEquals(30, l.state().iteration());
        assertTrue(l.state().rollbacks() >= 1 && l.state().lrScale() <= 0.001, l.state().toString());
        assertTrue(Double.isFinite(l.state().valLoss()) && l.state().valLoss() < Math.log(20), l.state().toString());
    }

    @Test
    void badDeviceCountsAreOneLineConfigErrors() throws IOException {
        Path config = config();
        int cores = Runtime.getRuntime().availableProcessors();
        int more = cores + 1;
        List<List<String>> cases = List.of(
                List.of("training.devices 0 is out of range", "--devices", "0"),
                List.of("training.devices 'x' is not an integer", "--devices", "x"),
                List.of("training.devices " + more + " is more than this machine has: " + cores + " CPU core",
                        "--devices", String.valueOf(more), "--set", "training.batchSize=" + 4 * more),
                List.of("training.batchSize 16 does not split evenly over training.devices 3", "--set", "training.devices=3"));
        for (List<String> c : cases) {
            Path run = dir.resolve("refused");
            List<String> args = new java.util.ArrayList<>(List.of("train", "--config", config.toString(), "--run-dir", run.toString(),
                    "--max-iterations", "5"));
            args.addAll(c.subList(1, c.size()));
            Cli.Result r = Cli.run(args.toArray(String[]::new));
            assertEquals(2, r.code(), args + ": " + r.err() + r.out());
            assertEquals(1, r.err().strip().lines().count(), r.err());
            assertTrue(r.err().contains(c.get(0)), r.err());
            assertFalse(r.err().contains("\tat "), "no stack trace");
            assertFalse(Files.exists(run), "nothing created for a refused run");
        }
    }
}
