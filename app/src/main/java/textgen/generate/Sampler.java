package textgen.generate;

import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import textgen.corpus.Vocabulary;
import textgen.model.Predictor;

import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.function.Consumer;

/**
 * Generates text one token at a time through a {@link Predictor}: the prime is fed in one call, then each drawn token is
 * fed back. Randomness comes only from the {@link SplittableRandom} passed in, so a seed fixes the text.
 */
public final class Sampler {
    private final Predictor predictor;
    private final Vocabulary vocab;
    private final SamplingOptions options;
    private int generated;

    public Sampler(MultiLayerNetwork net, Vocabulary vocab, SamplingOptions options) {
        this.predictor = Predictor.of(net);
        this.vocab = vocab;
        this.options = options;
    }

    /**
     * Generates up to {@code length} tokens after {@code prime} (words are joined as {@link Vocabulary#separator} says,
     * starting with the separator after the prime's last token). Generation starts as at the beginning of a line: when
     * the vocabulary has a newline the network first reads one (not emitted), as every line after the first was
     * preceded by one in training; without a newline an empty prime starts after a random token. Stops early,
     * without emitting it, when the text ends with {@code stop}. Text is passed to {@code out} as soon as it cannot be
     * part of the stop string.
     *
     * @return the generated text (without the prime and the stop string)
     */
    public String generate(int[] prime, int length, String stop, SplittableRandom rng, Consumer<String> out) {
        predictor.reset();
        try {
            int nl = vocab.newline();
            int[] start;
            if (nl >= 0 && (prime.length == 0 || prime[0] != nl)) {
                start = new int[prime.length + 1];
                start[0] = nl;
                System.arraycopy(prime, 0, start, 1, prime.length);
            } else if (prime.length == 0) {
                start = new int[]{rng.nextInt(vocab.size())};
            } else {
                start = prime;
            }
            double[] probs = lastStep(predictor.feed(new int[][]{start}, 0, start.length), vocab.size());
            StringBuilder text = new StringBuilder();
            int emitted = 0; // chars of text already passed to out
            boolean hasStop = stop != null && !stop.isEmpty();
            int holdBack = hasStop ? stop.length() - 1 : 0; // a stop string may be forming in the last chars
            int[] next = new int[1];
            int previous = start[start.length - 1];
            generated = 0;
            for (int i = 0; i < length; i++) {
                next[0] = choose(probs, rng);
                generated++;
                text.append(vocab.separator(previous, next[0])).append(vocab.token(next[0]));
                previous = next[0];
                if (hasStop && text.length() >= stop.length() && text.indexOf(stop, text.length() - stop.length()) >= 0) {
                    text.setLength(text.length() - stop.length());
                    break;
                }
                int safe = text.length() - holdBack;
                if (safe > emitted && Character.isHighSurrogate(text.charAt(safe - 1))) safe--;
                if (safe > emitted) {
                    out.accept(text.substring(emitted, safe));
                    emitted = safe;
                }
                if (i + 1 < length) probs = lastStep(predictor.feed(new int[][]{next}, 0, 1), vocab.size());
            }
            if (text.length() > emitted) out.accept(text.substring(emitted));
            return text.toString();
        } finally {
            predictor.reset();
        }
    }

    /** How many tokens the last {@link #generate} drew (a stop string's count as drawn). */
    public int generatedTokens() {
        return generated;
    }

    /** The probabilities after the last token fed ({@code p} holds one row of {@code vocab} per token). */
    private static double[] lastStep(float[] p, int vocab) {
        double[] out = new double[vocab];
        for (int i = 0; i < vocab; i++) out[i] = p[p.length - vocab + i];
        return out;
    }

    /** Draws a token index from {@code probs} under the options. */
    int choose(double[] probs, SplittableRandom rng) {
        int n = probs.length;
        if (options.greedy()) return argmax(probs);
        double[] w = new double[n];
        double invT = 1.0 / options.temperature();
        double maxLog = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            w[i] = Math.log(Math.max(probs[i], 1e-45)) * invT;
            maxLog = Math.max(maxLog, w[i]);
        }
        double sum = 0;
        for (int i = 0; i < n; i++) {
            w[i] = Math.exp(w[i] - maxLog);
            sum += w[i];
        }
        for (int i = 0; i < n; i++) w[i] /= sum;
        if (options.topK() > 0 && options.topK() < n || options.topP() < 1.0) {
            Integer[] order = new Integer[n];
            for (int i = 0; i < n; i++) order[i] = i;
            double[] ww = w;
            Arrays.sort(order, (a, b) -> Double.compare(ww[b], ww[a]));
            int keep = options.topK() > 0 ? Math.min(options.topK(), n) : n;
            if (options.topP() < 1.0) {
                double cum = 0;
                int k = 0;
                while (k < keep) {
                    cum += w[order[k]];
                    k++;
                    if (cum >= options.topP()) break;
                }
                keep = k;
            }
            double[] kept = new double[n];
            for (int j = 0; j < keep; j++) kept[order[j]] = w[order[j]];
            w = kept;
        }
        double total = 0;
        for (double v : w) total += v;
        double r = rng.nextDouble() * total;
        for (int i = 0; i < n; i++) {
            r -= w[i];
            if (r < 0 && w[i] > 0) return i;
        }
        for (int i = n - 1; i >= 0; i--) if (w[i] > 0) return i;
        return argmax(probs);
    }

    private static int argmax(double[] p) {
        int best = 0;
        for (int i = 1; i < p.length; i++) if (p[i] > p[best]) best = i;
        return best;
    }
}
