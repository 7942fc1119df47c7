package textgen.config;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import textgen.TextgenException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class ConfigLoaderTest {
    @TempDir
    Path dir;

    private Path yaml(String text) throws IOException {
        Path p = dir.resolve("c.yaml");
        Files.writeString(p, text);
        return p;
    }

    private TextgenException error(String text, String... overrides) throws IOException {
        Path p = yaml(text);
        TextgenException e = assertThrows(TextgenException.class, () -> ConfigLoader.load(p, List.of(overrides)));
        assertEquals(2, e.exitCode());
        assertFalse(e.getMessage().contains("\n"), "one line: " + e.getMessage());
        return e;
    }

    @Test
    void nestedAndDottedKeysWithDefaults() throws IOException {
        RunConfig c = ConfigLoader.load(yaml("""
                model:
                  layers: 3
                  hiddenSize: 64
                training.batchSize: 8
                training:
                  sampling: random
                """), List.of());
        assertEquals(3, c.model().layers());
        assertEquals(64, c.model().hiddenSize());
        assertEquals(8, c.training().batchSize());
        assertEquals(RunConfig.Sampling.RANDOM, c.training().sampling());
        assertEquals(0.1, c.corpus().validationFraction());
        assertEquals(42L, c.training().seed());
    }

    @Test
    void overridesWinAndPathsResolve() throws IOException {
        RunConfig c = ConfigLoader.load(yaml("corpus:\n  path: data/x.txt\nmodel:\n  layers: 1\n"),
                List.of("model.layers=4", "training.learningRate=0.01"));
        assertEquals(4, c.model().layers());
        assertEquals(0.01, c.training().learningRate());
        assertEquals(dir.resolve("data/x.txt").toAbsolutePath().normalize().toString(), c.corpus().path(),
                "relative paths in a config file resolve against the file's directory");
    }

    @Test
    void unknownKeyNamesKeyLineAndKnownKeys() throws IOException {
        String m = error("model:\n  layers: 2\n  hidden: 10\n").getMessage();
        assertTrue(m.contains("c.yaml:3"), m);
        assertTrue(m.contains("model.hidden"), m);
        assertTrue(m.contains("model.hiddenSize"), m);
        assertTrue(error("modle:\n  layers: 2\n").getMessage().contains("sections: corpus, model, training"));
    }

    @Test
    void wrongTypesAndRangesNameValueAndAllowed() throws IOException {
        String m = error("training:\n  batchSize: lots\n").getMessage();
        assertTrue(m.contains("c.yaml:2") && m.contains("training.batchSize") && m.contains("'lots'") && m.contains("integer from 1"), m);
        m = error("model:\n  hiddenSize: 0\n").getMessage();
        assertTrue(m.contains("model.hiddenSize 0 is out of range"), m);
        m = error("corpus:\n  validationFraction: 1.5\n").getMessage();
        assertTrue(m.contains("corpus.validationFraction") && m.contains("> 0"), m);
        m = error("training:\n  sampling: shuffled\n").getMessage();
        assertTrue(m.contains("consecutive, random"), m);
        m = error("", "training.learningRate=-1").getMessage();
        assertTrue(m.startsWith("--set: training.learningRate"), m);
        m = error("", "nokey").getMessage();
        assertTrue(m.contains("key=value"), m);
        m = error("model: [1, 2]\n").getMessage();
        assertTrue(m.contains("model"), m);
    }

    @Test
    void typeTagsAndBadYamlAreRefused() throws IOException {
        String m = error("model:\n  layers: !!javax.script.ScriptEngineManager [!!java.net.URLClassLoader [[!!java.net.URL [\"http://x\"]]]]\n").getMessage();
        assertTrue(m.contains("tag") && m.contains("c.yaml:2"), m); // SnakeYAML's own refusal of global tags
        m = error("model:\n  layers: !custom 3\n").getMessage();
        assertTrue(m.contains("type tag !custom"), m);
        m = error("model: {layers: 2\n").getMessage();
        assertTrue(m.contains("not valid YAML"), m);
        m = error("model:\n  layers: 2\n  layers: 3\n").getMessage();
        assertTrue(m.contains("c.yaml:3: model.layers is set twice (first at ") && m.contains("c.yaml:2)"), m);
        m = error("model.layers: 2\nmodel:\n  layers: 3\n").getMessage();
        assertTrue(m.contains("set twice"), m);
    }

    @Test
    void missingFileAndDirectory() {
        TextgenException e = assertThrows(TextgenException.class, () -> ConfigLoader.load(dir.resolve("nope.yaml"), List.of()));
        assertTrue(e.getMessage().contains("does not exist"));
        e = assertThrows(TextgenException.class, () -> ConfigLoader.load(dir, List.of()));
        assertTrue(e.getMessage().contains("is a directory"));
    }

    @Test
    void effectiveConfigRoundTrips() throws IOException {
        RunConfig c = ConfigLoader.load(yaml("model:\n  hiddenSize: 77\ntraining:\n  seed: -5\n  lrDecay: 0.97\n"), List.of("corpus.path=/a/b.txt"));
        RunConfig back = ConfigLoader.fromStoredYaml(ConfigLoader.toYaml(c), "stored");
        assertEquals(c, back);
    }
}
