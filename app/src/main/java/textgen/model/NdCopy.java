package textgen.model;

import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import textgen.tensor.HostArrays;

import java.lang.ref.Reference;
import java.nio.FloatBuffer;

/**
 * Bulk copies between float INDArrays and Java arrays through the array's native memory (ND4J's own
 * {@code asFloat()} and {@code setData(float[])} go element by element).
 *
 * <p>A buffer from {@code data().asNioFloat()} does not keep its INDArray reachable, and ND4J frees an array's memory
 * (outside workspaces) once the garbage collector finds the array unreachable, which compiled code may decide right
 * after the {@code asNioFloat()} call. So every method here keeps the array it reads or writes reachable until the
 * copy is done ({@link Reference#reachabilityFence}), and never returns a view of a temporary. Measured before the
 * fences: one validation in a WikiText-2 run scored 64.7 nats/word where the same checkpoint scores 7.28 (the output
 * weights read through a freed copy), once in eight evaluations.
 */
final class NdCopy {
    private NdCopy() {
    }

    /** The elements of {@code a} in row-major ('c') order. */
    static float[] read(INDArray a) {
        INDArray c = a.isView() || a.ordering() != 'c' || a.dataType() != DataType.FLOAT ? a.castTo(DataType.FLOAT).dup('c') : a;
        FloatBuffer fb = c.data().asNioFloat();
        float[] out = new float[(int) c.length()];
        fb.get(fb.position(), out, 0, out.length);
        Reference.reachabilityFence(c); // see the class comment
        return out;
    }

    /**
     * A new row-major array of {@code shape} and {@code dataType} holding {@code data}, in the workspace for
     * {@code type}. (Networks are FLOAT; DOUBLE is for DL4J's gradient checks.)
     */
    static INDArray write(float[] data, long[] shape, DataType dataType, ArrayType type, LayerWorkspaceMgr mgr) {
        INDArray out = mgr.createUninitialized(type, dataType, shape, 'c');
        if (dataType == DataType.FLOAT) HostArrays.fill(out, data);
        else out.assign(HostArrays.detached(data, shape));
        return out;
    }

    /**
     * The memory of {@code view} as a FloatBuffer positioned at its first element, when it is a dense FLOAT array
     * ('f' order [r, c] is row-major [c, r] in memory); else null.
     */
    static FloatBuffer dense(INDArray view) {
        if (view.dataType() != DataType.FLOAT || view.elementWiseStride() != 1) return null;
        return view.data().asNioFloat().slice(); // ND4J positions a view's buffer at its first element
    }

    /**
     * [B, F, T] sequences (DL4J's NCW) as time-major rows [T*B, F], row t*B + b holding step t of sequence b: the
     * array's own memory when it is laid out that way (what {@link #timeMajorArray} makes, so the layers pass
     * activations and gradients to each other without copies), else a copy. Read-only by convention.
     */
    static FloatBuffer timeMajor(INDArray ncw) {
        INDArray tbf = ncw.permute(2, 0, 1);
        if (tbf.dataType() == DataType.FLOAT && rowMajorDense(tbf)) return tbf.data().asNioFloat().slice(); // ncw's memory: the caller holds it
        // a copy: into memory the returned buffer owns, since nothing would keep an ND4J copy alive (see the class comment)
        FloatBuffer out = CpuKernels.alloc(tbf.length());
        timeMajor(ncw, out);
        return out;
    }

    /** The rows {@link #timeMajor(INDArray)} returns, copied into {@code dst} (from index 0) without a buffer in between. */
    static void timeMajor(INDArray ncw, FloatBuffer dst) {
        INDArray tbf = ncw.permute(2, 0, 1);
        if (tbf.dataType() != DataType.FLOAT || !rowMajorDense(tbf)) tbf = tbf.castTo(DataType.FLOAT).dup('c');
        dst.put(0, tbf.data().asNioFloat().slice(), 0, (int) tbf.length());
        Reference.reachabilityFence(tbf);
    }

    /** True when {@code a}'s strides are those of a dense row-major array of its shape (sizes of 1 have any stride). */
    static boolean rowMajorDense(INDArray a) {
        long expected = 1;
        for (int d = a.rank() - 1; d >= 0; d--) {
            if (a.size(d) != 1 && a.stride(d) != expected) return false;
            expected *= a.size(d);
        }
        return true;
    }

    /**
     * A new [B, F, T] array (NCW) of {@code dataType} in the workspace for {@code type}, holding time-major rows
     * {@code rows} [T*B, F]: a [T, B, F] row-major array, permuted, so the rows go in with one bulk copy and
     * {@link #timeMajor} reads them back without one. DL4J's layers take any strides.
     */
    static INDArray timeMajorArray(FloatBuffer rows, int batch, int features, int steps, DataType dataType, ArrayType type,
                                   LayerWorkspaceMgr mgr) {
        INDArray tbf = mgr.createUninitialized(type, dataType, new long[]{steps, batch, features}, 'c');
        put(tbf, rows);
        return tbf.permute(1, 2, 0);
    }

    /** Copies {@code src} (from index 0) into fresh row-major {@code dst}: one bulk copy for FLOAT, else a converting assign. */
    static void put(INDArray dst, FloatBuffer src) {
        int n = (int) dst.length();
        FloatBuffer d = dense(dst);
        if (d != null && dst.ordering() == 'c') {
            d.put(0, src, 0, n);
        } else {
            float[] v = new float[n];
            src.get(0, v);
            dst.assign(HostArrays.detached(v, dst.shape()));
        }
    }

    /** Copies an [n, m] matrix {@code w} into {@code dst} as row-major [m, n]: one bulk copy when it is dense 'f' order. */
    static void readTransposed(INDArray w, FloatBuffer dst) {
        int n = (int) w.length();
        FloatBuffer dense = dense(w);
        if (dense != null && w.ordering() == 'f') dst.put(0, dense, 0, n);
        else dst.put(0, read(w.transpose()), 0, n);
    }

    /** Writes row-major [rows, cols] {@code src} into {@code view} [cols, rows] (e.g. a gradient view, 'f' order). */
    static void writeTransposed(INDArray view, FloatBuffer src, int rows, int cols) {
        FloatBuffer dense = dense(view); // 'f' order [cols, rows]: the same memory layout, one bulk copy
        if (dense != null && view.ordering() == 'f') {
            dense.put(0, src, 0, rows * cols);
        } else {
            float[] v = new float[rows * cols];
            src.get(0, v);
            view.assign(HostArrays.detached(v, rows, cols).transpose());
        }
    }

    /**
     * Eight values spread over each array: any optimizer step changes them, so an inference pass can tell whether a
     * kernel's copy of the parameters is still current without copying them.
     */
    static float[] stamp(INDArray... arrays) {
        float[] s = new float[arrays.length * 8];
        int i = 0;
        for (INDArray a : arrays) {
            long n = a.length();
            for (int k = 0; k < 8; k++) s[i++] = a.getFloat((n - 1) * k / 7);
        }
        return s;
    }
}
