package textgen.train;

import textgen.TextgenException;

import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;

/**
 * DL4J's training UI (score chart, parameter/update ratios, model and system pages) as a training listener: it
 * collects DL4J's statistics from the network being trained ({@link #onNetwork}) and serves them on 127.0.0.1 only.
 *
 * <p>The implementation, {@code textgen.ui.TrainingUiServer}, and its dependencies (Vert.x, the page's JavaScript,
 * about 33 MB) are left out of builds made with {@code -Dtextgen.noui}; {@link #load()} then fails with a message
 * that says how to build them in. Nothing outside {@code textgen.ui} may refer to it, so it is a service
 * ({@code META-INF/services/textgen.train.TrainingUi} names it; the noui jar leaves that file out).
 */
public interface TrainingUi extends TrainingListener, AutoCloseable {
    /** The message of a build without the UI. */
    String MISSING = "this textgen was built without the training UI (mvn -Dtextgen.noui); "
            + "build it with 'mvn -DskipTests package' to use --ui";

    /**
     * Starts serving on 127.0.0.1:{@code port} (0: any free port) and returns the address of the overview page. A port
     * that is already in use is a usage error.
     */
    String start(int port);

    /** Stops the server and its threads; does nothing when it is not running. */
    @Override
    void close();

    /** The training UI of this build (not started yet); a usage error when the build has none. */
    static TrainingUi load() {
        Throwable failure;
        try {
            return ServiceLoader.load(TrainingUi.class).findFirst().orElseThrow(() -> TextgenException.usage(MISSING));
        } catch (ServiceConfigurationError e) {
            // no cause: the service file names a class that is not there (classes left out, as in a noui build)
            if (e.getCause() == null) throw TextgenException.usage(MISSING, e);
            failure = e.getCause();
        } catch (LinkageError e) {
            failure = e;
        }
        if (failure instanceof LinkageError le) {
            throw TextgenException.usage(MISSING + " (its libraries are missing: " + le.getMessage() + ")", le);
        }
        throw new IllegalStateException("cannot create the training UI", failure);
    }
}
