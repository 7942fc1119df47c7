package textgen.model;

import org.junit.jupiter.api.Test;
import textgen.model.GpuCheck.SmiOutput;
import textgen.model.GpuCheck.Verdict;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** The GPU decision on nvidia-smi outputs of real GPU types and driver states (test resources nvidia-smi/). */
public class GpuCheckTest {
    /** Answers the compute-capability query with {@code file} and {@code exit}, the old-driver query with old-driver-names. */
    static final class RecordedSmi implements GpuCheck.Smi {
        final String file;
        final int exit;
        final List<String> calls = new ArrayList<>();

        RecordedSmi(String file, int exit) {
            this.file = file;
            this.exit = exit;
        }

        @Override
        public SmiOutput run(String... args) {
            calls.add(String.join(" ", args));
            if (args[0].equals(GpuCheck.QUERY[0])) return new SmiOutput(exit, recorded(file));
            assertArrayEquals(GpuCheck.OLD_DRIVER_QUERY, args);
            return new SmiOutput(0, recorded("old-driver-names.txt"));
        }
    }

    public static String recorded(String file) {
        try (InputStream in = GpuCheckTest.class.getResourceAsStream("/nvidia-smi/" + file)) {
            assertNotNull(in, file);
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    private static Verdict check(String file, int exit) {
        return GpuCheck.check(new RecordedSmi(file, exit), Map.of());
    }

    private static Verdict check(String file, String visible, String order) {
        Map<String, String> env = new HashMap<>();
        env.put("CUDA_VISIBLE_DEVICES", visible);
        if (order != null) env.put("CUDA_DEVICE_ORDER", order);
        return GpuCheck.check(new RecordedSmi(file, 0), env);
    }

    private static void refused(Verdict v, String... parts) {
        assertFalse(v.ok(), v.message());
        assertFalse(v.message().contains("\n"), "one line: " + v.message());
        for (String p : parts) assertTrue(v.message().contains(p), "'" + p + "' in: " + v.message());
    }

    @Test
    void kernelsRunOnTheirMajorVersionFromTheirMinorUp() {
        int[][] yes = {{3, 7}, {5, 0}, {5, 2}, {5, 3}, {6, 0}, {6, 1}, {6, 2}, {7, 0}, {7, 2}, {7, 5}, {8, 0}, {8, 6}, {8, 7}, {8, 9}};
        int[][] no = {{2, 1}, {3, 0}, {3, 5}, {9, 0}, {10, 0}, {10, 1}, {12, 0}};
        for (int[] c : yes) assertTrue(GpuCheck.supported(c[0], c[1]), c[0] + "." + c[1]);
        for (int[] c : no) assertFalse(GpuCheck.supported(c[0], c[1]), c[0] + "." + c[1]);
    }

    @Test
    void supportedGpusPass() {
        Verdict a100 = check("a100.txt", 0);
        assertTrue(a100.ok(), a100.message());
        assertEquals("GPU 0 (NVIDIA A100-SXM4-40GB, compute capability 8.0)", a100.message());
        Verdict ada = check("rtx4090.txt", 0);
        assertTrue(ada.ok(), "8.9 runs the 8.6 kernels: " + ada.message());
        assertTrue(check("v100x2.txt", 0).ok());
        Verdict dgx = check("dgx-a100.txt", 0);
        assertTrue(dgx.ok());
        assertTrue(dgx.message().contains("GPU 7 (NVIDIA A100-SXM4-80GB"), dgx.message());
    }

    @Test
    void hopperAndNewerAreRefusedNamingGpuCapabilityAndRange() {
        Verdict h100 = check("h100.txt", 0);
        refused(h100, "GPU 0 (NVIDIA H100 80GB HBM3, compute capability 9.0) is not supported", "3.7 to 8.9", "no kernel image is available");
        refused(check("b200.txt", 0), "NVIDIA B200, compute capability 10.0", "3.7 to 8.9");
    }

    @Test
    void aMixedBoxIsRefusedForItsUnsupportedGpuUnlessCudaSeesOnlyTheOthers() {
        Verdict both = check("mixed-a100-h100.txt", 0);
        refused(both, "GPU 1 (NVIDIA H100 PCIe, compute capability 9.0) is not supported");
        assertFalse(both.message().contains("A100"), "only the unsupported GPU is named: " + both.message());

        // ordinals mean nvidia-smi's order only with CUDA_DEVICE_ORDER=PCI_BUS_ID; CUDA's default puts the fastest first
        Verdict pci = check("mixed-a100-h100.txt", "0", "PCI_BUS_ID");
        assertTrue(pci.ok(), pci.message());
        assertEquals("GPU 0 (NVIDIA A100 80GB PCIe, compute capability 8.0)", pci.message());
        refused(check("mixed-a100-h100.txt", "1", "PCI_BUS_ID"), "GPU 1 (NVIDIA H100 PCIe");
        refused(check("mixed-a100-h100.txt", "0", null), "GPU 1 (NVIDIA H100 PCIe", "fastest first", "CUDA_DEVICE_ORDER=PCI_BUS_ID");
        // UUIDs (or unique prefixes of them) name a GPU whatever the order
        assertTrue(check("mixed-a100-h100.txt", "GPU-5b6c7d8e-9fa0-4b1c-8d2e-3f4a5b6c7d8e", null).ok());
        assertTrue(check("mixed-a100-h100.txt", "GPU-5b6c", null).ok());
        refused(check("mixed-a100-h100.txt", "GPU-c8d7e6f5", null), "H100");
        // CUDA stops at the first entry that names no GPU: "0,7,1" shows only GPU 0
        assertTrue(check("mixed-a100-h100.txt", "0,7,1", "PCI_BUS_ID").ok());
        refused(check("mixed-a100-h100.txt", "MIG-4d5a7f3c-9b1e-2a6d-8c0f-3e7b5a9d1c2f", null), "H100", "MIG");
    }

    @Test
    void cudaVisibleDevicesOnAHomogeneousBox() {
        assertTrue(check("dgx-a100.txt", "3", null).ok(), "every GPU gets the same verdict, so the order does not matter");
        assertEquals("GPU 3 (NVIDIA A100-SXM4-80GB, compute capability 8.0)", check("dgx-a100.txt", "3", null).message());
        refused(check("h100.txt", "0", null), "H100");
        refused(check("dgx-a100.txt", "", null), "CUDA_VISIBLE_DEVICES= hides every GPU");
        refused(check("dgx-a100.txt", "-1", null), "hides every GPU");
        refused(check("dgx-a100.txt", "8", null), "hides every GPU", "GPU 7 (NVIDIA A100-SXM4-80GB");
    }

    @Test
    void oldDriverWithoutComputeCapNamesTheGpusAndTheDriver() {
        RecordedSmi smi = new RecordedSmi("old-driver.txt", 2);
        Verdict v = GpuCheck.check(smi, Map.of());
        refused(v, "GPU 0 (Tesla K80), GPU 1 (Tesla K80)", "driver 470.182.03", "does not report compute capability", "510",
                "TEXTGEN_GPU_CHECK=skip", "3.7 to 8.9");
        assertEquals(2, smi.calls.size());
    }

    @Test
    void missingOrBrokenDriverIsRefused() {
        Verdict missing = GpuCheck.check(args -> new SmiOutput(-1, "was not found on PATH (Cannot run program \"nvidia-smi\": error=2, No such file or directory)"), Map.of());
        refused(missing, "no NVIDIA driver: nvidia-smi was not found on PATH", "TEXTGEN_GPU_CHECK=skip");
        refused(check("driver-not-running.txt", 9), "no usable NVIDIA GPU: nvidia-smi failed (exit code 9): NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.");
        refused(check("no-devices.txt", 6), "(exit code 6): No devices were found");
        refused(check("nvml-mismatch.txt", 18), "Failed to initialize NVML: Driver/library version mismatch");
        refused(GpuCheck.check(args -> new SmiOutput(0, "\n"), Map.of()), "nvidia-smi lists none");
        refused(GpuCheck.check(args -> new SmiOutput(0, "0, GPU-1, NVIDIA A100-SXM4-40GB, [N/A]\n"), Map.of()), "cannot read", "[N/A]");
    }

    @Test
    void cudaRuntimeProblemOnTheCpuBuildAndShortPaths() {
        assertEquals("this is not the CUDA build (no org.bytedeco.cuda.global.cudart)", GpuCheck.cudaRuntimeProblem());
        assertEquals("libjnicudart.so: libcuda.so.1: cannot open shared object file: No such file or directory", GpuCheck.shortPaths(
                "/root/.javacpp/cache/cuda-11.6-8.3-1.5.7-linux-x86_64.jar/org/bytedeco/cuda/linux-x86_64/libjnicudart.so: libcuda.so.1:"
                        + " cannot open shared object file: No such file or directory"));
    }

    @Test
    void skipVariable() {
        GpuCheck.Smi never = args -> {
            throw new AssertionError("nvidia-smi must not run");
        };
        assertTrue(GpuCheck.check(never, Map.of("TEXTGEN_GPU_CHECK", "skip")).ok());
        refused(GpuCheck.check(never, Map.of("TEXTGEN_GPU_CHECK", "off")), "TEXTGEN_GPU_CHECK=off is not understood", "'skip'");
    }
}
