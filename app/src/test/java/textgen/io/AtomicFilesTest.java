package textgen.io;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.CopyOption;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

class AtomicFilesTest {
    @TempDir
    Path dir;

    private List<Path> temporaries() throws IOException {
        try (var s = Files.list(dir)) {
            return s.filter(AtomicFiles::isTemporary).toList();
        }
    }

    @Test
    void replaceWritesTheNewContentAndLeavesNoTemporaryFile() throws IOException {
        Path target = dir.resolve("a.json");
        Files.writeString(target, "old");
        AtomicFiles.replace(target, tmp -> Files.writeString(tmp, "new"));
        assertEquals("new", Files.readString(target));
        AtomicFiles.replace(dir.resolve("b.json"), tmp -> Files.writeString(tmp, "fresh"));
        assertEquals("fresh", Files.readString(dir.resolve("b.json")));
        assertEquals(List.of(), temporaries());
    }

    @Test
    void aFailedWriteLeavesTheTargetUntouchedAndRemovesTheTemporaryFile() throws IOException {
        Path target = dir.resolve("a.json");
        Files.writeString(target, "old");
        IOException e = assertThrows(IOException.class, () -> AtomicFiles.replace(target, tmp -> {
            Files.writeString(tmp, "half");
            throw new IOException("No space left on device");
        }));
        assertEquals("No space left on device", e.getMessage());
        assertThrows(IllegalStateException.class, () -> AtomicFiles.replace(target, tmp -> {
            throw new IllegalStateException("bug");
        }));
        assertEquals("old", Files.readString(target));
        assertEquals(List.of(), temporaries());
    }

    @Test
    void theTemporaryFileIsAHiddenSiblingWithTheUsualPermissions() throws IOException {
        Path target = dir.resolve("c.zip");
        List<Path> seen = new ArrayList<>();
        AtomicFiles.replace(target, tmp -> {
            seen.add(tmp);
            assertTrue(AtomicFiles.isTemporary(tmp), tmp.toString());
            assertEquals(dir.toAbsolutePath(), tmp.getParent());
            assertTrue(tmp.getFileName().toString().startsWith(".c.zip."));
        });
        assertEquals(1, seen.size());
        assertTrue(Files.isReadable(target));
        assertFalse(AtomicFiles.isTemporary(target));
    }

    @Test
    void withoutAtomicMovesTheRenameStillReplacesTheTarget() throws IOException {
        Path from = dir.resolve("from"), to = dir.resolve("to");
        Files.writeString(from, "new");
        Files.writeString(to, "old");
        List<Set<CopyOption>> tried = new ArrayList<>();
        AtomicFiles.move(from, to, (f, t, options) -> {
            tried.add(Set.of(options));
            if (tried.size() == 1) throw new AtomicMoveNotSupportedException(f.toString(), t.toString(), "not here");
            Files.move(f, t, options);
        });
        assertEquals(List.of(Set.of(StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING),
                Set.of(StandardCopyOption.REPLACE_EXISTING)), tried);
        assertEquals("new", Files.readString(to));
        assertFalse(Files.exists(from));
    }

    @Test
    void replaceWithLinkPointsTheLinkAtTheFilesContent() throws IOException {
        Path file = dir.resolve("iter-1.zip"), link = dir.resolve("latest.zip");
        Files.writeString(file, "one");
        Files.writeString(link, "stale");
        AtomicFiles.replaceWithLink(file, link);
        assertEquals("one", Files.readString(link));
        assertEquals(List.of(), temporaries());
    }
}
