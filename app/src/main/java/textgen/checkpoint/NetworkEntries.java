package textgen.checkpoint;

import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.nd4j.linalg.api.buffer.DataBuffer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import textgen.TextgenException;
import textgen.model.CarriedStateNetwork;
import textgen.model.FastLstm;

import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.Deflater;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;

/**
 * The network's part of a checkpoint: DL4J's own entries ({@code configuration.json}, {@code coefficients.bin},
 * {@code updaterState.bin}), written in {@link ModelSerializer}'s format with stock layer names only (so DL4J's own
 * ModelSerializer restores them), and read back with every size checked before DL4J sees it.
 */
final class NetworkEntries {
    private NetworkEntries() {
    }

    /**
     * Writes {@code net} with its updater state as DL4J's entries of {@code zip}: what ModelSerializer.writeModel
     * writes, streamed into the checkpoint instead of built in memory first (a 2 x 512 model's parameters and Adam
     * state passed through ~150 MB of byte arrays that way, a peak of a training run's heap).
     */
    static void write(ZipOutputStream zip, MultiLayerNetwork net) throws IOException {
        // stock layer names only: the checkpoint restores in plain DL4J and on any backend
        ZipEntries.put(zip, "configuration.json",
                FastLstm.portable(net.getLayerWiseConfigurations().toJson()).getBytes(StandardCharsets.UTF_8));
        putArray(zip, "coefficients.bin", net.params());
        INDArray state = net.getUpdater().getStateViewArray();
        if (state != null && state.length() > 0) putArray(zip, "updaterState.bin", state);
    }

    /**
     * One array as an entry, in Nd4j.write's format (what ModelSerializer writes and {@link #floats} reads), not
     * compressed: a 2 x 512 model's checkpoint (40 MB of parameters and Adam state) took 2.0 s to write, on the
     * training thread at every evaluation, 1.5 s of it in deflate, which made the file 7% smaller; now about 0.4-0.5.
     */
    private static void putArray(ZipOutputStream zip, String entry, INDArray array) throws IOException {
        zip.setLevel(Deflater.NO_COMPRESSION);
        try {
            zip.putNextEntry(new ZipEntry(entry));
            DataOutputStream out = new DataOutputStream(new UnlockedBuffer(zip)); // flushed, not closed: that would close the zip
            org.nd4j.linalg.factory.Nd4j.write(array, out);
            out.flush();
            zip.closeEntry();
        } finally {
            zip.setLevel(Deflater.DEFAULT_COMPRESSION);
        }
    }

    /**
     * A BufferedOutputStream without its lock: Nd4j.write writes every float as four one-byte writes, and
     * BufferedOutputStream's synchronized write(int) made that 110-125 ms for a 2 x 512 model's Adam state (26 MB)
     * instead of about 31.
     */
    private static final class UnlockedBuffer extends OutputStream {
        private final OutputStream out;
        private final byte[] buf = new byte[1 << 16];
        private int n;

        UnlockedBuffer(OutputStream out) {
            this.out = out;
        }

        @Override
        public void write(int b) throws IOException {
            if (n == buf.length) drain();
            buf[n++] = (byte) b;
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            if (len > buf.length - n) drain();
            if (len >= buf.length) {
                out.write(b, off, len);
            } else {
                System.arraycopy(b, off, buf, n, len);
                n += len;
            }
        }

        @Override
        public void flush() throws IOException {
            drain();
            out.flush();
        }

        private void drain() throws IOException {
            if (n > 0) out.write(buf, 0, n);
            n = 0;
        }
    }

    /** Where the classes a configuration may name live: DL4J's and ND4J's own, and textgen's layers (the GRU). */
    static final List<String> KNOWN_PACKAGES = List.of("org.deeplearning4j.", "org.nd4j.", "textgen.model.");
    private static final Pattern CLASS_NAME = Pattern.compile("\"@class\"\\s*:\\s*\"([^\"]*)\"");

    /**
     * Refuses a configuration that names a class outside {@link #KNOWN_PACKAGES}: DL4J's JSON reader instantiates
     * whatever class an {@code @class} field names, so a checkpoint must not get to choose one.
     */
    static void checkClasses(String json, String name) {
        Matcher m = CLASS_NAME.matcher(json);
        while (m.find()) {
            String cls = m.group(1);
            if (KNOWN_PACKAGES.stream().noneMatch(cls::startsWith)) {
                String shown = TextgenException.oneLine(cls); // a damaged file's "class" may hold line breaks
                if (shown.length() > 120) shown = shown.substring(0, 120) + "...";
                throw TextgenException.usage(name + ": configuration.json names class \"" + shown
                        + "\", which is neither DL4J's, ND4J's nor a textgen layer: refused");
            }
        }
    }

    /** Largest network textgen loads (4 GiB of float32 parameters would not fit the memory it runs in anyway). */
    private static final long MAX_PARAMS = 1L << 30;

    /**
     * Restores the network as DL4J's ModelSerializer would (configuration, parameters, updater state), but checks
     * every size first: the parameter count the configuration implies must be plausible, the entries must hold
     * exactly that many floats, and arrays are rebuilt from their data alone, never from the shape header stored
     * beside it (a damaged header made DL4J read past its buffer and crash the JVM; found by FuzzTest).
     */
    static MultiLayerNetwork restore(ZipFile zip, boolean withUpdater, boolean fastLayers, String name) throws IOException {
        org.deeplearning4j.nn.conf.MultiLayerConfiguration conf;
        long params = 0;
        String json = ZipEntries.readText(zip, "configuration.json");
        checkClasses(json, name);
        try {
            conf = org.deeplearning4j.nn.conf.MultiLayerConfiguration.fromJson(json);
            for (org.deeplearning4j.nn.conf.NeuralNetConfiguration c : conf.getConfs()) {
                long n = c.getLayer().initializer().numParams(c);
                if (n < 0 || n > MAX_PARAMS) { params = -1; break; }
                params += n;
                if (params > MAX_PARAMS) break;
            }
        } catch (RuntimeException e) {
            throw TextgenException.usage(name + ": configuration.json is not a network configuration DL4J understands: " + TextgenException.oneLine(e));
        }
        if (params <= 0 || params > MAX_PARAMS) {
            throw TextgenException.usage(name + ": configuration.json describes " + params + " parameters: implausible, refused");
        }
        try {
            CarriedStateNetwork net = new CarriedStateNetwork(textgen.model.NetworkFactory.withTextgenLayers(conf, fastLayers));
            net.init(floats(zip, "coefficients.bin", params, name), false);
            if (withUpdater && zip.getEntry("updaterState.bin") != null) {
                INDArray view = net.getUpdater().getStateViewArray();
                long n = view == null ? 0 : view.length();
                if (n > 0) net.getUpdater().setStateViewArray(net, floats(zip, "updaterState.bin", n, name), false);
            }
            return net;
        } catch (TextgenException e) {
            throw e;
        } catch (Exception | OutOfMemoryError e) {
            throw TextgenException.usage(name + " holds a network DL4J cannot restore: " + TextgenException.oneLine(e));
        }
    }

    /**
     * A float32 row vector of exactly {@code n} values from an entry written by Nd4j.write: a shape buffer, skipped,
     * then the data buffer, whose header must say FLOAT and n, and whose values are decoded in bulk. (Nd4j.read
     * decodes them one DataInputStream.readFloat at a time and copies them twice: 0.5 s of loading a 2 x 512 model.)
     */
    private static INDArray floats(ZipFile zip, String entry, long n, String name) throws IOException {
        byte[] bytes = ZipEntries.readBytes(zip, entry, n * 4 + (1 << 16));
        if (bytes.length < n * 4 || bytes.length > n * 4 + (1 << 16)) {
            throw TextgenException.usage(name + ": " + entry + " holds " + bytes.length + " bytes, not the " + n * 4
                    + " that " + n + " float parameters need: damaged");
        }
        ByteBuffer in = ByteBuffer.wrap(bytes); // big-endian, as DataOutputStream wrote it
        try {
            BufferHeader shape = BufferHeader.read(in);
            in.position(Math.toIntExact(in.position() + Math.multiplyExact(shape.length, shape.type.width())));
            BufferHeader data = BufferHeader.read(in);
            if (data.type != DataType.FLOAT || data.length != n || in.remaining() < n * 4) {
                throw TextgenException.usage(name + ": " + entry + " does not hold " + n + " float32 values: damaged");
            }
        } catch (RuntimeException e) { // a header cut short or not one at all
            if (e instanceof TextgenException) throw e;
            throw TextgenException.usage(name + ": " + entry + " is damaged: " + TextgenException.oneLine(e));
        }
        float[] values = new float[(int) n];
        in.asFloatBuffer().get(values);
        return org.nd4j.linalg.factory.Nd4j.create(values, new long[]{1, n}, 'c');
    }

    /** A buffer's header as DataBuffer.write writes it: allocation mode, element count, data type. */
    private record BufferHeader(long length, DataType type) {
        static BufferHeader read(ByteBuffer in) {
            DataBuffer.AllocationMode mode = DataBuffer.AllocationMode.valueOf(utf(in));
            long length = mode.ordinal() < 3 ? in.getInt() : in.getLong(); // the three legacy modes wrote an int
            DataType type = DataType.valueOf(utf(in));
            if (length < 0) throw new IllegalArgumentException("negative length " + length);
            return new BufferHeader(length, type);
        }

        /** DataOutputStream.writeUTF's string (an unsigned 16-bit byte count, then the bytes; names are ASCII). */
        private static String utf(ByteBuffer in) {
            byte[] b = new byte[Short.toUnsignedInt(in.getShort())];
            in.get(b);
            return new String(b, StandardCharsets.UTF_8);
        }
    }
}
