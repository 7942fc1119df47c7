package textgen.spark;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.api.java.JavaFutureAction;
import org.apache.spark.api.java.JavaSparkContext;
import textgen.TextgenException;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;

/** What the Spark runner needs of the cluster around it: reaching the master, the jars and corpus workers read, waiting for a job. */
final class SparkCluster {
    private SparkCluster() {
    }

    /**
     * For a standalone master (spark://host:port, or several for high availability), a usage error unless one of them
     * accepts a connection: Spark itself would retry for a minute and then stop without saying why to the caller.
     */
    static void checkReachable(String master) {
        if (!master.startsWith("spark://")) return;
        String problem = null;
        for (String hostPort : master.substring("spark://".length()).split(",")) {
            int colon = hostPort.lastIndexOf(':');
            if (colon < 0) throw TextgenException.usage("training.spark.master " + master + ": expected spark://host:port");
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(hostPort.substring(0, colon), Integer.parseInt(hostPort.substring(colon + 1))), 5000);
                return;
            } catch (NumberFormatException e) {
                throw TextgenException.usage("training.spark.master " + master + ": the port of " + hostPort + " is not a number");
            } catch (java.net.UnknownHostException | java.nio.channels.UnresolvedAddressException e) {
                problem = hostPort + ": unknown host";
            } catch (IOException e) {
                problem = hostPort + ": " + TextgenException.oneLine(e);
            }
        }
        throw TextgenException.usage("cannot reach the Spark master " + master + " (" + problem + "): is it running, and is the address right?");
    }

    /** textgen.jar and the jars of its lib/ directory, as URIs, when the classes run from that jar (none otherwise, e.g. in tests). */
    static List<String> applicationJars() {
        java.nio.file.Path jar;
        try {
            jar = java.nio.file.Path.of(SparkCluster.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        } catch (URISyntaxException | RuntimeException e) {
            return List.of();
        }
        if (!jar.toString().endsWith(".jar")) return List.of();
        List<String> out = new ArrayList<>(List.of(jar.toUri().toString()));
        java.nio.file.Path lib = jar.resolveSibling("lib");
        if (Files.isDirectory(lib)) {
            try (Stream<java.nio.file.Path> jars = Files.list(lib)) {
                jars.filter(p -> p.toString().endsWith(".jar")).sorted().forEach(p -> out.add(p.toUri().toString()));
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }
        return out;
    }

    /**
     * Copies the encoded corpus {@code file} to {@code dir} (any Hadoop FileSystem URI) unless a file of its name and size
     * is there already (names are content hashes: the cache's), and returns the copy's URI.
     */
    static String publish(java.nio.file.Path file, String dir) {
        try {
            Path target = new Path(dir, file.getFileName().toString());
            FileSystem fs = target.getFileSystem(new Configuration());
            long size = Files.size(file);
            if (!fs.exists(target) || fs.getFileStatus(target).getLen() != size) {
                Path partial = new Path(dir, file.getFileName() + ".partial-" + ProcessHandle.current().pid());
                fs.copyFromLocalFile(false, true, new Path(file.toUri()), partial);
                fs.delete(target, false);
                if (!fs.rename(partial, target)) throw new IOException("cannot rename " + partial + " to " + target);
            }
            return fs.makeQualified(target).toString();
        } catch (IOException | RuntimeException e) {
            throw TextgenException.usage("training.spark.corpusDir " + dir + ": cannot copy the encoded corpus there: " + TextgenException.oneLine(e), e);
        }
    }

    /** Waits until the cluster has given the driver an executor; a runtime error after {@code timeoutSeconds}. */
    static void awaitExecutor(JavaSparkContext context, String master, int timeoutSeconds) {
        if (master.startsWith("local")) return;
        long end = System.nanoTime() + timeoutSeconds * 1_000_000_000L;
        while (context.sc().statusTracker().getExecutorInfos().length < 2) { // the driver counts as one
            if (context.sc().isStopped()) throw TextgenException.runtime("the Spark context stopped (master " + master + " lost?)", null);
            if (System.nanoTime() > end) {
                context.stop();
                throw noExecutor(master, timeoutSeconds);
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw TextgenException.runtime("interrupted while waiting for a Spark executor", e);
            }
        }
    }

    private static TextgenException noExecutor(String master, int timeoutSeconds) {
        return TextgenException.runtime("no Spark executor for " + timeoutSeconds + " s at master " + master + ": start a worker with "
                + "free cores and memory, or raise training.spark.executorTimeoutSeconds", null);
    }

    /**
     * The result of a job, waiting as long as it runs, but not longer than {@code timeoutSeconds} without any executor to run
     * it (none registered yet, or all lost): Spark would wait for resources for ever. Failures become one-line errors.
     */
    static <T> T await(JavaSparkContext context, JavaFutureAction<T> job, String master, int timeoutSeconds, String corpusUri) {
        long lastSeen = System.nanoTime();
        boolean local = master.startsWith("local");
        while (true) {
            try {
                return job.get(200, TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                // still running: check on the executors
            } catch (ExecutionException e) {
                throw failure(e.getCause() == null ? e : e.getCause(), corpusUri);
            } catch (InterruptedException e) {
                job.cancel(true);
                Thread.currentThread().interrupt();
                throw TextgenException.runtime("interrupted while waiting for a Spark round", e);
            }
            if (context.sc().isStopped()) throw TextgenException.runtime("the Spark context stopped (master " + master + " lost?)", null);
            if (local || context.sc().statusTracker().getExecutorInfos().length > 1) { // the driver counts as one
                lastSeen = System.nanoTime();
            } else if (System.nanoTime() - lastSeen > timeoutSeconds * 1_000_000_000L) {
                job.cancel(true);
                throw noExecutor(master, timeoutSeconds);
            }
        }
    }

    private static TextgenException failure(Throwable e, String corpusUri) {
        String message = TextgenException.oneLine(e);
        if (message.contains("FileNotFoundException") || message.contains("does not exist")) {
            return TextgenException.usage("Spark workers cannot read the encoded corpus " + corpusUri + " (" + message + "): set "
                    + "training.spark.corpusDir to a directory every worker can read (hdfs://..., s3a://..., a shared filesystem)", e);
        }
        return TextgenException.runtime("a Spark round failed: " + message, e);
    }
}
