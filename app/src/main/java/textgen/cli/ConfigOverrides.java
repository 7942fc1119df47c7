package textgen.cli;

import picocli.CommandLine.Option;

import java.util.ArrayList;
import java.util.List;

/** {@code --set KEY=VALUE}, repeatable: any config key (train, summary). */
final class ConfigOverrides {
    @Option(names = "--set", paramLabel = "KEY=VALUE",
            description = "Override any config key, e.g. --set model.hiddenSize=512 (repeatable; the keys are listed below).")
    List<String> sets = new ArrayList<>();
}
