package textgen.cli;

import picocli.CommandLine.Option;
import textgen.config.ConfigLoader;
import textgen.config.RunConfig;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** {@code --config FILE} and {@code --corpus PATH}: where a new run's config and text come from (train, summary). */
final class ConfigSource {
    @Option(names = "--config", paramLabel = "FILE", description = "YAML config (see configs/); defaults are used for keys it leaves out.")
    Path config;

    @Option(names = "--corpus", paramLabel = "PATH", description = "Training text: a file, folder or glob (overrides corpus.path).")
    Path corpus;

    /** The config file (none: the defaults) with {@code overrides} and then --corpus applied. */
    static RunConfig load(ConfigSource source, List<String> overrides) {
        List<String> all = new ArrayList<>(overrides);
        if (source != null && source.corpus != null) all.add("corpus.path=" + source.corpus);
        return ConfigLoader.load(source == null ? null : source.config, all);
    }

    /** The name of a new run's default directory: the config file's name, or "run". */
    static String runName(ConfigSource source) {
        return source == null || source.config == null ? "run" : source.config.getFileName().toString().replaceFirst("\\.ya?ml$", "");
    }
}
