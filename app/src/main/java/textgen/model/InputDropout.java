package textgen.model;

import org.deeplearning4j.nn.conf.dropout.Dropout;
import org.deeplearning4j.nn.conf.dropout.IDropout;
import org.nd4j.linalg.factory.Nd4j;

import java.nio.FloatBuffer;
import java.util.SplittableRandom;

/**
 * DL4J's inverted {@link Dropout} (keep each input element with probability p, scaled by 1/p) for the fast layers,
 * applied to the time-major rows they copy their input into, and to the input gradient they return. DL4J's own
 * (a mask array, then ND4J multiplications across arrays of different layouts, in the forward and the backward
 * pass) took 19% of the training thread's time on configs/shakespeare.yaml (2 x 256, dropout 0.1; async-profiler).
 *
 * <p>The mask comes from a {@link SplittableRandom} seeded by one draw from ND4J's generator, which the training
 * step seeds: the step's seed fixes the masks, as it fixes DL4J's (so resume stays bit-identical), but they are not
 * the masks DL4J would draw. A pass in training draws a mask; the backward pass after it applies the same one.
 */
final class InputDropout {
    private final float scale;
    private final long threshold; // keep an element when its 32 random bits are below this
    private float[] mask;
    private final float[] chunk = new float[4096];
    private int masked; // elements of the last training pass's mask

    private InputDropout(double keep) {
        scale = (float) (1.0 / keep);
        threshold = Math.round(keep * 0x1p32);
    }

    /** The fast dropout for a layer's dropout setting; null when it has none, or one only DL4J's code runs. */
    static InputDropout of(IDropout d) {
        return d instanceof Dropout dropout && dropout.getPSchedule() == null && dropout.getP() > 0 && dropout.getP() <= 1
                ? new InputDropout(dropout.getP()) : null;
    }

    /** Draws a mask for {@code n} elements and applies it to {@code x} in place. */
    void apply(FloatBuffer x, int n) {
        if (mask == null || mask.length < n) mask = new float[n];
        SplittableRandom random = new SplittableRandom(Nd4j.getRandom().nextLong());
        for (int i = 0; i < n; i += 2) { // two elements per 64 random bits; branch-free: (u - threshold) < 0 keeps
            long bits = random.nextLong();
            mask[i] = (((bits & 0xffffffffL) - threshold) >>> 63) * scale;
            if (i + 1 < n) mask[i + 1] = (((bits >>> 32) - threshold) >>> 63) * scale;
        }
        multiply(x, n);
        masked = n;
    }

    /** The gradient through the last mask: {@code dx} (the input gradient, {@code n} elements) times it, in place. */
    void backprop(FloatBuffer dx, int n) {
        if (masked != n) throw new IllegalStateException("dropout: backward pass over " + n + " input elements, the forward pass masked " + masked);
        multiply(dx, n);
    }

    /** {@code x} times the mask, through a chunk on the heap (array loops vectorise; per-element buffer access does not). */
    private void multiply(FloatBuffer x, int n) {
        float[] c = chunk;
        for (int from = 0; from < n; from += c.length) {
            int len = Math.min(c.length, n - from);
            x.get(from, c, 0, len);
            for (int i = 0; i < len; i++) c[i] *= mask[from + i];
            x.put(from, c, 0, len);
        }
    }
}
