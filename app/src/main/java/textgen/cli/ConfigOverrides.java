package textgen.cli;

import picocli.CommandLine.Option;
import textgen.config.ConfigSchema;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/** {@code --set KEY=VALUE}, repeatable: any config key (train, summary). */
final class ConfigOverrides {
    @Option(names = "--set", paramLabel = "KEY=VALUE", completionCandidates = Keys.class,
            description = "Override any config key, e.g. --set model.hiddenSize=512 (repeatable; the keys are listed below).")
    List<String> sets = new ArrayList<>();

    /** What shell completion offers after {@code --set}: every config key, as {@code key=}. */
    static final class Keys implements Iterable<String> {
        @Override
        public Iterator<String> iterator() {
            return ConfigSchema.KEYS.stream().map(k -> k.name() + "=").iterator();
        }
    }
}
