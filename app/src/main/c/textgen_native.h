/* What textgen's native sources (libtextgen.so, scripts/lib/build-native.sh) share. */
#ifndef TEXTGEN_NATIVE_H
#define TEXTGEN_NATIVE_H

/* y[j] += dot(a[j * n ...], x) for j in [0, m), with the 512-bit (AVX-512) or 256-bit (AVX2 with FMA) kernel. */
__attribute__((visibility("hidden"))) void textgen_gemv(int lanes, const float *a, const float *x, float *y, int m, int n);

#endif
