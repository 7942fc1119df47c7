package textgen.report;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import textgen.TextgenException;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class MetricsTest {
    @TempDir
    Path dir;

    private static Metrics.Row row(long it, double val) {
        return new Metrics.Row(it, it / 10.0, it * 100, 2.0, val, 0.002, 1234.5, it * 0.5, "2026-11-23T00:00:00Z");
    }

    @Test
    void rowsRoundTripAndALineCutShortByACrashIsSkippedNotGluedToTheNext() throws Exception {
        Metrics.append(dir, row(10, 1.9));
        Files.writeString(dir.resolve(Metrics.JSONL), "{\"iteration\": 20, \"epo", java.nio.file.StandardOpenOption.APPEND); // killed mid-write
        Files.writeString(dir.resolve(Metrics.CSV), "20,2.0,20", java.nio.file.StandardOpenOption.APPEND);
        Metrics.append(dir, row(30, Double.NaN)); // the resumed run's next evaluation; a diverged loss
        List<Metrics.Row> rows = Metrics.read(dir);
        assertEquals(List.of(10L, 30L), rows.stream().map(Metrics.Row::iteration).toList());
        assertEquals(1.9, rows.get(0).valLoss(), 0);
        assertTrue(Double.isNaN(rows.get(1).valLoss()), "null in JSON reads back as NaN");
        List<String> csv = Files.readAllLines(dir.resolve(Metrics.CSV));
        assertEquals(String.join(",", Metrics.COLUMNS), csv.get(0));
        assertEquals("20,2.0,20", csv.get(2), "the cut line stays on its own");
        assertTrue(csv.get(3).startsWith("30,3.0,3000,2.0,,,0.002,"), csv.get(3));
        LossChart.write(List.of(new LossChart.Run(null, rows)), dir.resolve("x.png"), "t");
        assertNotNull(javax.imageio.ImageIO.read(dir.resolve("x.png").toFile()));
    }

    @Test
    void aDirectoryWithoutMetricsIsAUsageError() {
        TextgenException e = assertThrows(TextgenException.class, () -> Metrics.read(dir));
        assertTrue(e.getMessage().contains("metrics.jsonl not found"), e.getMessage());
    }
}
