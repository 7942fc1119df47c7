package textgen.model;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.layers.recurrent.RnnOutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.activations.impl.ActivationSoftmax;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import textgen.tensor.TokenTensors;

import java.nio.FloatBuffer;


/**
 * Next-token probabilities from a trained network, for sampling and scoring: feeds tokens (one-hot, or as ids to an
 * embedding layer) to several streams and carries each stream's state from call to call, as {@code rnnTimeStep} does.
 * For a network of CPU-kernel recurrent layers ({@link FastLstmLayer}s, {@link GruLayer}s on {@link GruKernel}; after
 * an embedding lookup, if any) and a softmax {@code RnnOutputLayer} it copies the parameters once and runs the
 * lookup, the kernels and the output layer itself: DL4J's {@code rnnTimeStep} costs about 3 ms per call in copies and bookkeeping, more than the arithmetic of a
 * 2 x 512 model at batch 1. Any other network goes through its own {@code rnnTimeStep} state: call {@link #reset}
 * before and after use.
 *
 * <p>Over 300 lines because its two implementations (the kernels and DL4J's {@code rnnTimeStep}) and the per-cell
 * state they carry are one contract, chosen in {@link #of}; splitting them would expose the kernels' state types.
 * {@link #warmUp} runs the kernels' implementation on a model of its own, so it lives with it.
 */
public abstract class Predictor {
    final int vocab;
    private final long rowFloats;

    Predictor(MultiLayerNetwork net) {
        this.vocab = (int) net.layerSize(net.getnLayers() - 1);
        long floats = 2L * vocab;
        for (int i = 0; i < net.getnLayers(); i++) floats += net.layerInputSize(i) + 9 * net.layerSize(i);
        this.rowFloats = floats;
    }

    private Predictor(int vocab) {
        this.vocab = vocab;
        this.rowFloats = 0;
    }

    /** The fast path when the network allows it, else DL4J's {@code rnnTimeStep}. */
    public static Predictor of(MultiLayerNetwork net) {
        Layer[] layers = net.getLayers();
        int first = embedding(net) ? 1 : 0;
        boolean fast = net.getLayerWiseConfigurations().getDataType() == DataType.FLOAT && layers.length >= 2 + first
                && layers[layers.length - 1] instanceof RnnOutputLayer out
                && out.layerConf().getActivationFn() instanceof ActivationSoftmax
                && (first == 0 || embeddingIsALookup(net));
        for (int i = first; i < layers.length - 1; i++) fast &= hasKernel(layers[i]);
        // through a factory method: Predictor.of then never loads Kernels (the CUDA build has no CPU BLAS for it)
        return fast ? Kernels.create(net) : new Dl4j(net);
    }

    /** What {@link #warmUp} returns: closing it stops the warm-up and waits for it. */
    public interface WarmUp extends AutoCloseable {
        @Override
        void close();
    }

    /**
     * Starts running the fast path's Java code (the kernels, the output layer, the softmax) on a small throwaway model
     * in a background thread, until the returned handle is closed. Commands that sample or score start it before they
     * read their checkpoint: HotSpot then compiles that code on the second core while the checkpoint loads. Otherwise it
     * compiles it while the text is generated, on the cores the products need: the first 500 characters of a 2 x 512
     * model took 800-960 us each instead of about 280. Does nothing where the fast path is not used (not the CPU
     * backend) or there is one core.
     */
    public static WarmUp warmUp() {
        if (!NetworkFactory.useFastLstm() || CpuKernels.THREADS < 2) return () -> { };
        return Kernels.startWarmUp();
    }

    /** Whether {@code layer} is a recurrent layer {@link Kernels} can run (see {@code Kernels.cell}). */
    private static boolean hasKernel(Layer layer) {
        return layer instanceof FastLstmLayer || layer instanceof GruLayer g && g.usesCpuKernel();
    }

    /** Whether the network takes token ids through an embedding layer (else one-hot vectors). */
    static boolean embedding(MultiLayerNetwork net) {
        return net.getLayerWiseConfigurations().getConf(0).getLayer() instanceof org.deeplearning4j.nn.conf.layers.EmbeddingSequenceLayer;
    }

    /** An embedding without bias or activation (what textgen builds): its output is a row of the weights. */
    private static boolean embeddingIsALookup(MultiLayerNetwork net) {
        var e = (org.deeplearning4j.nn.conf.layers.EmbeddingSequenceLayer) net.getLayerWiseConfigurations().getConf(0).getLayer();
        return !e.hasBias() && e.getActivationFn() instanceof org.nd4j.linalg.activations.impl.ActivationIdentity;
    }

    public int vocabSize() {
        return vocab;
    }

    /**
     * About how many floats one row (one stream, one step) of a {@link #feed} keeps in memory: each layer's input, its
     * gate pre-activations, the states it caches and its output (up to 9 x its width, the GRU's), the probabilities.
     * Callers that feed many streams at once size their chunks by it.
     */
    public long rowFloats() {
        return rowFloats;
    }

    /** Forgets every stream's state: the next {@link #feed} starts from zeros. */
    public abstract void reset();

    /**
     * Feeds tokens {@code ids[s][from .. from+n)} to stream s (the number of streams must not change between resets)
     * and returns the probabilities of the token after each: {@code p[(s*n + t)*V + v]}.
     */
    public abstract float[] feed(int[][] ids, int from, int n);

    /**
     * As {@link #feed}, but the returned array is the predictor's own, overwritten by the next call: for scoring,
     * where every chunk has the same size, the fast path then allocates its arrays once instead of per chunk (fresh
     * ones cost an evaluation of a 110,000-character validation split about 100 MB of garbage, and a long run's heap
     * grew with it).
     */
    public float[] feedReusing(int[][] ids, int from, int n) {
        return feed(ids, from, n);
    }

    /** One recurrent layer's kernel and the state it carries from call to call. */
    private interface Cell {
        int hiddenSize();

        /** Runs {@code n} steps of {@code streams} streams on time-major rows {@code x}, from the carried state, into {@code out}. */
        void run(float[] x, int n, int streams, float[] out);

        void reset();
    }

    /** An LSTM layer: state h and c. */
    private static final class LstmCell implements Cell {
        private final LstmKernel k;
        private float[] h, c;

        LstmCell(LstmKernel k) {
            this.k = k;
        }

        @Override
        public int hiddenSize() {
            return k.hiddenSize();
        }

        @Override
        public void run(float[] x, int n, int streams, float[] out) {
            k.prepare(n, streams).put(0, x);
            k.setInitialState(h, c);
            k.infer();
            k.outputs(out);
            h = k.lastH();
            c = k.lastC();
        }

        @Override
        public void reset() {
            h = null;
            c = null;
        }
    }

    /** A GRU layer: state h. */
    private static final class GruCell implements Cell {
        private final GruKernel k;
        private float[] h;

        GruCell(GruKernel k) {
            this.k = k;
        }

        @Override
        public int hiddenSize() {
            return k.hiddenSize();
        }

        @Override
        public void run(float[] x, int n, int streams, float[] out) {
            k.prepare(n, streams).put(0, x);
            k.setInitialState(h);
            k.forward();
            k.outputs(out);
            h = k.lastH();
        }

        @Override
        public void reset() {
            h = null;
        }
    }

    /** The recurrent kernels and the output layer run directly on copies of the parameters. */
    private static final class Kernels extends Predictor {
        private final Cell[] cells;
        private final int hidden; // of the last recurrent layer
        private final FloatBuffer outWT; // [V, H] row-major
        private final float[] outBias;
        private final float[] embedding; // [V, E] row-major, or null for one-hot input
        private FloatBuffer top, logits;
        // feedReusing's arrays: the input, each LSTM layer's output, the probabilities, one row of logits
        private float[] input, probs, row;
        private final float[][] outputs;

        static Predictor create(MultiLayerNetwork net) {
            return new Kernels(net);
        }

        /** See {@link Predictor#warmUp}: one LSTM and one GRU layer, so that both kernels are compiled. */
        static WarmUp startWarmUp() {
            int v = 16, h = 64;
            LstmKernel lstm = new LstmKernel(v, h);
            GruKernel gru = new GruKernel(h, h);
            for (FloatBuffer w : new FloatBuffer[]{lstm.wT, lstm.rwT, gru.wT, gru.rwT}) {
                for (int i = 0; i < w.capacity(); i++) w.put(i, ((i * 37) % 101 - 50) * 0.002f);
            }
            float[] outW = new float[v * h];
            for (int i = 0; i < outW.length; i++) outW[i] = ((i * 53) % 97 - 48) * 0.002f;
            Kernels model = new Kernels(new Cell[]{new LstmCell(lstm), new GruCell(gru)}, outW, new float[v]);
            java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
            Throwable[] failure = new Throwable[1];
            Thread thread = new Thread(() -> {
                int[][] one = new int[1][1], chunk = new int[2][64];
                // as sampling (one token at a time, arrays returned) and scoring (chunks, arrays reused) call it
                for (int i = 0; i < 20_000 && !stop.get(); i++) {
                    one[0][0] = i % v;
                    model.feed(one, 0, 1);
                    if (i % 32 == 31) { // the number of streams changes: state from zeros
                        model.reset();
                        model.feedReusing(chunk, 0, 64);
                        model.reset();
                    }
                }
            }, "textgen-warm-up");
            thread.setDaemon(true);
            thread.setUncaughtExceptionHandler((t, e) -> failure[0] = e);
            thread.start();
            return () -> {
                stop.set(true);
                try {
                    thread.join();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                // a bug in the kernels, not in the user's input: as loud as it would be on the real model
                if (failure[0] != null) throw new IllegalStateException("kernel warm-up failed", failure[0]);
            };
        }

        private Kernels(MultiLayerNetwork net) {
            super(net);
            Layer[] layers = net.getLayers();
            int first = embedding(net) ? 1 : 0;
            embedding = first == 1 ? NdCopy.read(layers[0].getParam("W")) : null;
            cells = new Cell[layers.length - 1 - first];
            for (int i = 0; i < cells.length; i++) cells[i] = cell(layers[first + i]);
            outputs = new float[cells.length][];
            Layer out = layers[layers.length - 1];
            INDArray w = out.getParam("W"); // [H, V]
            hidden = (int) w.size(0);
            outWT = CpuKernels.alloc((long) vocab * hidden);
            outWT.put(0, NdCopy.read(w.transpose()));
            outBias = NdCopy.read(out.getParam("b"));
        }

        /** A model of one-hot input, the given cells and an output layer of weights [V, H] (row-major) and bias. */
        private Kernels(Cell[] cells, float[] outWT, float[] outBias) {
            super(outBias.length);
            this.cells = cells;
            this.outputs = new float[cells.length][];
            this.embedding = null;
            this.hidden = outWT.length / outBias.length;
            this.outWT = CpuKernels.alloc(outWT.length);
            this.outWT.put(0, outWT);
            this.outBias = outBias;
        }

        /** A copy of the kernel of a layer {@link #hasKernel} accepts. */
        private static Cell cell(Layer layer) {
            return layer instanceof FastLstmLayer lstm ? new LstmCell(lstm.kernelCopy()) : new GruCell(((GruLayer) layer).kernelCopy());
        }

        @Override
        public void reset() {
            for (Cell cell : cells) cell.reset();
        }

        @Override
        public float[] feed(int[][] ids, int from, int n) {
            return feedReusing(ids, from, n).clone();
        }

        @Override
        public float[] feedReusing(int[][] ids, int from, int n) {
            int streams = ids.length, rows = n * streams;
            float[] x; // time-major rows t*S + s: one-hot vectors, or embedding rows
            if (embedding == null) {
                x = input = zeros(input, rows * vocab);
                for (int s = 0; s < streams; s++) TokenTensors.oneHotRow(ids[s], from, n, s, streams, vocab, x);
            } else {
                int e = embedding.length / vocab;
                x = input = reuse(input, rows * e);
                for (int s = 0; s < streams; s++) {
                    for (int t = 0; t < n; t++) System.arraycopy(embedding, ids[s][from + t] * e, x, (t * streams + s) * e, e);
                }
            }
            for (int l = 0; l < cells.length; l++) {
                float[] out = outputs[l] = reuse(outputs[l], rows * cells[l].hiddenSize());
                cells[l].run(x, n, streams, out);
                x = out;
            }
            // logits = bias + h W, then softmax per row
            top = CpuKernels.ensure(top, (long) rows * hidden);
            logits = CpuKernels.ensure(logits, (long) rows * vocab);
            top.put(0, x);
            for (int r = 0; r < rows; r++) logits.put(r * vocab, outBias);
            if (rows == 1) {
                Blas.CPU.sgemv(false, vocab, hidden, 1f, outWT, hidden, top, 1f, logits);
            } else {
                Blas.CPU.sgemm(false, true, rows, vocab, hidden, 1f, top, hidden, outWT, hidden, 1f, logits, vocab);
            }
            float[] p = probs = reuse(probs, rows * vocab);
            row = reuse(row, vocab);
            for (int t = 0; t < n; t++) {
                for (int s = 0; s < streams; s++) {
                    logits.get((t * streams + s) * vocab, row);
                    softmax(row);
                    System.arraycopy(row, 0, p, (s * n + t) * vocab, vocab);
                }
            }
            return p;
        }

        /** {@code a} when it has exactly {@code n} elements (callers rely on the length), else a new array. */
        private static float[] reuse(float[] a, int n) {
            return a != null && a.length == n ? a : new float[n];
        }

        private static float[] zeros(float[] a, int n) {
            if (a == null || a.length != n) return new float[n];
            java.util.Arrays.fill(a, 0f);
            return a;
        }

        private static void softmax(float[] z) {
            float max = Float.NEGATIVE_INFINITY;
            for (float v : z) max = Math.max(max, v);
            double sum = 0;
            for (int i = 0; i < z.length; i++) {
                double e = Math.exp(z[i] - max);
                z[i] = (float) e;
                sum += e;
            }
            float inv = (float) (1 / sum);
            for (int i = 0; i < z.length; i++) z[i] *= inv;
        }
    }

    /** Through DL4J's {@code rnnTimeStep}. */
    private static final class Dl4j extends Predictor {
        private final MultiLayerNetwork net;

        Dl4j(MultiLayerNetwork net) {
            super(net);
            this.net = net;
        }

        @Override
        public void reset() {
            net.rnnClearPreviousState();
        }

        @Override
        public float[] feed(int[][] ids, int from, int n) {
            int streams = ids.length;
            int[] starts = new int[streams];
            java.util.Arrays.fill(starts, from);
            INDArray in = embedding(net) ? TokenTensors.ids(ids, starts, n) : TokenTensors.oneHot(ids, from, n, vocab);
            float[] y = net.rnnTimeStep(in).dup('c').data().asFloat(); // [S, V, n]
            float[] p = new float[y.length];
            for (int s = 0; s < streams; s++) {
                for (int t = 0; t < n; t++) {
                    for (int v = 0; v < vocab; v++) p[(s * n + t) * vocab + v] = y[(s * vocab + v) * n + t];
                }
            }
            return p;
        }
    }
}
