package textgen.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/** {@code textgen completion}: the generated script, sourced in a real bash, completes commands, options and config keys. */
class CompletionTest {
    @TempDir
    Path dir;

    @Test
    void completesCommandsOptionsAndConfigKeys() throws Exception {
        Cli.Result r = Cli.run("completion", "bash");
        assertEquals(0, r.code(), r.err());
        Path script = Files.writeString(dir.resolve("textgen.bash"), r.out());

        assertEquals(List.of(Set.of("train"), Set.of("--resume"), Set.of("--resume", "--run-dir"), Set.of("model.hiddenSize="),
                        Set.of("training.evalEvery="), Set.of("bash", "zsh")),
                complete(script, "textgen tr", "textgen train --re", "textgen train --r", "textgen train --set model.hid",
                        "textgen summary --set training.ev", "textgen completion "));

        // every command, and every option of every command (long and short names), and the options' names only
        CommandLine root = new CommandLine(new TextgenCommand(null));
        List<String> lines = new ArrayList<>(List.of("textgen "));
        List<Set<String>> expected = new ArrayList<>(List.of(new TreeSet<>(root.getSubcommands().keySet())));
        for (CommandLine sub : root.getSubcommands().values()) {
            lines.add("textgen " + sub.getCommandName() + " -");
            Set<String> names = new TreeSet<>();
            sub.getCommandSpec().options().forEach(o -> names.addAll(Arrays.asList(o.names())));
            expected.add(names);
        }
        assertEquals(expected, complete(script, lines.toArray(String[]::new)));
    }

    @Test
    void zshGetsTheSameScriptAndOtherShellsAreABadArgument() {
        assertEquals(Cli.run("completion", "bash").out(), Cli.run("completion", "zsh").out(), "the script enables bashcompinit under zsh");
        Cli.Result fish = Cli.run("completion", "fish");
        assertEquals(2, fish.code());
        assertEquals("", fish.out());
        assertEquals(1, fish.err().strip().lines().count(), fish.err());
        assertTrue(fish.err().startsWith("textgen completion: ") && fish.err().contains("bash, zsh") && fish.err().contains("'fish'"), fish.err());
        assertEquals(2, Cli.run("completion").code());
    }

    /**
     * What bash's programmable completion offers for each command line (the word being completed is the last, empty
     * after a trailing space), from {@code script} sourced in one bash process.
     */
    static List<Set<String>> complete(Path script, String... commandLines) throws Exception {
        // compopt only works while bash itself runs a completion: a no-op stands in for it
        String harness = "source \"$1\"; compopt() { :; }\n"
                + "while IFS= read -r line; do\n"
                + "  read -ra COMP_WORDS <<< \"$line\"; [[ $line == *' ' ]] && COMP_WORDS+=('')\n"
                + "  COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMP_LINE=$line; COMP_POINT=${#line}; COMPREPLY=()\n"
                + "  _complete_textgen textgen \"${COMP_WORDS[COMP_CWORD]}\" \"${COMP_WORDS[COMP_CWORD-1]}\"\n"
                + "  echo \"${COMPREPLY[*]}\"\n"
                + "done\n";
        Process p = new ProcessBuilder("bash", "-c", harness, "harness", script.toString()).redirectErrorStream(true).start();
        try {
            p.getOutputStream().write((String.join("\n", commandLines) + "\n").getBytes(StandardCharsets.UTF_8));
            p.getOutputStream().close();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(30, TimeUnit.SECONDS));
            assertEquals(0, p.exitValue(), out);
            List<Set<String>> offered = new ArrayList<>();
            for (String line : out.split("\n", -1)) {
                if (offered.size() < commandLines.length) offered.add(new TreeSet<>(Arrays.asList(line.isEmpty() ? new String[0] : line.split(" "))));
            }
            assertEquals(commandLines.length, out.lines().count(), out);
            return offered;
        } finally {
            p.destroyForcibly();
        }
    }
}
