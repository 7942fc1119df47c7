package textgen.spark;

import textgen.config.RunConfig;
import textgen.corpus.Corpus;
import textgen.train.ClusterTraining;
import textgen.train.StepRunner;

/** Training on Apache Spark: the {@link ClusterTraining} service of builds with Spark (see {@link SparkStepRunner}). */
public final class SparkTraining implements ClusterTraining {
    @Override
    public StepRunner runner(RunConfig config, Corpus corpus) {
        return new SparkStepRunner(config, corpus);
    }
}
