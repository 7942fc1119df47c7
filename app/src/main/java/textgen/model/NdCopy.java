package textgen.model;

import org.deeplearning4j.nn.workspace.ArrayType;
import org.deeplearning4j.nn.workspace.LayerWorkspaceMgr;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.nio.FloatBuffer;

/**
 * Bulk copies between float INDArrays and Java arrays through the array's native memory (ND4J's own
 * {@code asFloat()} and {@code setData(float[])} go element by element).
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
        return out;
    }

    /**
     * A new row-major array of {@code shape} and {@code dataType} holding {@code data}, in the workspace for
     * {@code type}. (Networks are FLOAT; DOUBLE is for DL4J's gradient checks.)
     */
    static INDArray write(float[] data, long[] shape, DataType dataType, ArrayType type, LayerWorkspaceMgr mgr) {
        INDArray out = mgr.createUninitialized(type, dataType, shape, 'c');
        if (dataType == DataType.FLOAT) fill(out, data);
        else out.assign(detached(data, shape));
        return out;
    }

    /** A new row-major array outside any workspace (e.g. RNN state kept between calls). */
    static INDArray detached(float[] data, long[] shape) {
        try (MemoryWorkspace ignored = Nd4j.getMemoryManager().scopeOutOfWorkspaces()) {
            INDArray out = Nd4j.createUninitialized(DataType.FLOAT, shape, 'c');
            fill(out, data);
            return out;
        }
    }

    private static void fill(INDArray out, float[] data) {
        if (out.isView() || out.length() != data.length) throw new IllegalStateException("expected a fresh array of " + data.length);
        FloatBuffer fb = out.data().asNioFloat();
        fb.put(fb.position(), data, 0, data.length);
    }

    /**
     * The memory of {@code view} as a FloatBuffer positioned at its first element, when it is a dense FLOAT array
     * ('f' order [r, c] is row-major [c, r] in memory); else null.
     */
    static FloatBuffer dense(INDArray view) {
        if (view.dataType() != DataType.FLOAT || view.elementWiseStride() != 1) return null;
        return view.data().asNioFloat().slice(); // ND4J positions a view's buffer at its first element
    }
}
