package textgen.config;

import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.RecordComponent;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Every config key textgen knows, read once from the {@link Key} declarations on {@link RunConfig}'s section records,
 * in the order the effective config is written; and the two directions between a flat key -> value map and the
 * typed {@link RunConfig}. Nothing else lists keys.
 */
public final class ConfigSchema {
    private record Binding(ConfigKey key, RecordComponent component) {
    }

    private static final List<Binding> BINDINGS = bindings();
    public static final List<ConfigKey> KEYS = BINDINGS.stream().map(Binding::key).toList();
    private static final Map<String, ConfigKey> BY_NAME = new LinkedHashMap<>();

    static {
        for (ConfigKey k : KEYS) BY_NAME.put(k.name(), k);
    }

    private ConfigSchema() {
    }

    public static ConfigKey get(String name) {
        return BY_NAME.get(name);
    }

    /** Section names ("corpus", "model", "training"), for messages about unknown keys. */
    public static List<String> sections() {
        return Arrays.stream(RunConfig.class.getRecordComponents()).map(RecordComponent::getName).toList();
    }

    public static List<String> keysIn(String section) {
        return KEYS.stream().map(ConfigKey::name).filter(n -> n.startsWith(section + ".")).toList();
    }

    /** The keys a resumed run may change, alphabetically. */
    public static List<String> resumableKeys() {
        return KEYS.stream().filter(ConfigKey::resumable).map(ConfigKey::name).sorted().toList();
    }

    /** The keys a fine-tuning run takes from its checkpoint, in schema order. */
    public static List<String> inheritedKeys() {
        return KEYS.stream().filter(ConfigKey::inherited).map(ConfigKey::name).toList();
    }

    /** The typed config of validated values (every key present, parsed by its {@link ConfigKey}). */
    static RunConfig build(Map<String, Object> values) {
        RecordComponent[] sections = RunConfig.class.getRecordComponents();
        Object[] parts = new Object[sections.length];
        for (int s = 0; s < sections.length; s++) {
            String prefix = sections[s].getName() + ".";
            List<Object> args = new ArrayList<>();
            for (Binding b : BINDINGS) {
                if (!b.key().name().startsWith(prefix)) continue;
                Object v = values.get(b.key().name());
                Class<?> type = b.component().getType();
                args.add(type.isEnum() ? enumConstant(type, (String) v) : v);
            }
            parts[s] = construct(sections[s].getType(), args.toArray());
        }
        return (RunConfig) construct(RunConfig.class, parts);
    }

    /** Flat key -> value, enums as their config names: the inverse of {@link #build}. */
    static Map<String, Object> values(RunConfig config) {
        Map<String, Object> out = new LinkedHashMap<>();
        for (RecordComponent section : RunConfig.class.getRecordComponents()) {
            Object record = read(section, config);
            for (Binding b : BINDINGS) {
                if (b.component().getDeclaringRecord() != section.getType()) continue;
                Object v = read(b.component(), record);
                out.put(b.key().name(), v instanceof Enum<?> e ? e.name().toLowerCase(Locale.ROOT) : v);
            }
        }
        return out;
    }

    /** The key list of {@code train --help}: name, default, what is allowed and what it does. */
    public static String helpText() {
        StringBuilder sb = new StringBuilder();
        for (ConfigKey k : KEYS) {
            sb.append(wrap("  " + k.name() + " (default " + defaultText(k) + "; " + k.allowed() + (k.resumable() ? "; may change on --resume" : "") + ")", "    "));
            sb.append(wrap("      " + k.description(), "      "));
        }
        return sb.toString().replace("%", "%%").replace("\n", "%n");
    }

    /** README's key table (between its config-keys markers; a test keeps the two equal). */
    public static String markdownTable() {
        StringBuilder sb = new StringBuilder("| key | default | allowed | meaning |\n|---|---|---|---|\n");
        for (ConfigKey k : KEYS) {
            sb.append("| ").append(k.name()).append(" | ").append(defaultText(k)).append(" | ").append(k.allowed())
                    .append(k.resumable() ? "; may change on `--resume`" : "").append(" | ")
                    .append(k.description().replace("|", "\\|").replace("<", "&lt;")).append(" |\n");
        }
        return sb.toString();
    }

    /** {@code line} broken at spaces into lines of at most 80 characters, continued with {@code indent}; each ends with a newline. */
    private static String wrap(String line, String indent) {
        StringBuilder out = new StringBuilder();
        String rest = line;
        while (rest.length() > 80) {
            int cut = rest.lastIndexOf(' ', 80);
            if (cut <= indent.length()) cut = rest.indexOf(' ', 81) < 0 ? rest.length() : rest.indexOf(' ', 81);
            out.append(rest, 0, cut).append("\n");
            rest = indent + rest.substring(cut).strip();
        }
        return out.append(rest).append("\n").toString();
    }

    private static String defaultText(ConfigKey k) {
        return k.defaultValue() == null ? "–" : String.valueOf(k.defaultValue());
    }

    private static List<Binding> bindings() {
        List<Binding> out = new ArrayList<>();
        for (RecordComponent section : RunConfig.class.getRecordComponents()) {
            for (RecordComponent c : section.getType().getRecordComponents()) {
                Key key = c.getAnnotation(Key.class);
                if (key == null) throw new IllegalStateException(section.getName() + "." + c.getName() + " has no @Key declaration");
                out.add(new Binding(keyOf(section.getName(), c, key), c));
            }
        }
        return List.copyOf(out);
    }

    private static ConfigKey keyOf(String section, RecordComponent c, Key key) {
        String name = section + "." + (key.name().isEmpty() ? c.getName() : key.name());
        Class<?> t = c.getType();
        List<String> choices = t.isEnum()
                ? Arrays.stream(t.getEnumConstants()).map(e -> ((Enum<?>) e).name().toLowerCase(Locale.ROOT)).toList()
                : List.of(key.choices());
        ConfigKey.Kind kind;
        if (t == int.class) kind = ConfigKey.Kind.INT;
        else if (t == long.class) kind = ConfigKey.Kind.LONG;
        else if (t == double.class) kind = ConfigKey.Kind.DOUBLE;
        else if (t == boolean.class) kind = ConfigKey.Kind.BOOL;
        else if (t.isEnum() || (t == String.class && !choices.isEmpty())) kind = ConfigKey.Kind.CHOICE;
        else if (t == String.class) kind = ConfigKey.Kind.STRING;
        else throw new IllegalStateException(name + ": no config type for " + t);
        if (kind == ConfigKey.Kind.BOOL) choices = List.of("true", "false");
        ConfigKey shape = new ConfigKey(name, kind, null, key.min(), key.max(), key.minExclusive(), key.maxExclusive(), choices, key.doc(),
                key.resumable(), key.inherited(), key.path());
        Object def = key.def().isEmpty() ? null : shape.parse(key.def());
        if (def == null && kind != ConfigKey.Kind.STRING) throw new IllegalStateException(name + " needs a default");
        return new ConfigKey(name, kind, def, key.min(), key.max(), key.minExclusive(), key.maxExclusive(), choices, key.doc(), key.resumable(), key.inherited(), key.path());
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private static Object enumConstant(Class<?> type, String name) {
        return Enum.valueOf((Class) type, name.toUpperCase(Locale.ROOT));
    }

    private static Object construct(Class<?> record, Object[] args) {
        try {
            Class<?>[] types = Arrays.stream(record.getRecordComponents()).map(RecordComponent::getType).toArray(Class<?>[]::new);
            Constructor<?> ctor = record.getDeclaredConstructor(types);
            return ctor.newInstance(args);
        } catch (InvocationTargetException e) {
            throw e.getCause() instanceof RuntimeException re ? re : new IllegalStateException(e.getCause());
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("cannot build " + record.getSimpleName(), e);
        }
    }

    private static Object read(RecordComponent c, Object record) {
        try {
            return c.getAccessor().invoke(record);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("cannot read " + c.getName(), e);
        }
    }
}
