package textgen.train;

import textgen.config.RunConfig;
import textgen.corpus.Corpus;

/**
 * Training on a cluster (Apache Spark): a {@link StepRunner} whose steps run on the cluster's executors, averaging the
 * parameters and the Adam state every {@code training.spark.localSteps} steps. The implementation,
 * {@code textgen.spark.SparkTraining}, and Spark's libraries (about 180 MB) are left out of builds made with
 * {@code -Dtextgen.nospark}; it is a service ({@code META-INF/services/textgen.train.ClusterTraining}), so nothing
 * outside {@code textgen.spark} refers to it.
 */
public interface ClusterTraining {
    /** The message of a build without Spark. */
    String MISSING = "this textgen was built without Spark (mvn -Dtextgen.nospark); build it with 'mvn -DskipTests package' to use --spark";

    /** A runner for {@code config}'s {@code training.spark} keys over {@code corpus}'s training ids; nothing starts until {@code train}. */
    StepRunner runner(RunConfig config, Corpus corpus);

    /** A usage error when {@code config} trains on a cluster and this build has no cluster training: before anything slow. */
    static void require(RunConfig config) {
        if (config.training().spark()) load();
    }

    /** Cluster training of this build; a usage error when the build has none. */
    static ClusterTraining load() {
        return Plugins.load(ClusterTraining.class, MISSING);
    }
}
