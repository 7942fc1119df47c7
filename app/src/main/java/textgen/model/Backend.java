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
            String[] cpu = cpu();
            b.append(", ").append(cpu[1] == null ? cpu[0] : cpu[0] + " (" + cpu[1] + ")");
            b.append(", ").append(Runtime.getRuntime().availableProcessors()).append(" cores");
            String kernels = openBlasKernels();
            if (kernels != null) {
                b.append(", OpenBLAS kernels ").append(kernels);
                if (kernels.equals("Prescott") && ("AVX2".equals(cpu[1]) || "AVX-512".equals(cpu[1]))) {
                    b.append(" (generic, far slower than this CPU allows: OpenBLAS 0.3.19 does not know its model; set OPENBLAS_CORETYPE as ./textgen does)");
                }
            }
            b.append(", threads: ").append(NetworkFactory.useFastLstm() ? "LSTM/GRU kernels " + CpuKernels.THREADS + " (" + Blas.CPU.name() + ", " + NativeGemv.describe() + "), " : "")
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

    /** OpenBLAS's kernel sets in ND4J's build (0.3.19, DYNAMIC_ARCH): symbol suffix and the name OpenBLAS prints. */
    private static final String[][] OPENBLAS_CORES = {{"PRESCOTT", "Prescott"}, {"CORE2", "Core2"}, {"NEHALEM", "Nehalem"},
            {"SANDYBRIDGE", "Sandybridge"}, {"HASWELL", "Haswell"}, {"SKYLAKEX", "SkylakeX"}, {"COOPERLAKE", "Cooperlake"},
            {"ZEN", "Zen"}, {"BARCELONA", "Barcelona"}, {"BULLDOZER", "Bulldozer"}, {"PILEDRIVER", "Piledriver"},
            {"STEAMROLLER", "Steamroller"}, {"EXCAVATOR", "Excavator"}};

    /**
     * The kernel set OpenBLAS chose when it loaded (by CPU model, or OPENBLAS_CORETYPE), or null where that cannot be
     * read. The library has no Java binding for openblas_get_corename, so this compares its `gotoblas` pointer with the
     * address of each kernel table, as that function does. A model newer than the library gets Prescott, its generic
     * SSE3 kernels (float32 GEMM 35 instead of 168 GFLOP/s on an Intel Xeon of model 207).
     */
    static String openBlasKernels() {
        try {
            org.bytedeco.javacpp.Loader.load(org.bytedeco.openblas.global.openblas_nolapack.class);
            org.bytedeco.javacpp.Pointer slot = org.bytedeco.javacpp.Loader.addressof("gotoblas");
            if (slot == null) return null;
            long current = new org.bytedeco.javacpp.LongPointer(slot).get(0);
            for (String[] core : OPENBLAS_CORES) {
                org.bytedeco.javacpp.Pointer table = org.bytedeco.javacpp.Loader.addressof("gotoblas_" + core[0]);
                if (table != null && table.address() == current) return core[1];
            }
        } catch (RuntimeException | LinkageError e) {
            // not this library build (another platform, the CUDA build's BLAS): nothing to report
        }
        return null;
    }

    /** The CPU model ("CPU" when unknown) and its widest vector extension (null when unknown), from /proc/cpuinfo. */
    static String[] cpu() {
        String model = cpuinfo("model name"), flags = " " + cpuinfo("flags") + " ";
        String simd = flags.contains(" avx512f ") ? "AVX-512" : flags.contains(" avx2 ") ? "AVX2" : flags.contains(" avx ") ? "AVX"
                : flags.contains(" sse4_2 ") ? "SSE4.2" : null;
        return new String[] {model.isEmpty() ? "CPU" : model, simd};
    }

    /** The first processor's {@code field} in /proc/cpuinfo ("vendor_id", "flags", ...): "" when there is none. */
    static String cpuinfo(String field) {
        try (var lines = java.nio.file.Files.lines(java.nio.file.Path.of("/proc/cpuinfo"))) {
            return lines.filter(l -> l.startsWith(field) && l.substring(field.length()).trim().startsWith(":"))
                    .map(l -> l.substring(l.indexOf(':') + 1).trim()).findFirst().orElse("");
        } catch (java.io.IOException | RuntimeException e) {
            return "";
        }
    }
}
