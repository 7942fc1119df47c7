package textgen.config;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Declares a config key on the record component that holds its value: the key's name is {@code section.component}
 * (the section is the {@link RunConfig} component holding the record), its type is the component's type (int, long,
 * double, boolean, String, or an enum whose constants, lowercased, are the allowed values). This one declaration
 * gives the schema check, the typed config, the effective-config YAML, the key list of {@code train --help} and
 * README, and the resume rule ({@link ConfigSchema}).
 */
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.RECORD_COMPONENT)
public @interface Key {
    /** The default, written as in a config file; "" means none (strings only: null). */
    String def();

    /** What the key does, for --help and README. */
    String doc();

    double min() default Double.NEGATIVE_INFINITY;

    double max() default Double.POSITIVE_INFINITY;

    /** The minimum itself is not allowed (e.g. a learning rate > 0). */
    boolean minExclusive() default false;

    /** The maximum itself is not allowed (e.g. a drop probability < 1). */
    boolean maxExclusive() default false;

    /** For a String component: the allowed values (none: any string). */
    String[] choices() default {};

    /** A resumed run ({@code train --resume}) may change it: limits and reporting, nothing that changes the model. */
    boolean resumable() default false;

    /** A fine-tuning run ({@code train --init-from}) takes it from the checkpoint: it shapes the network or the vocabulary. */
    boolean inherited() default false;

    /** A file path: relative values in a config file resolve against the file's directory, on the command line against the working directory. */
    boolean path() default false;

    /** The name in the config file when it is not the component's name. */
    String name() default "";
}
