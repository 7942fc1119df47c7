package textgen.model;

import org.deeplearning4j.gradientcheck.GradientCheckUtil;
import org.deeplearning4j.nn.conf.GradientNormalization;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.buffer.util.DataTypeUtil;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.NoOp;

/**
 * DL4J's GradientCheckUtil on a DOUBLE network of textgen's layers: every parameter's gradient against central
 * differences of the loss. The fast layers compute in float even then, so the step is 1e-2 rather than 1e-6 and the
 * tolerance 1%, with errors below 1e-4 ignored (float rounding in the loss, about 1e-6, over the step).
 */
final class GradientChecks {
    private GradientChecks() {
    }

    /**
     * The layers of {@code conf} (e.g. what NetworkFactory builds) as an initialised DOUBLE network without Adam or
     * clipping (a gradient check needs plain gradients), every parameter shifted by 0.05 so no bias is zero.
     */
    static MultiLayerNetwork plainDouble(MultiLayerConfiguration conf, long seed) {
        var list = new NeuralNetConfiguration.Builder().seed(seed).dataType(DataType.DOUBLE).updater(new NoOp()).list();
        for (int i = 0; i < conf.getConfs().size(); i++) {
            BaseLayer layer = (BaseLayer) conf.getConf(i).getLayer().clone();
            layer.setIUpdater(new NoOp());
            layer.setGradientNormalization(GradientNormalization.None);
            list.layer(layer);
        }
        MultiLayerNetwork net = new MultiLayerNetwork(list.build());
        net.init();
        net.setParams(net.params().add(0.05));
        return net;
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
