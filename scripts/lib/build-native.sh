#!/usr/bin/env bash
# Builds textgen's native batch-1 product (app/src/main/c/textgen_gemv.c, textgen.model.NativeGemv) into the classes
# directory, from where the jar takes it; Maven runs it after compiling (app/pom.xml). Usage:
#   build-native.sh SOURCE OUTPUT JAVA_HOME
# Without gcc, or on anything but Linux x86_64, it says so and builds nothing: textgen then runs the product with the
# BLAS (NativeGemv says why on the banner); so does a gcc that cannot compile it (too old for AVX-512 intrinsics, say),
# after its own messages.
set -euo pipefail
src="$1" out="$2" jdk="$3"
if [ "$(uname -s)-$(uname -m)" != Linux-x86_64 ]; then
  echo "textgen: native GEMV not built: it is for Linux x86_64 only; the BLAS does batch-1 products"
  exit 0
fi
if ! command -v gcc >/dev/null 2>&1; then
  echo "textgen: native GEMV not built: gcc is not installed; the BLAS does batch-1 products (slower sampling and scoring)"
  exit 0
fi
mkdir -p "$(dirname "$out")"
# no -march: each kernel names its instruction set, and the library picks one from the CPU it runs on
rm -f "$out"
if ! gcc -O3 -std=c11 -Wall -Wextra -fPIC -shared -I"$jdk/include" -I"$jdk/include/linux" -o "$out.tmp" "$src"; then
  rm -f "$out.tmp"
  echo "textgen: native GEMV not built: gcc failed (above); the BLAS does batch-1 products (slower sampling and scoring)"
  exit 0
fi
mv "$out.tmp" "$out"
