package textgen.model;

import org.deeplearning4j.nn.api.Trainable;
import org.deeplearning4j.nn.conf.GradientNormalization;
import org.deeplearning4j.nn.gradient.Gradient;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.updater.MultiLayerUpdater;
import org.deeplearning4j.nn.updater.UpdaterBlock;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.regularization.Regularization;
import org.nd4j.linalg.ops.transforms.Transforms;

import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * DL4J's updater for a network trained with Adam and element-wise clipping (textgen's networks), doing in one pass
 * over the flat gradient, in Java, what {@link MultiLayerUpdater} does as a dozen ND4J operations per step: divide by
 * the minibatch size, clip each layer's gradient to its threshold, then Adam (the gradient view then holds the update,
 * which DL4J's step function subtracts from the parameters, as before). The updater state keeps DL4J's layout (per
 * updater block, Adam's m then v), so checkpoints, resuming, parameter averaging and DL4J's own updater all read and
 * continue the same state. On H200 L2 B32 T50 the stock updater took about a tenth of a training step.
 *
 * <p>The arithmetic is ND4J's, operation by operation, in float: g / batch; clip to [-t, t]; m = b1 m + g (1 - b1);
 * v = b2 v + g g (1 - b2); update = m epsT / (sqrt(v) + eps) with epsT = lr sqrt(1 - b2^(i+1)) / (1 - b1^(i+1)).
 * Anything else (another updater, regularization, other gradient normalization, an external gradient, a layer that
 * must not be divided by the minibatch, arrays that are not dense host floats) goes to DL4J's implementation.
 */
final class FusedAdamUpdater extends MultiLayerUpdater {
    /** A run of parameters with one clipping threshold inside one Adam block. */
    private record Run(int start, int end, float clip, UpdaterBlock block, int m, int v) {
    }

    private static final int CHUNK = 2048;

    private final List<Run> runs;
    private final int total;
    private long fusedSteps;
    private int powersAt = -1;
    private float[] powers = new float[4];

    /** Over {@code state}, DL4J's layout; {@link #runs} is null when some parameter needs DL4J's updater. */
    private FusedAdamUpdater(MultiLayerNetwork network, INDArray state) {
        super(network, state);
        this.runs = plan();
        this.total = runs == null || runs.isEmpty() ? 0 : runs.get(runs.size() - 1).end;
    }

    /** Whether the CPU training path uses this updater ({@code -Dtextgen.updater=dl4j} keeps DL4J's). */
    static boolean enabled() {
        return "cpu".equals(Backend.configuredBackend()) && !"dl4j".equals(System.getProperty("textgen.updater"));
    }

    /**
     * Puts a fused updater in place of {@code network}'s (over the same state) when every parameter qualifies;
     * returns whether it did.
     */
    static boolean install(MultiLayerNetwork network) {
        if (!(network.getUpdater(true) instanceof MultiLayerUpdater stock)) return false;
        if (stock instanceof FusedAdamUpdater) return true;
        INDArray state = stock.getStateViewArray();
        if (state == null || NdCopy.dense(state) == null || NdCopy.dense(network.params()) == null
                || NdCopy.dense(network.getGradientsViewArray()) == null) {
            return false;
        }
        FusedAdamUpdater fused = new FusedAdamUpdater(network, state);
        if (fused.runs == null) return false;
        network.setUpdater(fused);
        return true;
    }

    /** This updater's blocks as runs of parameters, in order, or null when one needs something not implemented here. */
    private List<Run> plan() {
        List<Run> out = new ArrayList<>();
        int expected = 0;
        for (UpdaterBlock ub : getUpdaterBlocks()) {
            if (!(ub.getGradientUpdater().getConfig() instanceof Adam adam) || adam.getClass() != Adam.class) return null;
            int len = ub.getParamOffsetEnd() - ub.getParamOffsetStart();
            if (ub.getUpdaterViewOffsetEnd() - ub.getUpdaterViewOffsetStart() != 2 * len) return null;
            for (UpdaterBlock.ParamState p : ub.getLayersAndVariablesInBlock()) {
                Trainable layer = p.getLayer();
                List<Regularization> reg = layer.getConfig().getRegularizationByParam(p.getParamName());
                if (reg != null && !reg.isEmpty()) return null;
                if (!layer.updaterDivideByMinibatch(p.getParamName())) return null;
                GradientNormalization norm = layer.getConfig().getGradientNormalization();
                float clip;
                if (norm == null || norm == GradientNormalization.None) clip = Float.NaN;
                else if (norm == GradientNormalization.ClipElementWiseAbsoluteValue) clip = (float) layer.getConfig().getGradientNormalizationThreshold();
                else return null;
                if (p.getParamOffsetStart() != expected) return null;
                int inBlock = p.getParamOffsetStart() - ub.getParamOffsetStart();
                out.add(new Run(p.getParamOffsetStart(), p.getParamOffsetEnd(), clip, ub,
                        ub.getUpdaterViewOffsetStart() + inBlock, ub.getUpdaterViewOffsetStart() + len + inBlock));
                expected = p.getParamOffsetEnd();
            }
        }
        return expected == network.numParams() ? out : null;
    }

    @Override
    public synchronized void update(Gradient gradient, int iteration, int epoch, int batchSize, LayerWorkspaceMgr workspaceMgr) {
        FloatBuffer g = sameMemory(gradient.gradient(), getFlattenedGradientsView()) ? NdCopy.dense(getFlattenedGradientsView()) : null;
        FloatBuffer state = NdCopy.dense(getStateViewArray());
        if (g == null || state == null || !network.conf().isMiniBatch()) {
            super.update(gradient, iteration, epoch, batchSize, workspaceMgr);
            return;
        }
        fusedSteps++;
        final float batch = batchSize;
        final int n = runs.size();
        final float[][] k = new float[n][];
        for (int i = 0; i < n; i++) k[i] = scalars((Adam) runs.get(i).block.getGradientUpdater().getConfig(), iteration, epoch);
        CpuKernels.inHalves(total, 1, (p0, p1) -> {
            for (int i = 0; i < n; i++) {
                Run r = runs.get(i);
                int a = Math.max(p0, r.start), b = Math.min(p1, r.end);
                if (a < b) run(g, state, r, batch, k[i], a, b);
            }
        });
    }

    /**
     * Adam's scalars for one step, as ND4J's adam_updater computes them in float: {b1, b2, eps, epsT} with
     * epsT = lr sqrt(1 - b2^(t+1)) / (1 - b1^(t+1)) (eps when that is not finite or zero). The powers come from
     * ND4J's own pow (its powf), which a Java pow does not always match in the last bit; they are kept for the step.
     */
    private float[] scalars(Adam adam, int iteration, int epoch) {
        float lr = (float) adam.getLearningRate(iteration, epoch);
        float b1 = (float) adam.getBeta1(), b2 = (float) adam.getBeta2(), eps = (float) adam.getEpsilon();
        if (iteration != powersAt || b1 != powers[0] || b2 != powers[1]) {
            float t = (float) iteration + 1;
            powers = new float[]{b1, b2, nd4jPow(b1, t), nd4jPow(b2, t)};
            powersAt = iteration;
        }
        float b1t = powers[2], b2t = powers[3];
        float epsT = (float) (lr * (float) Math.sqrt((float) (1.0 - b2t)) / (1.0 - b1t));
        if (Float.isNaN(epsT) || Float.isInfinite(epsT) || epsT == 0) epsT = eps;
        return new float[]{b1, b2, eps, epsT};
    }

    private static float nd4jPow(float base, float exponent) {
        return Transforms.pow(Nd4j.scalar(DataType.FLOAT, base), exponent, false).getFloat(0);
    }

    /** Steps this updater did itself (not through DL4J's): for tests. */
    long fusedSteps() {
        return fusedSteps;
    }

    /**
     * Whether the gradient DL4J passes is the network's own gradient view (a reshape of it, in M2.1, which DL4J
     * then treats as an "external" gradient): clipping works on the layers' views, so the fused pass needs them to be
     * the same memory.
     */
    private static boolean sameMemory(INDArray a, INDArray b) {
        return a == b || a.length() == b.length() && a.data().address() == b.data().address() && a.offset() == b.offset();
    }

    /** Parameters [p0, p1) of run {@code r}, in chunks copied to the heap (loops over direct buffers do not vectorize). */
    private static void run(FloatBuffer g, FloatBuffer state, Run r, float batch, float[] k, int p0, int p1) {
        final float b1 = k[0], b2 = k[1], eps = k[2], epsT = k[3];
        float[] gs = new float[CHUNK], ms = new float[CHUNK], vs = new float[CHUNK];
        final float lo = -r.clip, hi = r.clip, c1 = 1 - b1, c2 = 1 - b2;
        final boolean clip = !Float.isNaN(r.clip);
        for (int p = p0; p < p1; p += CHUNK) {
            int n = Math.min(CHUNK, p1 - p), m = r.m + (p - r.start), v = r.v + (p - r.start);
            g.get(p, gs, 0, n);
            state.get(m, ms, 0, n);
            state.get(v, vs, 0, n);
            for (int i = 0; i < n; i++) gs[i] = gs[i] / batch;
            if (clip) {
                // ND4J's clipbyvalue is x > hi ? hi : x < lo ? lo : x; min/max give the same floats (NaN too) and vectorize
                for (int i = 0; i < n; i++) gs[i] = Math.max(lo, Math.min(hi, gs[i]));
            }
            for (int i = 0; i < n; i++) ms[i] = b1 * ms[i] + gs[i] * c1;
            for (int i = 0; i < n; i++) vs[i] = b2 * vs[i] + gs[i] * gs[i] * c2;
            for (int i = 0; i < n; i++) gs[i] = (ms[i] * epsT) / ((float) Math.sqrt(vs[i]) + eps);
            g.put(p, gs, 0, n);
            state.put(m, ms, 0, n);
            state.put(v, vs, 0, n);
        }
    }
}
