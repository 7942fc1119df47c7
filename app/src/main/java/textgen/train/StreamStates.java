package textgen.train;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The carried state of a minibatch's streams (layer -> state key -> [streams, hidden]) cut into the parts that
 * data-parallel runners give their devices or workers (rows [from, to): their streams) and joined back in order.
 */
public final class StreamStates {
    private StreamStates() {
    }

    /** Rows [from, to) of every array of {@code state}, copied; each array must hold {@code total} rows. */
    public static Map<Integer, Map<String, INDArray>> rows(Map<Integer, Map<String, INDArray>> state, long from, long to, long total) {
        Map<Integer, Map<String, INDArray>> out = new HashMap<>();
        state.forEach((layer, m) -> {
            Map<String, INDArray> part = new HashMap<>();
            m.forEach((key, a) -> {
                if (a.size(0) != total) throw new IllegalStateException("carried state of " + a.size(0) + " rows for " + total + " streams");
                part.put(key, a.get(NDArrayIndex.interval(from, to), NDArrayIndex.all()).dup());
            });
            out.put(layer, part);
        });
        return out;
    }

    /** The parts' rows one after the other, part 0 first (the inverse of {@link #rows}); empty when the parts are. */
    public static Map<Integer, Map<String, INDArray>> join(List<Map<Integer, Map<String, INDArray>>> parts) {
        Map<Integer, Map<String, INDArray>> out = new HashMap<>();
        parts.get(0).forEach((layer, first) -> {
            Map<String, INDArray> joined = new HashMap<>();
            for (String key : first.keySet()) {
                joined.put(key, Nd4j.concat(0, parts.stream().map(p -> p.get(layer).get(key)).toArray(INDArray[]::new)));
            }
            out.put(layer, joined);
        });
        return out;
    }

    /** A copy of {@code state} that shares no array with it. */
    public static Map<Integer, Map<String, INDArray>> copy(Map<Integer, Map<String, INDArray>> state) {
        Map<Integer, Map<String, INDArray>> out = new HashMap<>();
        state.forEach((layer, m) -> {
            Map<String, INDArray> c = new HashMap<>();
            m.forEach((k, a) -> c.put(k, a.dup()));
            out.put(layer, c);
        });
        return out;
    }
}
