package textgen.model;

import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.EmbeddingSequenceLayer;
import org.deeplearning4j.nn.conf.layers.FeedForwardLayer;
import org.deeplearning4j.nn.conf.layers.Layer;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * A Keras-style model summary: each layer with its input and output shape and parameter count, and the total,
 * computed from the configuration alone (nothing is allocated or trained). Shapes are (batch, time, features), as
 * Keras prints them, with None for the sizes a minibatch decides.
 */
public final class ModelSummary {
    private ModelSummary() {
    }

    public record Row(String name, String type, String inputShape, String outputShape, long parameters) {
    }

    public static List<Row> rows(MultiLayerConfiguration conf) {
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < conf.getConfs().size(); i++) {
            NeuralNetConfiguration c = conf.getConf(i);
            Layer l = c.getLayer();
            long in = l instanceof FeedForwardLayer f ? f.getNIn() : -1, out = l instanceof FeedForwardLayer f ? f.getNOut() : -1;
            String input = l instanceof EmbeddingSequenceLayer ? "(None, None)" : shape(in);
            rows.add(new Row(l.getLayerName() != null ? l.getLayerName() : "layer" + i, type(l), input, shape(out),
                    l.initializer().numParams(c)));
        }
        return rows;
    }

    public static long total(List<Row> rows) {
        return rows.stream().mapToLong(Row::parameters).sum();
    }

    /** The table, Keras's layout. */
    public static String format(MultiLayerConfiguration conf) {
        List<Row> rows = rows(conf);
        StringBuilder b = new StringBuilder();
        String line = "-".repeat(86) + "\n";
        b.append(String.format(Locale.ROOT, "%-34s %-18s %-18s %12s%n", "Layer (type)", "Input shape", "Output shape", "Param #"));
        b.append("=".repeat(86)).append('\n');
        for (Row r : rows) {
            b.append(String.format(Locale.ROOT, "%-34s %-18s %-18s %,12d%n", r.name() + " (" + r.type() + ")", r.inputShape(), r.outputShape(), r.parameters()));
        }
        b.append(line);
        b.append(String.format(Locale.ROOT, "Total params: %,d%n", total(rows)));
        return b.toString();
    }

    private static String shape(long features) {
        return features < 0 ? "?" : "(None, None, " + features + ")";
    }

    /** The layer's kind, as DL4J names it (the fast layers are the stock ones to the user). */
    private static String type(Layer l) {
        if (l instanceof FastLstm) return "LSTM";
        if (l instanceof FastGru) return "GRU";
        if (l instanceof FastRnnOutput) return "RnnOutputLayer";
        if (l instanceof CarriedSimpleRnn) return "SimpleRnn";
        return l.getClass().getSimpleName();
    }
}
