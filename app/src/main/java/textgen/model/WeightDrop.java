package textgen.model;

import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.api.layers.RecurrentLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import textgen.config.RunConfig;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * {@code model.recurrentDropout}: weight drop (DropConnect on the recurrent weight matrix, as AWD-LSTM, Merity et al.
 * 2017), the same for every cell. For one training step, every recurrent layer's recurrent weight RW (the key its cell
 * declares, {@link CellLayers#recurrentWeightKey}) is replaced in the parameter array by RW * M / (1 - p), M a 0/1
 * mask drawn element-wise with P(1) = 1 - p; the forward and backward pass run on that matrix unchanged (fast CPU
 * kernels, DL4J's layers, any backend); then RW is put back and its gradient multiplied by M / (1 - p) (the chain rule
 * through the mask), before clipping and Adam see it. {@link CarriedStateNetwork#computeGradientAndScore} does this
 * around each optimizer step; nothing else (evaluation, sampling, scoring) ever sees a masked matrix.
 *
 * <p>M depends only on (run seed, iteration, layer index): drawn on the host by {@link SplittableRandom}, so it is the
 * same on every backend, on every device of a data-parallel run (one mask per minibatch, as one network would draw
 * it), and again after {@code --resume}.
 */
public final class WeightDrop {
    private final double p;
    private final String key;
    private final long seed;

    WeightDrop(double p, String key, long seed) {
        if (!(p > 0 && p < 1)) throw new IllegalArgumentException("weight drop probability " + p + " is not in (0, 1)");
        this.p = p;
        this.key = key;
        this.seed = seed;
    }

    /** The weight drop {@code model.recurrentDropout} asks for, masks seeded by {@code seed}; null when it is 0 (off). */
    public static WeightDrop of(RunConfig.ModelConfig model, long seed) {
        if (model.recurrentDropout() == 0) return null;
        return new WeightDrop(model.recurrentDropout(), CellLayers.of(model.cell()).recurrentWeightKey(), seed);
    }

    public double probability() {
        return p;
    }

    /** The parameter key masked in every recurrent layer. */
    public String key() {
        return key;
    }

    /**
     * M / (1 - p) for the step at {@code iteration} of layer {@code layer}: 0 or 1/(1-p) per element, element i (in
     * row-major order of {@code shape}) from the i-th draw of a generator seeded by (seed, iteration, layer).
     */
    INDArray scaledMask(long iteration, int layer, long[] shape, DataType type) {
        SplittableRandom rng = generator(seed, iteration, layer);
        long n = 1;
        for (long s : shape) n *= s;
        if (n > Integer.MAX_VALUE) throw new IllegalArgumentException("recurrent weight of " + n + " elements is too large to mask");
        double scale = 1.0 / (1.0 - p);
        try (MemoryWorkspace ws = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
            if (type == DataType.DOUBLE) {
                double[] m = new double[(int) n];
                for (int i = 0; i < m.length; i++) m[i] = rng.nextDouble() < p ? 0 : scale;
                return Nd4j.create(m, shape, 'c');
            }
            float[] m = new float[(int) n];
            float s = (float) scale;
            for (int i = 0; i < m.length; i++) m[i] = rng.nextDouble() < p ? 0f : s;
            INDArray a = Nd4j.create(m, shape, 'c');
            return type == DataType.FLOAT ? a : a.castTo(type);
        }
    }

    /** A generator for (seed, iteration, layer): each component hashed in turn by SplittableRandom's mixing function. */
    static SplittableRandom generator(long seed, long iteration, int layer) {
        long s = new SplittableRandom(seed).nextLong();
        s = new SplittableRandom(s ^ iteration).nextLong();
        return new SplittableRandom(s ^ layer);
    }

    /**
     * Masks the recurrent weight of every recurrent layer of {@code net} for the optimizer step at {@code iteration};
     * the caller runs the forward and backward pass, then {@link Step#scaleGradients} and {@link Step#restore}.
     */
    Step apply(MultiLayerNetwork net, long iteration) {
        List<Masked> masked = new ArrayList<>();
        Layer[] layers = net.getLayers();
        try (MemoryWorkspace ws = Nd4j.getWorkspaceManager().scopeOutOfWorkspaces()) {
            for (int i = 0; i < layers.length; i++) {
                if (!(layers[i] instanceof RecurrentLayer)) continue;
                Layer l = layers[i];
                if (!l.paramTable().containsKey(key)) {
                    throw new IllegalStateException("recurrent layer " + i + " (" + l.getClass().getSimpleName() + ") has no recurrent weight '"
                            + key + "' to drop: its parameters are " + l.paramTable().keySet());
                }
                INDArray rw = l.getParam(key);
                INDArray mask = scaledMask(iteration, i, rw.shape(), rw.dataType());
                masked.add(new Masked(l, rw, rw.dup(), mask));
                rw.muli(mask);
            }
        }
        return new Step(masked);
    }

    private record Masked(Layer layer, INDArray param, INDArray saved, INDArray mask) {
    }

    /** One step's masked layers: what to scale and to put back. */
    final class Step {
        private final List<Masked> masked;

        private Step(List<Masked> masked) {
            this.masked = masked;
        }

        /** Multiplies each recurrent weight's gradient (in the network's gradient array, which clipping and the updater read) by M / (1 - p). */
        void scaleGradients() {
            for (Masked m : masked) {
                Layer l = m.layer();
                INDArray grad = l.conf().getLayer().initializer().getGradientsFromFlattened(l.conf(), l.getGradientsViewArray()).get(key);
                grad.muli(m.mask());
            }
        }

        /** Puts the unmasked recurrent weights back and frees the step's arrays. */
        void restore() {
            for (Masked m : masked) {
                m.param().assign(m.saved());
                if (m.saved().closeable()) m.saved().close();
                if (m.mask().closeable()) m.mask().close();
            }
        }
    }
}
