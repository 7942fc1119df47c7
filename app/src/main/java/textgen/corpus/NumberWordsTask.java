package textgen.corpus;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * Numbers in English words and in digits, one per line: {@code four thousand seven hundred twenty-one = 4721}.
 * The words name each digit's place ("thousand", "hundred") before the digits are due, so a small LSTM language model
 * learns to read them in minutes; it is judged on numbers it never saw. Numbers have a uniformly random number of
 * digits from 1 to 4.
 */
public final class NumberWordsTask {
    private static final String[] ONES = {"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
            "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"};
    private static final String[] TENS = {"", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"};

    /** One problem: the prompt ("four thousand seven hundred twenty-one = ") and the digits. */
    public record Problem(int number, String prompt, String answer) {
        public String line() {
            return prompt + answer;
        }
    }

    /** English words for 0 <= n < 10000, e.g. 4721 -> "four thousand seven hundred twenty-one". */
    public static String words(int n) {
        if (n < 0 || n >= 10_000) throw new IllegalArgumentException("0..9999: " + n);
        if (n < 20) return ONES[n];
        if (n < 100) return TENS[n / 10] + (n % 10 == 0 ? "" : "-" + ONES[n % 10]);
        if (n < 1000) return ONES[n / 100] + " hundred" + (n % 100 == 0 ? "" : " " + words(n % 100));
        return ONES[n / 1000] + " thousand" + (n % 1000 == 0 ? "" : " " + words(n % 1000));
    }

    public static Problem problem(int n) {
        return new Problem(n, words(n) + " = ", Integer.toString(n));
    }

    /**
     * Training and held-out problems, disjoint. Held-out numbers are drawn first, from 100..9999 only: there are just
     * 100 numbers below 100, and holding some out would take those words out of training altogether.
     */
    public static List<List<Problem>> generate(int count, int holdout, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        Set<Integer> held = new HashSet<>();
        List<Problem> heldOut = new ArrayList<>();
        while (heldOut.size() < holdout) {
            int n = draw(rng);
            if (n >= 100 && held.add(n)) heldOut.add(problem(n));
        }
        List<Problem> train = new ArrayList<>(count);
        while (train.size() < count) {
            int n = draw(rng);
            if (!held.contains(n)) train.add(problem(n));
        }
        return List.of(train, heldOut);
    }

    private static int draw(SplittableRandom rng) {
        int digits = 1 + rng.nextInt(4);
        int lo = digits == 1 ? 0 : (int) Math.pow(10, digits - 1);
        return lo + rng.nextInt((int) Math.pow(10, digits) - lo);
    }
}
