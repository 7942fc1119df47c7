package textgen.config;

import org.yaml.snakeyaml.DumperOptions;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.error.YAMLException;
import org.yaml.snakeyaml.nodes.MappingNode;
import org.yaml.snakeyaml.nodes.Node;
import org.yaml.snakeyaml.nodes.NodeTuple;
import org.yaml.snakeyaml.nodes.ScalarNode;
import org.yaml.snakeyaml.nodes.Tag;
import textgen.TextgenException;

import java.io.IOException;
import java.io.Reader;
import java.io.StringReader;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Reads a YAML config (nested sections or dotted keys), applies {@code key=value} overrides and validates every value
 * against {@link ConfigSchema}. The YAML is only composed into nodes, never constructed into objects, and any explicit
 * type tag is refused, so a config cannot instantiate anything.
 */
public final class ConfigLoader {
    private static final int MAX_CONFIG_BYTES = 1 << 20;
    private static final Set<Tag> PLAIN_TAGS = Set.of(Tag.STR, Tag.INT, Tag.FLOAT, Tag.BOOL, Tag.NULL, Tag.MAP);

    private record Raw(String value, String origin) {
    }

    private ConfigLoader() {
    }

    /** Loads a config file (may be null: defaults only) and applies overrides in order. */
    public static RunConfig load(Path file, List<String> overrides) {
        Map<String, Raw> raw = new LinkedHashMap<>();
        if (file != null) readYaml(file, raw);
        for (String o : overrides) applyOverride(o, raw);
        return validate(raw);
    }

    /** Parses the YAML text of a config that was stored with a checkpoint (keys are already absolute). */
    public static RunConfig fromStoredYaml(String yaml, String origin) {
        Map<String, Raw> raw = new LinkedHashMap<>();
        flatten(compose(new StringReader(yaml), origin), "", origin, null, raw);
        return validate(raw);
    }

    /** A config ({@code base}; null: the defaults) with {@code key=value} overrides applied, validated again. */
    public static RunConfig override(RunConfig base, List<String> overrides) {
        Map<String, Raw> raw = new LinkedHashMap<>();
        if (base != null) base.toValues().forEach((k, v) -> raw.put(k, new Raw(v == null ? null : String.valueOf(v), "stored config")));
        for (String o : overrides) applyOverride(o, raw);
        return validate(raw);
    }

    private static void readYaml(Path file, Map<String, Raw> raw) {
        if (!Files.exists(file)) throw TextgenException.usage("config file " + file + " does not exist");
        if (Files.isDirectory(file)) throw TextgenException.usage("config file " + file + " is a directory, not a YAML file");
        String text;
        try {
            if (Files.size(file) > MAX_CONFIG_BYTES)
                throw TextgenException.usage("config file " + file + " is larger than 1 MiB: not a config");
            text = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .decode(java.nio.ByteBuffer.wrap(Files.readAllBytes(file))).toString();
        } catch (CharacterCodingException e) {
            throw TextgenException.usage("config file " + file + " is not UTF-8 text");
        } catch (IOException e) {
            throw TextgenException.usage("cannot read config file " + file + ": " + e.getMessage());
        }
        Node root = compose(new StringReader(text), file.toString());
        Path base = file.toAbsolutePath().getParent();
        flatten(root, "", file.toString(), base, raw);
    }

    private static Node compose(Reader reader, String origin) {
        LoaderOptions options = new LoaderOptions();
        options.setAllowDuplicateKeys(false);
        options.setMaxAliasesForCollections(10);
        options.setNestingDepthLimit(10);
        options.setCodePointLimit(MAX_CONFIG_BYTES);
        Yaml yaml = new Yaml(new SafeConstructor(options));
        try {
            return yaml.compose(reader);
        } catch (MarkedYAMLException e) {
            int line = e.getProblemMark() == null ? 0 : e.getProblemMark().getLine() + 1;
            throw TextgenException.usage(origin + ":" + line + ": not valid YAML: " + TextgenException.oneLine(e.getProblem()));
        } catch (YAMLException e) {
            throw TextgenException.usage(origin + ": not valid YAML: " + TextgenException.oneLine(e.getMessage()));
        }
    }

    private static void flatten(Node node, String prefix, String file, Path base, Map<String, Raw> out) {
        if (node == null) return; // empty file: all defaults
        String where = file + ":" + (node.getStartMark().getLine() + 1);
        if (!(node instanceof MappingNode map)) {
            throw TextgenException.usage(where + ": " + (prefix.isEmpty() ? "the config" : prefix)
                    + " must be a mapping of keys (sections " + String.join(", ", ConfigSchema.sections()) + ")");
        }
        checkTag(node, where, prefix);
        for (NodeTuple t : map.getValue()) {
            Node k = t.getKeyNode();
            String kw = file + ":" + (k.getStartMark().getLine() + 1);
            if (!(k instanceof ScalarNode ks)) throw TextgenException.usage(kw + ": config keys must be plain names");
            String key = prefix.isEmpty() ? ks.getValue() : prefix + "." + ks.getValue();
            Node v = t.getValueNode();
            if (v instanceof MappingNode) {
                if (ConfigSchema.get(key) != null) throw TextgenException.usage(kw + ": " + key + " must be a single value, not a mapping");
                if (!isSectionPrefix(key)) throw unknownKey(key, kw);
                flatten(v, key, file, base, out);
            } else if (v instanceof ScalarNode sv) {
                checkTag(v, kw, key);
                if (ConfigSchema.get(key) == null) throw unknownKey(key, kw);
                if (out.containsKey(key)) {
                    throw TextgenException.usage(kw + ": " + key + " is set twice (first at " + out.get(key).origin() + ")");
                }
                String value = sv.getTag().equals(Tag.NULL) ? null : sv.getValue();
                if (value != null && base != null && ConfigSchema.get(key).path() && !value.isBlank()) {
                    value = base.resolve(value.trim()).normalize().toString();
                }
                out.put(key, new Raw(value, kw));
            } else {
                throw TextgenException.usage(kw + ": " + key + " must be a single value, not a list");
            }
        }
    }

    private static void checkTag(Node node, String where, String key) {
        Tag tag = node.getTag();
        if (!PLAIN_TAGS.contains(tag)) {
            throw TextgenException.usage(where + ": " + (key.isEmpty() ? "the config" : key)
                    + " has type tag " + tag.getValue() + ": type tags are not allowed in a config");
        }
    }

    private static boolean isSectionPrefix(String key) {
        return ConfigSchema.KEYS.stream().anyMatch(k -> k.name().startsWith(key + "."));
    }

    private static TextgenException unknownKey(String key, String where) {
        String section = key.contains(".") ? key.substring(0, key.indexOf('.')) : key;
        String known = ConfigSchema.sections().contains(section)
                ? "keys in " + section + ": " + String.join(", ", ConfigSchema.keysIn(section))
                : "sections: " + String.join(", ", ConfigSchema.sections());
        return TextgenException.usage(where + ": unknown config key '" + key + "' (" + known + ")");
    }

    private static void applyOverride(String override, Map<String, Raw> raw) {
        int eq = override.indexOf('=');
        if (eq <= 0) {
            throw TextgenException.usage("--set " + override + ": expected key=value, e.g. --set training.batchSize=64");
        }
        String key = override.substring(0, eq).trim();
        String value = override.substring(eq + 1);
        if (ConfigSchema.get(key) == null) throw unknownKey(key, "--set");
        if (ConfigSchema.get(key).path() && !value.isBlank()) value = Path.of(value.trim()).toAbsolutePath().normalize().toString();
        raw.put(key, new Raw(value.equals("null") ? null : value, "--set"));
    }

    private static RunConfig validate(Map<String, Raw> raw) {
        Map<String, Object> values = new LinkedHashMap<>();
        for (ConfigKey key : ConfigSchema.KEYS) {
            Raw r = raw.get(key.name());
            if (r == null) {
                values.put(key.name(), key.defaultValue());
                continue;
            }
            try {
                values.put(key.name(), key.parse(r.value()));
            } catch (IllegalArgumentException e) {
                throw TextgenException.usage(r.origin() + ": " + key.name() + " " + e.getMessage());
            }
        }
        Raw act = raw.get("model.activation");
        RunConfig.Cell cell = RunConfig.Cell.valueOf(((String) values.get("model.cell")).toUpperCase(Locale.ROOT));
        if (act != null && "relu".equals(values.get("model.activation")) && !cell.takesActivation()) {
            throw TextgenException.usage(act.origin() + ": model.activation relu applies to model.cell simple only ("
                    + cell.name() + " cells use tanh)");
        }
        if ("char".equals(values.get("corpus.tokenizer"))) {
            for (String k : List.of("corpus.lowercase", "corpus.maxVocabulary", "corpus.minCount")) {
                Raw r = raw.get(k);
                if (r != null && !values.get(k).equals(ConfigSchema.get(k).defaultValue()))
                    throw TextgenException.usage(r.origin() + ": " + k + " applies to corpus.tokenizer word only (this corpus is read as characters)");
            }
        }
        int devices = (Integer) values.get("training.devices"), batch = (Integer) values.get("training.batchSize");
        if (batch % devices != 0) {
            Raw r = raw.containsKey("training.devices") ? raw.get("training.devices") : raw.get("training.batchSize");
            throw TextgenException.usage(r.origin() + ": training.batchSize " + batch + " does not split evenly over training.devices "
                    + devices + " (each device trains batchSize / devices of every minibatch's rows): make batchSize a multiple of devices");
        }
        String master = (String) values.get("training.spark.master");
        if (master != null && !master.isBlank()) {
            int workers = (Integer) values.get("training.spark.workers");
            if (batch % workers != 0) {
                Raw r = raw.containsKey("training.spark.workers") ? raw.get("training.spark.workers") : raw.get("training.batchSize");
                throw TextgenException.usage(r.origin() + ": training.batchSize " + batch + " does not split evenly over training.spark.workers "
                        + workers + " (each worker trains batchSize / workers of the streams): make batchSize a multiple of workers");
            }
            if (devices > 1) {
                throw TextgenException.usage(raw.get("training.devices").origin() + ": training.devices " + devices + " and training.spark.master "
                        + master + " exclude each other: train on this machine's devices or on the Spark cluster");
            }
        }
        return ConfigSchema.build(values);
    }

    /** The effective config as nested YAML, with every key, for run directories and checkpoints. */
    public static String toYaml(RunConfig config) {
        Map<String, Object> nested = new LinkedHashMap<>();
        config.toValues().forEach((k, v) -> {
            int dot = k.indexOf('.');
            @SuppressWarnings("unchecked")
            Map<String, Object> section = (Map<String, Object>) nested.computeIfAbsent(k.substring(0, dot), s -> new LinkedHashMap<>());
            section.put(k.substring(dot + 1), v);
        });
        DumperOptions opts = new DumperOptions();
        opts.setDefaultFlowStyle(DumperOptions.FlowStyle.BLOCK);
        return new Yaml(opts).dump(nested);
    }
}
