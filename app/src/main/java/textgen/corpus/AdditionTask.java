package textgen.corpus;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * The addition task of Keras's addition_rnn example as a language-modelling corpus: one problem per line,
 * {@code a+b=c}. Operands have a uniformly random number of digits from 1 to {@code maxDigits}. In the
 * {@code REVERSED} format (the default) every number is written least-significant digit first (123+45=168 becomes
 * 321+54=861): digit i of b arrives right after digit i of a was read, and each answer digit depends only on digits
 * already seen and the carry, so a left-to-right model can add as it reads (Keras reverses its question for a
 * similar reason). {@code PLAIN} writes numbers as usual. Held-out problems are drawn first and never occur in the
 * training lines.
 */
public final class AdditionTask {
    public enum Format { REVERSED, PLAIN }

    /** One problem: the prompt a model completes ("12+345=") and the answer as written in the corpus. */
    public record Problem(long a, long b, String prompt, String answer) {
        public String line() {
            return prompt + answer;
        }
    }

    private final int maxDigits;
    private final Format format;

    public AdditionTask(int maxDigits, Format format) {
        if (maxDigits < 1 || maxDigits > 9) throw new IllegalArgumentException("maxDigits must be 1..9");
        this.maxDigits = maxDigits;
        this.format = format;
    }

    /** Number of distinct problems that may be held out. */
    public long heldOutPool() {
        long n = pow10(maxDigits);
        return maxDigits >= 2 ? (n - 10) * (n - 10) : n * n;
    }

    public Problem problem(long a, long b) {
        return new Problem(a, b, write(a) + "+" + write(b) + "=", write(a + b));
    }

    /** A number as the format writes it. */
    public String write(long n) {
        String s = Long.toString(n);
        return format == Format.REVERSED ? new StringBuilder(s).reverse().toString() : s;
    }

    private long operand(SplittableRandom rng) {
        int digits = 1 + rng.nextInt(maxDigits);
        long lo = digits == 1 ? 0 : pow10(digits - 1);
        return lo + rng.nextLong(pow10(digits) - lo);
    }

    private static long pow10(int d) {
        long p = 1;
        for (int i = 0; i < d; i++) p *= 10;
        return p;
    }

    /** Result of {@link #generate}: training lines and held-out problems, disjoint. */
    public record Split(List<Problem> train, List<Problem> holdout) {
    }

    /**
     * Training and held-out problems, disjoint. Held-out problems are drawn first from the training distribution,
     * restricted (when maxDigits >= 2) to problems whose operands both have at least two digits: there are only 100
     * single-digit pairs, and holding some out would remove them from training altogether.
     */
    public Split generate(int count, int holdout, long seed) {
        if (holdout > heldOutPool() / 2) throw new IllegalArgumentException("at most " + heldOutPool() / 2 + " held-out problems");
        SplittableRandom rng = new SplittableRandom(seed);
        Set<Long> held = new HashSet<>();
        List<Problem> holdoutProblems = new ArrayList<>(holdout);
        while (holdoutProblems.size() < holdout) {
            long a = operand(rng);
            long b = operand(rng);
            if (maxDigits >= 2 && (a < 10 || b < 10)) continue;
            if (held.add(key(a, b))) holdoutProblems.add(problem(a, b));
        }
        List<Problem> train = new ArrayList<>(count);
        while (train.size() < count) {
            long a = operand(rng);
            long b = operand(rng);
            if (!held.contains(key(a, b))) train.add(problem(a, b));
        }
        return new Split(train, holdoutProblems);
    }

    private long key(long a, long b) {
        return a * pow10(maxDigits) + b;
    }
}
