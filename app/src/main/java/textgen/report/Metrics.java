package textgen.report;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import textgen.TextgenException;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * The evaluation log of a run directory: one row per evaluation in {@value #JSONL} (one JSON object per line) and
 * {@value #CSV} (same columns, header first). A resumed run appends to the same files. Losses are nats per character;
 * the training loss is the running mean the progress line shows; chars/s is over all training so far; time is the
 * wall clock (ISO 8601, UTC). Non-finite numbers (a diverged loss) are null in JSON and empty in CSV.
 */
public final class Metrics {
    public static final String JSONL = "metrics.jsonl";
    public static final String CSV = "metrics.csv";
    public static final List<String> COLUMNS = List.of("iteration", "epoch", "chars_seen", "train_loss", "val_loss", "val_bpc",
            "learning_rate", "chars_per_second", "elapsed_seconds", "time");
    private static final ObjectMapper JSON = new ObjectMapper();

    private Metrics() {
    }

    public record Row(long iteration, double epoch, long charsSeen, double trainLoss, double valLoss, double learningRate,
                      double charsPerSecond, double elapsedSeconds, String time) {
        public double valBpc() {
            return valLoss / Math.log(2);
        }

        private Object[] values() {
            return new Object[]{iteration, round(epoch, 4), charsSeen, round(trainLoss, 5), round(valLoss, 5), round(valBpc(), 5),
                    learningRate, round(charsPerSecond, 1), round(elapsedSeconds, 2), time};
        }
    }

    /** Appends {@code row} to both files in {@code dir}. */
    public static void append(Path dir, Row row) {
        Object[] v = row.values();
        ObjectNode json = JSON.createObjectNode();
        StringBuilder csv = new StringBuilder();
        for (int i = 0; i < v.length; i++) {
            String name = COLUMNS.get(i);
            if (v[i] instanceof String s) json.put(name, s);
            else if (v[i] instanceof Long l) json.put(name, l);
            else if (v[i] instanceof Double d && Double.isFinite(d)) json.put(name, d);
            else json.putNull(name);
            csv.append(i > 0 ? "," : "").append(v[i] instanceof Double d && !Double.isFinite(d) ? "" : String.valueOf(v[i]));
        }
        Path csvFile = dir.resolve(CSV);
        String header = Files.exists(csvFile) ? "" : String.join(",", COLUMNS) + "\n";
        write(dir.resolve(JSONL), separator(dir.resolve(JSONL)) + json + "\n");
        write(csvFile, separator(csvFile) + header + csv + "\n");
    }

    /** A newline when {@code file} ends inside a line (cut short by a crash), so the next row starts on its own. */
    private static String separator(Path file) {
        try (var ch = java.nio.channels.FileChannel.open(file, StandardOpenOption.READ)) {
            if (ch.size() == 0) return "";
            java.nio.ByteBuffer last = java.nio.ByteBuffer.allocate(1);
            ch.read(last, ch.size() - 1);
            return last.get(0) == '\n' ? "" : "\n";
        } catch (IOException e) {
            return ""; // missing: a new file
        }
    }

    /**
     * The rows of {@code dir}'s {@value #JSONL}, in order, skipping lines that are not rows (one cut short by a crash);
     * a usage error when the file is missing or unreadable.
     */
    public static List<Row> read(Path dir) {
        Path file = dir.resolve(JSONL);
        if (!Files.isRegularFile(file)) {
            throw TextgenException.usage(file + " not found: " + dir + " is not a run directory with evaluations (textgen train writes " + JSONL + " at each evaluation)");
        }
        List<Row> rows = new ArrayList<>();
        try {
            List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
            for (int i = 0; i < lines.size(); i++) {
                if (lines.get(i).isBlank()) continue;
                try {
                    JsonNode n = JSON.readTree(lines.get(i));
                    rows.add(new Row(num(n, "iteration").longValue(), num(n, "epoch"), num(n, "chars_seen").longValue(), num(n, "train_loss"),
                            num(n, "val_loss"), num(n, "learning_rate"), num(n, "chars_per_second"), num(n, "elapsed_seconds"),
                            n.path("time").asText("")));
                } catch (IOException | RuntimeException e) {
                    // not a row: skipped
                }
            }
        } catch (IOException e) {
            throw TextgenException.usage("cannot read " + file + ": " + e.getMessage());
        }
        return rows;
    }

    private static Double num(JsonNode n, String key) {
        JsonNode v = n.get(key);
        if (v == null || !(v.isNull() || v.isNumber())) throw new IllegalArgumentException("not a number: " + key);
        return v.isNull() ? Double.NaN : v.asDouble();
    }

    private static double round(double v, int digits) {
        return Double.isFinite(v) ? java.math.BigDecimal.valueOf(v).setScale(digits, java.math.RoundingMode.HALF_EVEN).doubleValue() : v;
    }

    private static void write(Path file, String text) {
        try {
            Files.writeString(file, text, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw TextgenException.runtime("cannot write " + file + ": " + e.getMessage(), e);
        }
    }
}
