package textgen.ui;

import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.ui.model.storage.InMemoryStatsStorage;
import textgen.train.Trainer;
import textgen.train.TrainingUi;

import java.util.UUID;

/**
 * {@link TrainingUi} with DL4J's own parts: a StatsListener ({@link NetworkStatsListener}) on the network being trained writes into an
 * {@link InMemoryStatsStorage}, which DL4J's UI server ({@link LoopbackUIServer}, on 127.0.0.1) shows. The session is
 * named after the run directory. The score the UI charts is DL4J's: the minibatch loss summed over the
 * {@code training.tbpttLength} time steps (textgen prints it per character).
 */
public final class TrainingUiServer implements TrainingUi {
    static {
        // Vert.x 3.9 logs through java.util.logging unless told otherwise; textgen logs through slf4j-simple (quiet)
        if (System.getProperty("vertx.logger-delegate-factory-class-name") == null) {
            System.setProperty("vertx.logger-delegate-factory-class-name", "io.vertx.core.logging.SLF4JLogDelegateFactory");
        }
    }

    private final InMemoryStatsStorage storage = new InMemoryStatsStorage();
    private String session = UUID.randomUUID().toString();
    private LoopbackUIServer server;

    public TrainingUiServer() {
        // loads DL4J's server class and Vert.x's now, so that missing jars show in TrainingUi.load() (one line), not at start()
        Class<?> server = LoopbackUIServer.class;
    }

    @Override
    public String start(int port) {
        if (server != null) throw new IllegalStateException("the training UI runs already");
        server = LoopbackUIServer.start(port);
        server.attach(storage);
        return "http://" + LoopbackUIServer.HOST + ":" + server.getPort() + "/train/overview";
    }

    @Override
    public void onStart(Trainer.Plan plan) {
        session = plan.runDir().getFileName().toString();
    }

    /** A new listener per network (the divergence guard may replace it), all in one session: one chart per run. */
    @Override
    public void onNetwork(MultiLayerNetwork network) {
        network.addListeners(new NetworkStatsListener(storage, session));
    }

    @Override
    public void close() {
        if (server == null) return;
        try {
            server.stopQuietly();
        } finally {
            server = null;
        }
    }
}
