package textgen.model;

import org.nd4j.linalg.factory.Nd4j;

/** ND4J backend set-up and description. */
public final class Backend {
    public static final String DL4J_VERSION = "1.0.0-M2.1";

    private Backend() {
    }

    /** Name of the backend on the class path, without initialising it. */
    public static String configuredBackend() {
        if (present("org.nd4j.linalg.jcublas.JCublasBackend")) return "cuda";
        if (present("org.nd4j.linalg.cpu.nativecpu.CpuBackend")) return "cpu";
        return "none";
    }

    private static boolean present(String cls) {
        try {
            Class.forName(cls, false, Backend.class.getClassLoader());
            return true;
        } catch (ClassNotFoundException e) {
            return false;
        }
    }

    /**
     * Initialises ND4J (a few seconds on first use) and describes what training runs on, in one line: backend, the CPU
     * (model and the widest SIMD it has) or GPU (name and memory), threads, and the memory limits (JVM heap; the
     * off-heap limit JavaCPP enforces for ND4J's arrays, set by -Dorg.bytedeco.javacpp.maxbytes).
     */
    public static String banner() {
        var env = Nd4j.getEnvironment();
        StringBuilder b = new StringBuilder("backend ").append(configuredBackend()).append(" (ND4J ").append(DL4J_VERSION).append(")");
        if (env.isCPU()) {
            b.append(", ").append(cpu()).append(", ").append(Runtime.getRuntime().availableProcessors()).append(" cores");
            b.append(", threads: ").append(NetworkFactory.useFastLstm() ? "LSTM/GRU kernels " + CpuKernels.THREADS + ", " : "")
                    .append("ND4J OpenMP ").append(env.maxThreads());
        } else {
            Object devices = Nd4j.getExecutioner().getEnvironmentInformation().get("cuda.devicesInformation");
            if (devices instanceof java.util.List<?> list) {
                for (Object d : list) {
                    if (d instanceof java.util.Map<?, ?> m) {
                        b.append(", GPU ").append(m.get("cuda.deviceName")).append(" (").append(gib(m.get("cuda.totalMemory"))).append(")");
                    }
                }
            }
        }
        b.append(", memory: heap max ").append(gib(Runtime.getRuntime().maxMemory()))
                .append(", off-heap max ").append(gib(org.bytedeco.javacpp.Pointer.maxBytes()));
        return b.toString();
    }

    private static String gib(Object bytes) {
        return bytes instanceof Number n ? String.format(java.util.Locale.ROOT, "%.1f GiB", n.doubleValue() / (1L << 30)) : "?";
    }

    /** The CPU model and its widest vector extension, from /proc/cpuinfo (Linux); "CPU" elsewhere. */
    static String cpu() {
        try {
            java.util.List<String> lines = java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/cpuinfo"));
            String model = lines.stream().filter(l -> l.startsWith("model name")).map(l -> l.substring(l.indexOf(':') + 1).trim())
                    .findFirst().orElse("CPU");
            String flags = " " + lines.stream().filter(l -> l.startsWith("flags")).findFirst().orElse("") + " ";
            String simd = flags.contains(" avx512f ") ? "AVX-512" : flags.contains(" avx2 ") ? "AVX2" : flags.contains(" avx ") ? "AVX"
                    : flags.contains(" sse4_2 ") ? "SSE4.2" : null;
            return simd == null ? model : model + " (" + simd + ")";
        } catch (java.io.IOException | RuntimeException e) {
            return "CPU";
        }
    }
}
