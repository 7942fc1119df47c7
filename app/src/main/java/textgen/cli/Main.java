package textgen.cli;

import picocli.CommandLine;
import textgen.TextgenException;

import java.io.FileOutputStream;
import java.io.FileDescriptor;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/** Entry point: runs the command line and maps every outcome to one exit code and at most one error line. */
public final class Main {
    static {
        System.setProperty("java.awt.headless", "true"); // loss charts are drawn off-screen, also where a display exists
    }

    private Main() {
    }

    public static void main(String[] args) {
        StopSignal stop = new StopSignal(() -> Runtime.getRuntime().halt(TextgenException.INTERRUPTED));
        stop.install();
        PrintWriter out = new PrintWriter(new OutputStreamWriter(new FileOutputStream(FileDescriptor.out), StandardCharsets.UTF_8), true);
        PrintWriter err = new PrintWriter(new OutputStreamWriter(new FileOutputStream(FileDescriptor.err), StandardCharsets.UTF_8), true);
        int code = run(args, out, err, stop);
        out.flush();
        err.flush();
        System.exit(code);
    }

    /** Runs one command line in-process (tests call this directly). */
    public static int run(String[] args, PrintWriter out, PrintWriter err, StopSignal stop) {
        return run(args, out, err, stop, GpuPreflight.system());
    }

    static int run(String[] args, PrintWriter out, PrintWriter err, StopSignal stop, GpuPreflight gpu) {
        boolean trace = Arrays.asList(args).contains("--stacktrace");
        CommandLine cl = new CommandLine(new TextgenCommand(stop));
        cl.getSubcommands().get("train").getCommandSpec().usageMessage().footer(textgen.config.ConfigSchema.helpText());
        cl.setOut(out);
        cl.setErr(err);
        cl.setParameterExceptionHandler((ex, a) -> {
            String cmd = ex.getCommandLine().getCommandSpec().qualifiedName();
            err.println(cmd + ": " + TextgenException.oneLine(ex.getMessage()) + " (see '" + cmd + " --help')");
            if (trace) ex.printStackTrace(err);
            err.flush();
            return TextgenException.USAGE;
        });
        cl.setExecutionExceptionHandler((ex, c, parsed) -> {
            out.flush();
            int code;
            if (ex instanceof TextgenException te) {
                err.println("textgen: " + TextgenException.oneLine(te.getMessage()));
                code = te.exitCode();
            } else {
                err.println("textgen: internal error: " + TextgenException.oneLine(String.valueOf(ex)) + (trace ? "" : " (run with --stacktrace for details)"));
                code = TextgenException.RUNTIME;
            }
            if (trace) ex.printStackTrace(err);
            err.flush();
            return code;
        });
        cl.setExecutionStrategy(parsed -> {
            String refused = gpu.refusal(parsed); // on the CUDA build: before anything starts ND4J
            if (refused != null) {
                err.println("textgen: " + TextgenException.oneLine(refused));
                err.flush();
                return TextgenException.USAGE;
            }
            return new CommandLine.RunLast().execute(parsed);
        });
        int code;
        try {
            code = cl.execute(args);
        } catch (OutOfMemoryError e) {
            out.flush();
            err.println("textgen: out of memory: use a smaller model or batch, or give Java more memory (JAVA_OPTS=-Xmx...)");
            if (trace) e.printStackTrace(err);
            code = TextgenException.RUNTIME;
        } catch (LinkageError e) {
            // ND4J's backend failing to load its native libraries surfaces here, as an Error from Nd4j's initialiser
            out.flush();
            err.println("textgen: " + linkageFailure(e) + (trace ? "" : " (run with --stacktrace for details)"));
            if (trace) e.printStackTrace(err);
            code = TextgenException.RUNTIME;
        }
        out.flush();
        err.flush();
        return code;
    }

    /** One line for an Error from class loading or linking: ND4J's backend not starting, or else an internal error. */
    static String linkageFailure(LinkageError e) {
        Throwable root = e;
        boolean nd4j = false;
        for (Throwable t = e; t != null; t = t.getCause()) {
            root = t;
            nd4j |= t instanceof UnsatisfiedLinkError || t.getClass().getName().startsWith("org.nd4j.")
                    || String.valueOf(t.getMessage()).contains("org.nd4j.linalg.factory.Nd4j");
        }
        if (!nd4j) return "internal error: " + TextgenException.oneLine(String.valueOf(e));
        String backend = textgen.model.Backend.configuredBackend();
        return "ND4J's " + backend + " backend did not start: " + TextgenException.oneLine(textgen.model.GpuCheck.shortPaths(root.getMessage()))
                + ("cuda".equals(backend) ? " (the CUDA build needs the NVIDIA driver and the CUDA 11.6 runtime: see README, GPU)"
                : " (its native libraries for this platform are missing or do not load here)");
    }
}
