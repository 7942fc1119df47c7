package textgen.model;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Whether the GPUs the CUDA build would use can run it, decided from {@code nvidia-smi} before ND4J starts.
 *
 * <p>ND4J 1.0.0-M2.1's CUDA library (nd4j-cuda-11.6) holds kernels compiled for compute capabilities 3.7, 5.0, 5.2,
 * 6.0, 6.1, 7.0, 7.5, 8.0 and 8.6 and no PTX. A GPU runs kernels built for its own major version and an equal or lower
 * minor version (8.9 runs the 8.6 code), so the build runs on compute capability 3.7 to 8.9; on anything else (Hopper,
 * 9.0, and newer; Kepler below 3.7) the first kernel fails with "no kernel image is available". This class asks
 * {@code nvidia-smi --query-gpu=index,uuid,name,compute_cap --format=csv,noheader} and checks every GPU the process
 * can see (ND4J spreads its threads over all visible devices), honouring {@code CUDA_VISIBLE_DEVICES}.
 *
 * <p>Only JDK classes: {@code ./textgen --fallback-cpu} runs {@link #main} to choose a build before starting one.
 */
public final class GpuCheck {
    /** The compute capabilities nd4j-cuda-11.6 1.0.0-M2.1 has kernels for (major, minor). */
    static final int[][] KERNELS = {{3, 7}, {5, 0}, {5, 2}, {6, 0}, {6, 1}, {7, 0}, {7, 5}, {8, 0}, {8, 6}};
    public static final String SUPPORTED = "compute capability 3.7 to 8.9 (ND4J " + Backend.DL4J_VERSION
            + "'s CUDA 11.6 build has kernels for 3.7, 5.0, 5.2, 6.0, 6.1, 7.0, 7.5, 8.0 and 8.6 and no PTX, so newer GPUs fail"
            + " with 'no kernel image is available')";
    static final String[] QUERY = {"--query-gpu=index,uuid,name,compute_cap", "--format=csv,noheader"};
    /** For drivers whose nvidia-smi does not know compute_cap (before R510): at least name the GPUs and the driver. */
    static final String[] OLD_DRIVER_QUERY = {"--query-gpu=index,name,driver_version", "--format=csv,noheader"};
    /** Environment variable: {@code skip} starts the CUDA build without asking nvidia-smi. */
    public static final String SKIP_VARIABLE = "TEXTGEN_GPU_CHECK";
    /** JavaCPP's CUDA runtime bindings (CUDA build only): loading the class loads libcudart and libcuda, ND4J's first step. */
    static final String CUDA_RUNTIME = "org.bytedeco.cuda.global.cudart";

    private GpuCheck() {
    }

    /** What nvidia-smi printed (stdout and stderr) and its exit code; {@code exitCode} -1: it could not be started. */
    public record SmiOutput(int exitCode, String text) {
    }

    /** Runs nvidia-smi with the given arguments. */
    public interface Smi {
        SmiOutput run(String... args);
    }

    /** The outcome: {@code ok}, or not, with one line saying why (naming the GPU, its capability and the range). */
    public record Verdict(boolean ok, String message) {
    }

    record Gpu(int index, String uuid, String name, int major, int minor) {
        String capability() {
            return major + "." + minor;
        }

        boolean supported() {
            return GpuCheck.supported(major, minor);
        }

        @Override
        public String toString() {
            return "GPU " + index + " (" + name + ", compute capability " + capability() + ")";
        }
    }

    /** A GPU of this compute capability runs one of the library's kernels: same major version, minor at least the kernel's. */
    static boolean supported(int major, int minor) {
        for (int[] k : KERNELS) {
            if (k[0] == major && k[1] <= minor) return true;
        }
        return false;
    }

    /** The check as the CUDA build runs it: {@code TEXTGEN_GPU_CHECK=skip} turns it off, CUDA_VISIBLE_DEVICES narrows it. */
    public static Verdict check(Smi smi, Map<String, String> env) {
        String skip = env.get(SKIP_VARIABLE);
        if (skip != null && !skip.isEmpty()) {
            if (skip.equals("skip")) return new Verdict(true, "GPU check skipped (" + SKIP_VARIABLE + "=skip)");
            return new Verdict(false, SKIP_VARIABLE + "=" + skip + " is not understood: set it to 'skip' (start without checking the GPU) or leave it unset");
        }
        return check(smi, env.get("CUDA_VISIBLE_DEVICES"), env.get("CUDA_DEVICE_ORDER"));
    }

    static Verdict check(Smi smi, String visibleDevices, String deviceOrder) {
        SmiOutput out = smi.run(QUERY);
        if (out.exitCode() == -1) {
            return new Verdict(false, "no NVIDIA driver: nvidia-smi " + firstLine(out.text()) + " (the CUDA build needs an NVIDIA GPU with its"
                    + " driver; in a container without the driver's tools, " + SKIP_VARIABLE + "=skip starts without this check)");
        }
        if (out.exitCode() != 0 && out.text().contains("compute_cap")) return oldDriver(smi);
        if (out.exitCode() != 0) {
            return new Verdict(false, "no usable NVIDIA GPU: nvidia-smi failed (exit code " + out.exitCode() + "): " + firstLine(out.text()));
        }
        List<Gpu> gpus = new ArrayList<>();
        Pattern line = Pattern.compile("\\s*(\\d+)\\s*,\\s*([^,]*?)\\s*,\\s*(.+?)\\s*,\\s*(\\d+)\\.(\\d+)\\s*");
        for (String l : out.text().split("\\R")) {
            if (l.isBlank()) continue;
            Matcher m = line.matcher(l);
            if (!m.matches()) return new Verdict(false, "cannot read the GPU's compute capability from nvidia-smi: '" + l.strip() + "'");
            gpus.add(new Gpu(Integer.parseInt(m.group(1)), m.group(2), m.group(3), Integer.parseInt(m.group(4)), Integer.parseInt(m.group(5))));
        }
        if (gpus.isEmpty()) return new Verdict(false, "no usable NVIDIA GPU: nvidia-smi lists none");
        return decide(gpus, visibleDevices, deviceOrder);
    }

    /**
     * The GPUs CUDA will show the process, by CUDA's rules for CUDA_VISIBLE_DEVICES (a list of ordinals or UUID
     * prefixes; parsing stops at the first entry that names no GPU). Ordinals follow CUDA's order, which is nvidia-smi's
     * (PCI bus order) only with CUDA_DEVICE_ORDER=PCI_BUS_ID; otherwise CUDA puts the fastest first, so an ordinal can
     * only be mapped when all GPUs would get the same verdict, and else every GPU is checked.
     */
    static Verdict decide(List<Gpu> gpus, String visibleDevices, String deviceOrder) {
        List<Gpu> visible = gpus;
        String unmapped = null;
        if (visibleDevices != null) {
            visible = new ArrayList<>();
            boolean pciOrder = "PCI_BUS_ID".equals(deviceOrder);
            boolean alike = gpus.stream().map(Gpu::supported).distinct().count() == 1;
            for (String entry : visibleDevices.split(",", -1)) {
                String e = entry.strip();
                Gpu g = null;
                if (e.matches("\\d{1,9}") && Integer.parseInt(e) < gpus.size()) {
                    int ordinal = Integer.parseInt(e);
                    if (pciOrder || alike) {
                        g = gpus.stream().sorted(java.util.Comparator.comparingInt(Gpu::index)).toList().get(ordinal);
                    } else {
                        unmapped = "CUDA_VISIBLE_DEVICES=" + visibleDevices + " numbers GPUs fastest first, not as nvidia-smi does,"
                                + " so every GPU was checked (set CUDA_DEVICE_ORDER=PCI_BUS_ID, or name GPUs by UUID)";
                        break;
                    }
                } else if (e.startsWith("GPU-")) {
                    g = gpus.stream().filter(x -> x.uuid().startsWith(e)).findFirst().orElse(null);
                } else if (e.startsWith("MIG-")) {
                    unmapped = "CUDA_VISIBLE_DEVICES=" + visibleDevices + " names MIG instances, so every GPU was checked";
                    break;
                }
                if (g == null) break; // CUDA ignores this entry and all after it
                if (!visible.contains(g)) visible.add(g);
            }
            if (unmapped != null) {
                visible = gpus;
            } else if (visible.isEmpty()) {
                return new Verdict(false, "no usable NVIDIA GPU: CUDA_VISIBLE_DEVICES=" + visibleDevices + " hides every GPU (nvidia-smi lists "
                        + gpus.stream().map(Gpu::toString).collect(Collectors.joining(", ")) + ")");
            }
        }
        List<Gpu> bad = visible.stream().filter(g -> !g.supported()).toList();
        if (bad.isEmpty()) {
            return new Verdict(true, visible.stream().map(Gpu::toString).collect(Collectors.joining(", ")));
        }
        String which = bad.stream().map(Gpu::toString).collect(Collectors.joining(", "));
        return new Verdict(false, which + (bad.size() == 1 ? " is" : " are") + " not supported by the CUDA build, which runs on "
                + SUPPORTED + (unmapped == null ? "" : "; " + unmapped));
    }

    private static Verdict oldDriver(Smi smi) {
        SmiOutput names = smi.run(OLD_DRIVER_QUERY);
        String gpus = "";
        String driver = "";
        if (names.exitCode() == 0) {
            List<String> found = new ArrayList<>();
            for (String l : names.text().split("\\R")) {
                String[] f = l.split(",");
                if (f.length != 3) continue;
                found.add("GPU " + f[0].strip() + " (" + f[1].strip() + ")");
                driver = " " + f[2].strip();
            }
            gpus = found.isEmpty() ? "" : " " + String.join(", ", found);
        }
        return new Verdict(false, "cannot tell whether" + (gpus.isEmpty() ? " the GPU" : gpus) + " can run the CUDA build: the nvidia-smi of driver"
                + (driver.isEmpty() ? "" : driver) + " does not report compute capability (drivers before R510 do not), and CUDA 11.6 is made"
                + " for driver 510.39 or newer: update the driver (" + SKIP_VARIABLE + "=skip starts without this check; the build runs on "
                + SUPPORTED + ")");
    }

    /**
     * Null when the CUDA runtime's libraries load here, else one line saying which did not and what to install. Run
     * after {@link #check} passed and before ND4J starts: ND4J would log the same failure as a warning and then fail
     * with "no nd4j backend on your classpath".
     */
    public static String cudaRuntimeProblem() {
        try {
            Class.forName(CUDA_RUNTIME, true, GpuCheck.class.getClassLoader());
            return null;
        } catch (ClassNotFoundException e) {
            return "this is not the CUDA build (no " + CUDA_RUNTIME + ")";
        } catch (LinkageError e) {
            Throwable root = e;
            while (root.getCause() != null) root = root.getCause();
            return "the CUDA build's native libraries did not load (" + shortPaths(root.getMessage()) + "): it needs the NVIDIA driver"
                    + " and the CUDA 11.6 runtime (install CUDA 11.6, or build with -Pcuda,cuda-redist; see README, GPU)";
        }
    }

    /** File names for paths: "/root/.javacpp/cache/x.jar/org/.../libjnicudart.so: ..." becomes "libjnicudart.so: ...". */
    public static String shortPaths(String message) {
        return String.valueOf(message).replaceAll("(?:/[^/:\\s]+)+/([^/:\\s]+)", "$1").replaceAll("\\s+", " ").strip();
    }

    private static String firstLine(String text) {
        return Arrays.stream(text.split("\\R")).map(String::strip).filter(s -> !s.isEmpty()).findFirst().orElse("(no output)");
    }

    /** The real nvidia-smi, found on PATH; given 30 seconds (it can be slow while the driver loads). */
    public static final Smi SYSTEM = args -> {
        List<String> cmd = new ArrayList<>();
        cmd.add("nvidia-smi");
        cmd.addAll(List.of(args));
        Process p;
        try {
            p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectInput(ProcessBuilder.Redirect.PIPE).start();
        } catch (IOException e) {
            return new SmiOutput(-1, "was not found on PATH");
        }
        try {
            p.getOutputStream().close();
            // output is small; read it on another thread so a hung nvidia-smi still times out
            var text = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
                try {
                    return new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                } catch (IOException e) {
                    return "";
                }
            });
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return new SmiOutput(124, "nvidia-smi did not answer within 30 seconds");
            }
            return new SmiOutput(p.exitValue(), text.get(5, TimeUnit.SECONDS));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            p.destroyForcibly();
            return new SmiOutput(130, "interrupted");
        } catch (IOException | java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            return new SmiOutput(1, String.valueOf(e.getMessage()));
        }
    };

    /**
     * For the launcher ({@code ./textgen --backend cuda --fallback-cpu}): exit code 0 when the CUDA build can run here,
     * 3 with the reason on stdout when it cannot. {@code --cuda-runtime} (from the CUDA jar) also loads the CUDA runtime.
     */
    public static void main(String[] args) {
        Verdict v = check(SYSTEM, System.getenv());
        String problem = v.ok() ? null : v.message();
        if (problem == null && List.of(args).contains("--cuda-runtime")) problem = cudaRuntimeProblem();
        if (problem != null) System.out.println(problem);
        System.exit(problem == null ? 0 : 3);
    }
}
