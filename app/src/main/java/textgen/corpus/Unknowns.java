package textgen.corpus;

import java.util.LinkedHashSet;
import java.util.Set;

/** The tokens a vocabulary had no id for, over all pieces of a streamed text: how many, and the distinct ones described for a message. */
final class Unknowns {
    final Set<String> distinct = new LinkedHashSet<>();
    long count;

    void add(String described) {
        count++;
        distinct.add(described);
    }

    boolean isEmpty() {
        return count == 0;
    }
}
