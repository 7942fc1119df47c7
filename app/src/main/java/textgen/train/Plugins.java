package textgen.train;

import textgen.TextgenException;

import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;

/**
 * The optional parts of a build (the training UI, Spark), found as services: a build made without one (-Dtextgen.noui,
 * -Dtextgen.nospark) leaves out its classes, its libraries and the file naming it, and asking for it is a usage error
 * that says how to build it in.
 */
final class Plugins {
    private Plugins() {
    }

    /** The implementation of {@code type} this build has; a usage error with {@code missing} when it has none. */
    static <T> T load(Class<T> type, String missing) {
        Throwable failure;
        try {
            return ServiceLoader.load(type).findFirst().orElseThrow(() -> TextgenException.usage(missing));
        } catch (ServiceConfigurationError e) {
            // no cause: the service file names a class that is not there (classes left out of the build)
            if (e.getCause() == null) throw TextgenException.usage(missing, e);
            failure = e.getCause();
        } catch (LinkageError e) {
            failure = e;
        }
        if (failure instanceof LinkageError le) {
            throw TextgenException.usage(missing + " (its libraries are missing: " + le.getMessage() + ")", le);
        }
        throw new IllegalStateException("cannot create " + type.getSimpleName(), failure);
    }
}
