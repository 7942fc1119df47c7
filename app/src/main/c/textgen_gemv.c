/*
 * textgen's native batch-1 step product (textgen.model.NativeGemv): y[j] += dot(A[j, 0..n), x) for rows [0, m) of a
 * row-major A. Each row's dot product is computed the same way whichever rows are computed with it (blocks of 8
 * rows, or a single row after them): the same lanes, in the same order, with the same final reduction, so a row's
 * result does not depend on where a caller cuts the rows. Two versions, picked once from the CPU's features:
 * AVX-512 (16 lanes) and AVX2 with FMA (8 lanes); without either the Java side keeps the BLAS.
 *
 * Built by scripts/lib/build-native.sh (gcc, run by Maven) with textgen_lstm.c into one library; without gcc textgen
 * runs without it.
 */
#include <jni.h>
#include <immintrin.h>
#include <stdint.h>
#include "textgen_native.h"

#define ROWS 8

__attribute__((target("avx512f,fma")))
static void gemv512(const float *a, const float *x, float *y, int m, int n) {
    const int tail = n & 15, body = n - tail;
    const __mmask16 mask = (__mmask16) ((1u << tail) - 1);
    const __m512 xt = _mm512_maskz_loadu_ps(mask, x + body);
    int j = 0;
    for (; j + ROWS <= m; j += ROWS) {
        const float *r = a + (int64_t) j * n;
        __m512 acc[ROWS];
        for (int q = 0; q < ROWS; q++) acc[q] = _mm512_setzero_ps();
        for (int k = 0; k < body; k += 16) {
            __m512 xv = _mm512_loadu_ps(x + k);
            for (int q = 0; q < ROWS; q++) acc[q] = _mm512_fmadd_ps(_mm512_loadu_ps(r + (int64_t) q * n + k), xv, acc[q]);
        }
        if (tail) {
            for (int q = 0; q < ROWS; q++) acc[q] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mask, r + (int64_t) q * n + body), xt, acc[q]);
        }
        for (int q = 0; q < ROWS; q++) y[j + q] += _mm512_reduce_add_ps(acc[q]);
    }
    for (; j < m; j++) {
        const float *r = a + (int64_t) j * n;
        __m512 acc = _mm512_setzero_ps();
        for (int k = 0; k < body; k += 16) acc = _mm512_fmadd_ps(_mm512_loadu_ps(r + k), _mm512_loadu_ps(x + k), acc);
        if (tail) acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mask, r + body), xt, acc);
        y[j] += _mm512_reduce_add_ps(acc);
    }
}

__attribute__((target("avx2,fma")))
static inline float sum256(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

__attribute__((target("avx2,fma")))
static void gemv256(const float *a, const float *x, float *y, int m, int n) {
    const int tail = n & 7, body = n - tail;
    int32_t bits[8];
    for (int i = 0; i < 8; i++) bits[i] = i < tail ? -1 : 0;
    const __m256i mask = _mm256_loadu_si256((const __m256i *) bits);
    const __m256 xt = _mm256_maskload_ps(x + body, mask);
    int j = 0;
    for (; j + ROWS <= m; j += ROWS) {
        const float *r = a + (int64_t) j * n;
        __m256 acc[ROWS];
        for (int q = 0; q < ROWS; q++) acc[q] = _mm256_setzero_ps();
        for (int k = 0; k < body; k += 8) {
            __m256 xv = _mm256_loadu_ps(x + k);
            for (int q = 0; q < ROWS; q++) acc[q] = _mm256_fmadd_ps(_mm256_loadu_ps(r + (int64_t) q * n + k), xv, acc[q]);
        }
        if (tail) {
            for (int q = 0; q < ROWS; q++) acc[q] = _mm256_fmadd_ps(_mm256_maskload_ps(r + (int64_t) q * n + body, mask), xt, acc[q]);
        }
        for (int q = 0; q < ROWS; q++) y[j + q] += sum256(acc[q]);
    }
    for (; j < m; j++) {
        const float *r = a + (int64_t) j * n;
        __m256 acc = _mm256_setzero_ps();
        for (int k = 0; k < body; k += 8) acc = _mm256_fmadd_ps(_mm256_loadu_ps(r + k), _mm256_loadu_ps(x + k), acc);
        if (tail) acc = _mm256_fmadd_ps(_mm256_maskload_ps(r + body, mask), xt, acc);
        y[j] += sum256(acc);
    }
}

void textgen_gemv(int lanes, const float *a, const float *x, float *y, int m, int n) {
    if (lanes == 512) gemv512(a, x, y, m, n);
    else gemv256(a, x, y, m, n);
}

/* 512, 256, or 0 when the CPU has neither instruction set. */
JNIEXPORT jint JNICALL Java_textgen_model_NativeGemv_lanes(JNIEnv *env, jclass cls) {
    (void) env;
    (void) cls;
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return 512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return 256;
    return 0;
}

/* y[yOff + j] += dot(a[aOff + j * n ...], x[xOff ...]) for j in [0, m); the Java side checks the bounds. */
JNIEXPORT void JNICALL Java_textgen_model_NativeGemv_run(JNIEnv *env, jclass cls, jint lanes, jint m, jint n,
                                                        jobject a, jlong aOff, jobject x, jlong xOff, jobject y, jlong yOff) {
    (void) cls;
    const float *pa = (const float *) (*env)->GetDirectBufferAddress(env, a) + aOff;
    const float *px = (const float *) (*env)->GetDirectBufferAddress(env, x) + xOff;
    float *py = (float *) (*env)->GetDirectBufferAddress(env, y) + yOff;
    textgen_gemv(lanes, pa, px, py, m, n);
}
