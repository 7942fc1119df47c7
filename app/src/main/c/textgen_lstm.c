/*
 * textgen's native batch-1 LSTM recurrence (textgen.model.NativeLstm): the steps of one chunk of one layer at batch 1
 * (sampling, scoring), after the input projection. Step s: z_s += RW h_{s-1} (textgen_gemv, RW row-major [4H, H]),
 * then DL4J's LSTM gates on z_s's four blocks (a tanh, f, o, g sigmoid): c = f c + g a, h_s = o tanh(c).
 *
 * Bit for bit what textgen.model.LstmKernel's Java forward pass computes with the same product kernel: a row's product
 * does not depend on the rows computed with it, and the gate arithmetic is the Java code's (CpuKernels.tanh, Eigen's
 * rational tanh; sigmoid(v) = 0.5 + 0.5 tanh(v / 2)) as the same float operations in the same order, with no fused
 * multiply-adds (the build passes -ffp-contract=off) and the clamp written so that NaN stays NaN, as Math.min/max do.
 *
 * Two threads share each step: the hidden units are cut in two halves (the cut a multiple of 16), and a thread takes
 * a half of a step (its four gate rows of the product, then its gates) once both halves of the step before are done,
 * since each reads all of h_{s-1}. So a step needs one handshake between the cores, and a thread alone (its partner
 * late, busy or absent) takes every half itself: the results are the same whoever computes which half.
 */
#define _GNU_SOURCE
#include <jni.h>
#include <immintrin.h>
#include <sched.h>
#include <stdint.h>
#include <time.h>
#include "textgen_native.h"

/* tanh rounds to +-1 in float beyond this */
#define CLAMP 7.90531110763549805f
/* How long a thread spins for the other half of the previous step before it yields its core to the other thread */
#define SPIN_NANOS 50000

static inline float tanh_(float v) {
    float m = v > CLAMP ? CLAMP : v;
    float x = m < -CLAMP ? -CLAMP : m;
    float x2 = x * x;
    float p = x2 * -2.76076847742355e-16f + 2.00018790482477e-13f;
    p = x2 * p - 8.60467152213735e-11f;
    p = x2 * p + 5.12229709037114e-08f;
    p = x2 * p + 1.48572235717979e-05f;
    p = x2 * p + 6.37261928875436e-04f;
    p = x2 * p + 4.89352455891786e-03f;
    float q = x2 * 1.19825839466702e-06f + 1.18534705686654e-04f;
    q = x2 * q + 2.26843463243900e-03f;
    q = x2 * q + 4.89352518554385e-03f;
    return x * p / q;
}

static inline float sigmoid_(float v) {
    return 0.5f + 0.5f * tanh_(0.5f * v);
}

/* Units [j0, j1) of one step: z holds the step's pre-activations [4H], c the cell state [H] (updated), h gets h_s. */
#define GATES(name, isa)                                                                                             \
    __attribute__((target(isa))) static void name(const float *restrict z, float *restrict c, float *restrict h,    \
                                                  int hidden, int j0, int j1) {                                     \
        for (int k = j0; k < j1; k++) {                                                                              \
            float a = tanh_(z[k]), f = sigmoid_(z[hidden + k]), o = sigmoid_(z[2 * hidden + k]);                    \
            float g = sigmoid_(z[3 * hidden + k]);                                                                   \
            float cn = f * c[k] + g * a;                                                                             \
            c[k] = cn;                                                                                               \
            h[k] = o * tanh_(cn);                                                                                    \
        }                                                                                                            \
    }
GATES(gates512, "avx512f")
GATES(gates256, "avx2")

/*
 * The shared counters of one chunk: per half of the units, the next step whose half is to be taken and the number of
 * steps whose half is done (each half's steps are done in order), on cache lines of their own.
 */
typedef struct {
    int64_t next[2];
    char pad1[48];
    int64_t done[2];
    char pad2[48];
} tickets;

/* Waits until *p >= v: spinning, and after SPIN_NANOS yielding, so that a preempted partner gets the core back. */
static void await(const int64_t *p, int64_t v) {
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (unsigned spins = 1; __atomic_load_n(p, __ATOMIC_ACQUIRE) < v; spins++) {
        if (spins % 64 == 0) {
            clock_gettime(CLOCK_MONOTONIC, &t);
            if ((t.tv_sec - t0.tv_sec) * 1000000000L + (t.tv_nsec - t0.tv_nsec) > SPIN_NANOS) sched_yield();
        } else {
            _mm_pause();
        }
    }
}

/* Rows per piece of a half's product: the pieces are taken in reverse order every other step (see below). */
#define PIECE 32

/*
 * Half [j0, j1) of step s. Its product reads 4 (j1 - j0) rows of RW, 2 MB at H = 512, twice a 1 MB L2 cache: taken
 * in the same order every step, each step would find none of them there; taken forwards and backwards in turn, the
 * rows read last are read first, from L2. A row's product is the same in any order.
 */
static void half(int lanes, const float *rw, float *zs, const float *prev, float *next, float *c, int64_t h, int j0,
                 int j1, int backwards) {
    const int pieces = (j1 - j0 + PIECE - 1) / PIECE;
    for (int i = 0; i < 4 * pieces; i++) {
        const int at = backwards ? 4 * pieces - 1 - i : i, q = at / pieces, r0 = j0 + at % pieces * PIECE;
        const int r1 = r0 + PIECE < j1 ? r0 + PIECE : j1;
        textgen_gemv(lanes, rw + (q * h + r0) * h, prev, zs + q * h + r0, r1 - r0, (int) h);
    }
    if (lanes == 512) gates512(zs, c, next, (int) h, j0, j1);
    else gates256(zs, c, next, (int) h, j0, j1);
}

/*
 * Takes halves of steps until there are none, then waits until all are done: on return h_1..h_T and c are written.
 * A thread takes the earliest step's half not yet taken, its own half (the first or second, by {@code own}) when both
 * are, so that each thread keeps to one half while the other keeps up, and waits only for halves another thread has
 * taken. rw [4H, H]; z [T, 4H], bias and input projection already in; hs [T+1, H], h_0 in row 0; c [H], c_0. The
 * Java side checks the bounds and zeroes the counters before the chunk.
 */
JNIEXPORT void JNICALL Java_textgen_model_NativeLstm_run(JNIEnv *env, jclass cls, jint lanes, jint steps, jint hidden,
                                                        jobject rw, jlong rwOff, jobject z, jlong zOff, jobject hs,
                                                        jlong hsOff, jobject c, jlong cOff, jobject counters, jint own) {
    (void) cls;
    const float *prw = (const float *) (*env)->GetDirectBufferAddress(env, rw) + rwOff;
    float *pz = (float *) (*env)->GetDirectBufferAddress(env, z) + zOff;
    float *ph = (float *) (*env)->GetDirectBufferAddress(env, hs) + hsOff;
    float *pc = (float *) (*env)->GetDirectBufferAddress(env, c) + cOff;
    tickets *tk = (tickets *) (*env)->GetDirectBufferAddress(env, counters);
    const int64_t h = hidden;
    int mid = (hidden / 2 + 15) / 16 * 16;
    if (mid > hidden) mid = hidden;
    const int mine = own & 1, other = 1 - mine;
    for (;;) {
        int64_t a = __atomic_load_n(&tk->next[mine], __ATOMIC_ACQUIRE), b = __atomic_load_n(&tk->next[other], __ATOMIC_ACQUIRE);
        int part;
        int64_t s;
        if (a < steps && a <= b) part = mine, s = a;
        else if (b < steps) part = other, s = b;
        else break;
        if (!__atomic_compare_exchange_n(&tk->next[part], &s, s + 1, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) continue;
        await(&tk->done[0], s);
        await(&tk->done[1], s);
        half(lanes, prw, pz + s * 4 * h, ph + s * h, ph + (s + 1) * h, pc, h, part ? mid : 0, part ? hidden : mid, (int) (s & 1));
        __atomic_store_n(&tk->done[part], s + 1, __ATOMIC_RELEASE);
    }
    await(&tk->done[0], steps);
    await(&tk->done[1], steps);
}
