#!/usr/bin/env bash
# Builds textgen's native batch-1 kernels (the C sources in app/src/main/c: the product textgen.model.NativeGemv calls
# and the LSTM recurrence of textgen.model.NativeLstm) into one library in the classes directory, from where the jar
# takes it; Maven runs it after compiling (app/pom.xml). Usage:
#   build-native.sh SOURCE_DIR OUTPUT JAVA_HOME
# Without gcc, or on anything but Linux x86_64, it says so and builds nothing: textgen then runs batch-1 steps with
# the BLAS and Java (NativeGemv says why on the banner); so does a gcc that cannot compile them (too old for AVX-512
# intrinsics, say), after its own messages.
set -euo pipefail
srcdir="$1" out="$2" jdk="$3"
if [ "$(uname -s)-$(uname -m)" != Linux-x86_64 ]; then
  echo "textgen: native kernels not built: they are for Linux x86_64 only; the BLAS does batch-1 products"
  exit 0
fi
if ! command -v gcc >/dev/null 2>&1; then
  echo "textgen: native kernels not built: gcc is not installed; the BLAS does batch-1 products (slower sampling and scoring)"
  exit 0
fi
mkdir -p "$(dirname "$out")"
# no -march: each kernel names its instruction set, and the library picks one from the CPU it runs on;
# -ffp-contract=off: no fused multiply-adds where the C has none, so that the gates round as the Java code's do;
# -fno-trapping-math: floating-point exception flags are nobody's concern here, and without it gcc leaves the gates'
# clamps (comparisons) unvectorised for AVX2
rm -f "$out"
if ! gcc -O3 -std=c11 -ffp-contract=off -fno-trapping-math -Wall -Wextra -fPIC -shared -I"$jdk/include" -I"$jdk/include/linux" -o "$out.tmp" "$srcdir"/*.c; then
  rm -f "$out.tmp"
  echo "textgen: native kernels not built: gcc failed (above); the BLAS does batch-1 products (slower sampling and scoring)"
  exit 0
fi
mv "$out.tmp" "$out"
