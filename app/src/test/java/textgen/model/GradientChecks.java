package textgen.model;

import org.deeplearning4j.gradientcheck.GradientCheckUtil;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.buffer.util.DataTypeUtil;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

/**
 * DL4J's GradientCheckUtil on a DOUBLE network of textgen's layers: every parameter's gradient against central
 * differences of the loss. The fast layers compute in float even then, so the step is 1e-2 rather than 1e-6 and the
 * tolerance 1%, with errors below 1e-4 ignored (float rounding in the loss, about 1e-6, over the step).
 */
final class GradientChecks {
    private GradientChecks() {
    }

    static boolean pass(MultiLayerNetwork net, DataSet ds) {
        DataType defaultType = Nd4j.dataType();
        DataTypeUtil.setDTypeForContext(DataType.DOUBLE);
        try {
            return GradientCheckUtil.checkGradients(new GradientCheckUtil.MLNConfig().net(net)
                    .input(ds.getFeatures().castTo(DataType.DOUBLE)).labels(ds.getLabels().castTo(DataType.DOUBLE))
                    .epsilon(1e-2).maxRelError(1e-2).minAbsoluteError(1e-4).print(GradientCheckUtil.PrintMode.FAILURES_ONLY));
        } finally {
            DataTypeUtil.setDTypeForContext(defaultType);
        }
    }
}
