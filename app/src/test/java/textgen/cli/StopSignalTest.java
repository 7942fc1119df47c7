package textgen.cli;

import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.*;

class StopSignalTest {
    final AtomicLong clock = new AtomicLong(5_000_000_000L);
    final AtomicInteger exits = new AtomicInteger();
    final StopSignal stop = new StopSignal(exits::incrementAndGet, clock::get);

    @Test
    void firstSignalDuringTrainingRequestsAStopASecondOneQuits() {
        stop.armedDuring(() -> {
            stop.onSignal();
            assertTrue(stop.requested());
            assertEquals(0, exits.get(), "the first signal only asks for a stop");
            clock.addAndGet(StopSignal.DUPLICATE_NANOS);
            stop.onSignal();
            assertEquals(1, exits.get(), "a second signal a second later quits at once");
            return null;
        });
    }

    @Test
    void theSameSignalForwardedByAWrapperScriptIsNotASecondOne() {
        stop.armedDuring(() -> {
            stop.onSignal(); // from the scheduler, to every process of the job
            clock.addAndGet(30_000_000L);
            stop.onSignal(); // the batch script passing its own copy on, 30 ms later
            assertEquals(0, exits.get());
            assertTrue(stop.requested());
            clock.addAndGet(StopSignal.DUPLICATE_NANOS);
            stop.onSignal();
            assertEquals(1, exits.get());
            return null;
        });
    }

    @Test
    void outsideTrainingAnySignalQuits() {
        stop.onSignal();
        assertEquals(1, exits.get());
        assertFalse(stop.requested());
    }
}
