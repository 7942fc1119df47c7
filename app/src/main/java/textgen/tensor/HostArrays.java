package textgen.tensor;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.concurrency.AffinityManager;
import org.nd4j.linalg.api.memory.MemoryWorkspace;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

import java.lang.ref.Reference;
import java.nio.FloatBuffer;

/**
 * Float arrays filled from Java arrays in one bulk copy through their host memory (ND4J's own {@code create(float[])}
 * and {@code setData} go element by element). Two things every such copy must do, done here once:
 * <ul>
 * <li>tell the allocator the host copy is the fresh one: on the CUDA backend the device copy stays stale otherwise
 * ({@code asNioFloat} syncs host from device, never back; a no-op on CPU);</li>
 * <li>keep the array reachable until the copy is done: the buffer from {@code data().asNioFloat()} does not, and ND4J
 * frees an array's memory (outside workspaces) once the garbage collector finds the array unreachable.</li>
 * </ul>
 */
public final class HostArrays {
    private HostArrays() {
    }

    /** A new row-major FLOAT array of {@code shape} holding {@code data}, outside any workspace (it outlives the caller's scope). */
    public static INDArray detached(float[] data, long... shape) {
        try (MemoryWorkspace ignored = Nd4j.getMemoryManager().scopeOutOfWorkspaces()) {
            INDArray out = Nd4j.createUninitialized(DataType.FLOAT, shape, 'c');
            fill(out, data);
            return out;
        }
    }

    /** Copies {@code data} into {@code out}, a fresh (not a view) row-major FLOAT array of the same length. */
    public static void fill(INDArray out, float[] data) {
        if (out.isView() || out.length() != data.length) throw new IllegalStateException("expected a fresh array of " + data.length);
        FloatBuffer fb = out.data().asNioFloat();
        fb.put(fb.position(), data, 0, data.length);
        hostWritten(out);
        Reference.reachabilityFence(out);
    }

    /** Tells the allocator that {@code a} was written through its host memory (see the class comment). */
    public static void hostWritten(INDArray a) {
        Nd4j.getAffinityManager().tagLocation(a, AffinityManager.Location.HOST);
    }
}
