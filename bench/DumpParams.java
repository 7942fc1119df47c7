import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.ndarray.INDArray;

import textgen.checkpoint.Checkpoint;

/**
 * Writes a textgen checkpoint's parameters for bench/word_lm.py's parity check: for every layer and parameter (in
 * DL4J's order) one header line {@code layer key rows cols} and the values, row-major float32 little-endian.
 *
 * <pre>java -cp "app/target/textgen.jar:app/target/lib/*" bench/DumpParams.java CHECKPOINT.zip OUT.bin</pre>
 */
public class DumpParams {
    public static void main(String[] args) throws IOException {
        MultiLayerNetwork net = Checkpoint.read(Path.of(args[0]), false).network();
        try (OutputStream os = Files.newOutputStream(Path.of(args[1])); DataOutputStream out = new DataOutputStream(os)) {
            for (int i = 0; i < net.getnLayers(); i++) {
                for (Map.Entry<String, INDArray> e : net.getLayer(i).paramTable().entrySet()) {
                    INDArray a = e.getValue();
                    long rows = a.rank() == 1 ? 1 : a.size(0), cols = a.rank() == 1 ? a.length() : a.size(1);
                    out.write((i + " " + e.getKey() + " " + rows + " " + cols + "\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                    float[] v = a.dup('c').data().asFloat();
                    ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
                    b.asFloatBuffer().put(v);
                    out.write(b.array());
                }
            }
        }
        System.exit(0);   // ND4J's non-daemon threads
    }
}
