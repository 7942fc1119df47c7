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

    /** Initialises ND4J (a few seconds on first use) and returns a one-line description. */
    public static String banner() {
        var env = Nd4j.getEnvironment();
        return "backend " + configuredBackend() + " (ND4J " + DL4J_VERSION + "), " + Runtime.getRuntime().availableProcessors()
                + " cores, OMP threads " + env.maxThreads() + ", OMP_NUM_THREADS=" + System.getenv().getOrDefault("OMP_NUM_THREADS", "unset");
    }
}
