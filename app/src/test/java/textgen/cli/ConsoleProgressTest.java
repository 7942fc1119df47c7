package textgen.cli;

import org.junit.jupiter.api.Test;
import textgen.checkpoint.TrainingState;
import textgen.config.ConfigLoader;
import textgen.train.Trainer;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class ConsoleProgressTest {
    private static Trainer.Plan plan() throws Exception {
        Path yaml = Files.createTempFile("p", ".yaml");
        Files.writeString(yaml, "corpus:\n  path: /x.txt\n");
        try {
            return new Trainer.Plan(ConfigLoader.load(yaml, List.of()), 65, "char", 900_000, 100_000, 800_000, 400, Path.of("runs/x"), 0);
        } finally {
            Files.delete(yaml);
        }
    }

    @Test
    void terminalShowsALiveBarAndPrintsEvaluationsAboveIt() throws Exception {
        StringWriter out = new StringWriter(), err = new StringWriter();
        ConsoleProgress p = new ConsoleProgress(new PrintWriter(out), new PrintWriter(err), true, 10);
        p.onStart(plan());
        for (int i = 1; i <= 51; i++) {
            // the bar redraws every 250 ms on its own thread, when the count moved since its last drawing
            if (i == 51) Thread.sleep(300);
            p.onIteration(new Trainer.Progress(i, i / 400.0, 2.5, 2.4321, 9876, i * 0.2, (200 - i) * 0.2));
        }
        Thread.sleep(700);
        String drawn = visible(out.toString());
        assertTrue(drawn.contains("<CR>"), "drawn in place");
        assertTrue(drawn.contains("loss 2.4321") && drawn.contains("9,876 chars/s") && drawn.contains("train"), drawn);
        assertTrue(drawn.contains(" 25% ") && drawn.contains("51/200"), "iterations of the estimated total (51 done, 149 more fit in the time left): " + drawn);
        assertTrue(drawn.contains("0:00:30"), "time left 30 s: " + drawn);

        p.onEvaluation(new Trainer.Evaluation(new TrainingState(51, 0, 51, 0, 2.21, 2.21, 0, 0, 2.43, 2.43, 2.43, 1, 0), 0.1275, 2.43, true, "", 0.002));
        String afterEval = out.toString();
        assertTrue(afterEval.contains("\r\u001b[Kiter 51  epoch 0.13  train loss 2.4300  val loss 2.2100"), "the bar line is cleared first: " + afterEval);
        p.onWarning("something");
        assertTrue(err.toString().contains("warning: something"));
        p.onEnd();
        String end = out.toString();
        assertTrue(end.endsWith("\n"), "the last bar stays on a line of its own");
        Thread.sleep(600);
        assertEquals(end, out.toString(), "nothing is drawn after the end");
    }

    /** Carriage returns and escapes made visible, for assertions and their messages. */
    private static String visible(String s) {
        return s.replace("\r", "<CR>").replace("\u001b", "<ESC>");
    }

    @Test
    void notATerminalPrintsPlainLinesEveryNSeconds() throws Exception {
        StringWriter out = new StringWriter();
        ConsoleProgress p = new ConsoleProgress(new PrintWriter(out), new PrintWriter(new StringWriter()), false, 0.2);
        p.onStart(plan());
        p.onIteration(new Trainer.Progress(1, 0.01, 2.5, 2.5, 1000, 1, 10));
        Thread.sleep(300);
        p.onIteration(new Trainer.Progress(2, 0.02, 2.5, 2.45, 1000, 2, 9));
        p.onIteration(new Trainer.Progress(3, 0.03, 2.5, 2.44, 1000, 3, 8)); // too soon after the last line
        p.onEnd();
        String s = out.toString();
        assertFalse(s.contains("\r"), s);
        assertTrue(s.contains("iter 2  epoch 0.02  loss 2.4500") && !s.contains("iter 3 "), s);
        assertTrue(s.startsWith("backend "), "the banner comes first: " + s);
    }
}
