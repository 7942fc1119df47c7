package textgen.ui;

import org.deeplearning4j.core.storage.StatsStorageRouter;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.ui.model.stats.StatsListener;
import org.deeplearning4j.ui.model.stats.api.StatsInitializationReport;
import org.deeplearning4j.ui.model.stats.api.StatsUpdateConfiguration;
import org.deeplearning4j.ui.model.stats.impl.DefaultStatsUpdateConfiguration;
import org.deeplearning4j.ui.model.stats.impl.SbeStatsInitializationReport;
import textgen.model.FastLstm;

/**
 * DL4J's {@link StatsListener}, describing textgen's network the way DL4J's UI understands it. The UI recognises a
 * model by its class name ending in "MultiLayerNetwork" (else the model page's data requests fail), so textgen's
 * subclass is reported as {@link MultiLayerNetwork}; and its layers by their stock classes (LSTM, RnnOutputLayer), as
 * checkpoints name them, rather than the fast twins that run them.
 *
 * <p>It collects what the UI's pages show and nothing else (DL4J's default also computes histograms of gradients and
 * activations and six more summaries that no page reads): the reports stay in memory for the whole run, one every
 * 10 iterations (DL4J's default).
 */
final class NetworkStatsListener extends StatsListener {
    /** What the overview, model and system pages read (DL4J 1.0.0-M2.1's TrainModule). */
    static final StatsUpdateConfiguration SHOWN = new DefaultStatsUpdateConfiguration.Builder()
            .collectHistogramsGradients(false).collectHistogramsActivations(false)
            .collectMeanParameters(false).collectMeanGradients(false).collectMeanUpdates(false)
            .collectStdevParameters(false)
            .collectMeanMagnitudesGradients(false).collectMeanMagnitudesActivations(false)
            .build();

    NetworkStatsListener(StatsStorageRouter router, String sessionId) {
        super(router, null, SHOWN, sessionId, null);
    }

    @Override
    public StatsInitializationReport getNewInitializationReport() {
        return new SbeStatsInitializationReport() {
            @Override
            public void reportModelInfo(String modelClassName, String modelConfigJson, String[] modelParamNames, int numLayers,
                                        long numParams) {
                super.reportModelInfo(MultiLayerNetwork.class.getName(), FastLstm.portable(modelConfigJson), modelParamNames,
                        numLayers, numParams);
            }
        };
    }
}
