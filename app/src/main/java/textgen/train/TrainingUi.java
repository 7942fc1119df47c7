package textgen.train;

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
        return Plugins.load(TrainingUi.class, MISSING);
    }
}
