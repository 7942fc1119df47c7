# openblas-core.sh: which OpenBLAS kernels to ask for on this CPU (sourced, not run; by ./textgen, bench/run and bench/ab).
#
#   openblas_core [CPUINFO]    prints SkylakeX, Haswell or nothing (CPUINFO: default /proc/cpuinfo)
#   openblas_core_export       exports OPENBLAS_CORETYPE as openblas_core says, unless it is set already
#
# OpenBLAS picks its kernels by CPU model number, and a model newer than the library falls back to its generic
# Prescott (SSE3) kernels: on an Intel Xeon of family 6 model 207 (2026-12-03) both ND4J's OpenBLAS 0.3.19 and
# Debian's 0.3.21 (PyTorch's BLAS in bench/) did, and float32 GEMM ran at 35 GFLOP/s instead of 168, training 2.3x
# slower. On Intel CPUs this names the kernels from the CPU's features instead: SkylakeX with AVX-512 (F, CD, BW, DQ,
# VL), Haswell with AVX2 and FMA, which are the single-precision kernels OpenBLAS itself picks for every Intel model it
# knows with those features. Nothing is printed for other vendors (OpenBLAS knows AMD's Zen by family, not model) or
# without /proc/cpuinfo. A value the user set wins.
openblas_core() {
  local info flags f
  info="$(grep -m2 -E '^(vendor_id|flags)' "${1:-/proc/cpuinfo}" 2>/dev/null)" || return 0
  case "$info" in *GenuineIntel*) ;; *) return 0 ;; esac
  flags=" $(printf '%s\n' "$info" | sed -n 's/^flags[[:space:]]*:\(.*\)$/\1/p') "
  for f in avx512f avx512cd avx512bw avx512dq avx512vl; do
    case "$flags" in *" $f "*) ;; *) f=""; break ;; esac
  done
  if [ -n "$f" ]; then echo SkylakeX; return 0; fi
  case "$flags" in *" avx2 "*) case "$flags" in *" fma "*) echo Haswell ;; esac ;; esac
}

openblas_core_export() {
  local core
  if [ -z "${OPENBLAS_CORETYPE:-}" ]; then
    core="$(openblas_core)"
    if [ -n "$core" ]; then export OPENBLAS_CORETYPE="$core"; fi
  fi
  return 0
}
