package textgen.report;

import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.lines.SeriesLines;
import org.knowm.xchart.style.markers.SeriesMarkers;
import textgen.TextgenException;
import textgen.io.AtomicFiles;

import java.awt.BasicStroke;
import java.awt.Color;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The loss chart (XChart, drawn headless): training and validation loss in nats per character against characters
 * seen, one colour per run, validation solid with a marker at each evaluation, training dashed. Written to a
 * temporary file and moved into place, so a viewer never sees half a picture.
 */
public final class LossChart {
    public static final String FILE = "loss.png";
    private static final Color[] COLORS = {new Color(0x1f77b4), new Color(0xd62728), new Color(0x2ca02c), new Color(0x9467bd),
            new Color(0xff7f0e), new Color(0x8c564b), new Color(0xe377c2), new Color(0x17becf)};

    private LossChart() {
    }

    /** One run's rows; {@code label} null for a chart of a single run (the legend then says train / validation). */
    public record Run(String label, List<Metrics.Row> rows) {
    }

    public static void write(List<Run> runs, Path png, String title) {
        XYChart chart = new XYChartBuilder().width(960).height(600).title(title)
                .xAxisTitle("characters seen").yAxisTitle("loss (nats/char)").build();
        Styler.LegendPosition legend = Styler.LegendPosition.InsideNE;
        chart.getStyler().setLegendPosition(legend);
        chart.getStyler().setChartBackgroundColor(Color.WHITE);
        chart.getStyler().setPlotGridLinesColor(new Color(0xdddddd));
        chart.getStyler().setAxisTickLabelsFont(chart.getStyler().getAxisTickLabelsFont().deriveFont(13f));
        chart.getStyler().setLegendFont(chart.getStyler().getLegendFont().deriveFont(13f));
        chart.getStyler().setXAxisDecimalPattern("#,###");
        chart.getStyler().setYAxisDecimalPattern("0.00");
        double top = 0, bottom = Double.POSITIVE_INFINITY;
        for (int r = 0; r < runs.size(); r++) {
            Run run = runs.get(r);
            Color color = COLORS[r % COLORS.length];
            String prefix = run.label() == null ? "" : run.label() + " ";
            List<Metrics.Row> rows = run.rows().stream().filter(x -> Double.isFinite(x.valLoss()) || Double.isFinite(x.trainLoss())).toList();
            if (rows.isEmpty()) continue;
            double[] x = rows.stream().mapToDouble(Metrics.Row::charsSeen).toArray();
            double[] train = rows.stream().mapToDouble(Metrics.Row::trainLoss).toArray();
            double[] val = rows.stream().mapToDouble(Metrics.Row::valLoss).toArray();
            XYSeries v = chart.addSeries(prefix + "validation", x, val);
            v.setLineColor(color);
            v.setMarkerColor(color);
            v.setMarker(SeriesMarkers.CIRCLE);
            v.setLineStyle(new BasicStroke(2.2f));
            XYSeries t = chart.addSeries(prefix + "train", x, train);
            t.setLineColor(color);
            t.setMarker(SeriesMarkers.NONE);
            t.setLineStyle(SeriesLines.DASH_DASH);
            for (int i = 0; i < rows.size(); i++) {
                for (double y : new double[]{val[i], train[i]}) {
                    if (!Double.isFinite(y)) continue;
                    top = Math.max(top, y);
                    bottom = Math.min(bottom, y);
                }
            }
        }
        if (top > 0) {
            double pad = Math.max(0.05, 0.08 * (top - bottom));
            chart.getStyler().setYAxisMin(Math.max(0, Math.floor((bottom - pad) * 10) / 10)).setYAxisMax(Math.ceil((top + pad) * 10) / 10);
        }
        try {
            AtomicFiles.replace(png, tmp -> {
                try (OutputStream out = Files.newOutputStream(tmp)) {
                    BitmapEncoder.saveBitmap(chart, out, BitmapEncoder.BitmapFormat.PNG);
                }
            });
        } catch (IOException e) {
            throw TextgenException.runtime("cannot write " + png + ": " + e.getMessage(), e);
        }
    }

}
