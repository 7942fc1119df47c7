package textgen.config;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/**
 * README's key table and {@code train --help}'s key list come from the one declaration of each key ({@link Key} on
 * {@link RunConfig}). Run with {@code -Dtextgen.updateReadme=true} to rewrite README's table after changing a key.
 */
class ConfigDocsTest {
    private static final Path README = Path.of(System.getProperty("textgen.root", "..")).resolve("README.md");
    private static final String BEGIN = "<!-- config-keys:begin (generated from ConfigSchema; do not edit by hand) -->\n";
    private static final String END = "<!-- config-keys:end -->";

    @Test
    void readmeKeyTableIsTheDeclaredOne() throws Exception {
        String readme = Files.readString(README);
        int b = readme.indexOf(BEGIN), e = readme.indexOf(END);
        assertTrue(b >= 0 && e > b, "README.md has the config-keys markers");
        String table = readme.substring(b + BEGIN.length(), e);
        String declared = ConfigSchema.markdownTable();
        if (!table.equals(declared) && Boolean.getBoolean("textgen.updateReadme")) {
            Files.writeString(README, readme.substring(0, b + BEGIN.length()) + declared + readme.substring(e));
            return;
        }
        assertEquals(declared, table, "README's key table (regenerate: mvn test -Dtest=ConfigDocsTest -Dtextgen.updateReadme=true)");
    }

    @Test
    void everyKeyIsDeclaredOnceWithItsType() {
        assertEquals(ConfigSchema.KEYS.size(), ConfigSchema.KEYS.stream().map(ConfigKey::name).distinct().count());
        assertEquals(RunConfig.defaults().toValues().keySet().stream().toList(), ConfigSchema.KEYS.stream().map(ConfigKey::name).toList());
        assertEquals(ConfigKey.Kind.CHOICE, ConfigSchema.get("model.cell").kind());
        assertEquals(ConfigKey.Kind.LONG, ConfigSchema.get("training.seed").kind());
        assertTrue(ConfigSchema.resumableKeys().contains("training.maxIterations"));
        assertFalse(ConfigSchema.resumableKeys().contains("model.hiddenSize"));
        assertTrue(ConfigSchema.inheritedKeys().contains("model.hiddenSize") && !ConfigSchema.inheritedKeys().contains("model.dropout"));
        for (ConfigKey k : ConfigSchema.KEYS) assertTrue(ConfigSchema.helpText().contains("  " + k.name() + " (default "), k.name());
    }

    @Test
    void configsAreBuiltByName() {
        RunConfig c = RunConfig.defaults().with("model.hiddenSize", 64).with("training.sampling", RunConfig.Sampling.RANDOM);
        assertEquals(64, c.model().hiddenSize());
        assertEquals(RunConfig.Sampling.RANDOM, c.training().sampling());
        assertEquals(256, RunConfig.defaults().model().hiddenSize());
        assertThrows(textgen.TextgenException.class, () -> c.with("model.hiddenSize", 0), "validated like a config file");
    }
}
