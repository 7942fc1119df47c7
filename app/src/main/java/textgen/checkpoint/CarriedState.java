package textgen.checkpoint;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.api.layers.RecurrentLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import textgen.TextgenException;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The hidden state that consecutive training carries from one minibatch to the next, as a checkpoint entry, so
 * {@code --resume} continues the streams exactly. A small format of its own (big-endian): "TGCS", version, layer count,
 * then per layer its index and its arrays (name, rows, columns, float32 values in row order). The reader checks every
 * size against the network before allocating anything.
 */
final class CarriedState {
    private static final int MAGIC = 0x54474353; // "TGCS"
    private static final int VERSION = 1;
    private static final Set<String> KEYS = Set.of("prevAct", "prevMem");

    private CarriedState() {
    }

    static byte[] encode(Map<Integer, Map<String, INDArray>> state) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        DataOutputStream out = new DataOutputStream(bytes);
        out.writeInt(MAGIC);
        out.writeInt(VERSION);
        out.writeInt(state.size());
        for (var layer : new TreeMap<>(state).entrySet()) {
            out.writeInt(layer.getKey());
            out.writeInt(layer.getValue().size());
            for (var e : new TreeMap<>(layer.getValue()).entrySet()) {
                INDArray a = e.getValue();
                if (a.rank() != 2) throw new IOException("carried state '" + e.getKey() + "' has rank " + a.rank());
                out.writeUTF(e.getKey());
                out.writeInt((int) a.size(0));
                out.writeInt((int) a.size(1));
                for (float f : a.castTo(DataType.FLOAT).dup('c').data().asFloat()) out.writeFloat(f);
            }
        }
        out.flush();
        return bytes.toByteArray();
    }

    static Map<Integer, Map<String, INDArray>> decode(byte[] bytes, MultiLayerNetwork net, int maxRows, String name) {
        String bad = name + ": " + Checkpoint.CARRIED + " is damaged";
        try {
            DataInputStream in = new DataInputStream(new ByteArrayInputStream(bytes));
            if (in.readInt() != MAGIC || in.readInt() != VERSION) throw TextgenException.usage(bad + " (unknown format)");
            Layer[] layers = net.getLayers();
            int nLayers = in.readInt();
            if (nLayers < 0 || nLayers > layers.length) throw TextgenException.usage(bad + " (" + nLayers + " layers)");
            Map<Integer, Map<String, INDArray>> state = new TreeMap<>();
            for (int l = 0; l < nLayers; l++) {
                int index = in.readInt();
                if (index < 0 || index >= layers.length || !(layers[index] instanceof RecurrentLayer) || state.containsKey(index))
                    throw TextgenException.usage(bad + " (layer " + index + " is not a recurrent layer of the network)");
                int nArrays = in.readInt();
                if (nArrays < 0 || nArrays > KEYS.size()) throw TextgenException.usage(bad + " (" + nArrays + " arrays)");
                Map<String, INDArray> arrays = new TreeMap<>();
                long columns = net.layerSize(index);
                for (int k = 0; k < nArrays; k++) {
                    String key = in.readUTF();
                    int rows = in.readInt();
                    int cols = in.readInt();
                    if (!KEYS.contains(key) || rows < 1 || rows > maxRows || cols != columns)
                        throw TextgenException.usage(bad + " (array '" + key + "' of " + rows + " x " + cols + ")");
                    float[] v = new float[rows * cols];
                    for (int i = 0; i < v.length; i++) v[i] = in.readFloat();
                    arrays.put(key, Nd4j.create(v, new long[]{rows, cols}, 'c'));
                }
                state.put(index, arrays);
            }
            if (in.available() != 0) throw TextgenException.usage(bad + " (trailing bytes)");
            return state;
        } catch (IOException e) {
            throw TextgenException.usage(bad + " (truncated)");
        }
    }
}
