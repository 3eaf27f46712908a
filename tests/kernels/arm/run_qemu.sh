#!/usr/bin/env bash
# kernels_neon_qemu: cross-compiles hearth's kernels library and kernels_test for AArch64 (the
# kernels-only project in this folder, cmake/aarch64-linux-gnu.cmake) and runs the test binary
# under qemu-user: on a CPU with the dot-product extension (-cpu max: the SDOT kernels are
# dispatched), on an Armv8.0 core without it (-cpu cortex-a53: plain NEON), and the dispatch and
# product tests once more with HEARTH_NO_SIMD=1 (the references). HEARTH_EXPECT_DOTPROD tells the
# binary which CPU it should find, so a run that lost or gained the extension fails.
# Exits 77 (CTest: skipped) when the cross compiler, qemu-user or the GoogleTest sources are missing
# (scripts/install-deps.sh installs them).
#
#   run_qemu.sh SOURCE_DIR BUILD_DIR      (BUILD_DIR is created and reused between runs)
set -euo pipefail

src=${1:?usage: run_qemu.sh SOURCE_DIR BUILD_DIR}
build=${2:?usage: run_qemu.sh SOURCE_DIR BUILD_DIR}
sysroot=/usr/aarch64-linux-gnu

skip() {
  echo "SKIP: $1 (scripts/install-deps.sh installs it)"
  exit 77
}
command -v aarch64-linux-gnu-g++ >/dev/null || skip "no aarch64-linux-gnu-g++ (g++-aarch64-linux-gnu)"
command -v qemu-aarch64 >/dev/null || skip "no qemu-aarch64 (qemu-user)"
[ -f /usr/src/googletest/googletest/CMakeLists.txt ] || skip "no GoogleTest sources (libgtest-dev)"
[ -d "$sysroot/lib" ] || skip "no arm64 C library in $sysroot (libc6-dev-arm64-cross)"

if [ ! -f "$build/CMakeCache.txt" ]; then
  generator=()
  if command -v ninja >/dev/null; then generator=(-G Ninja); fi
  cmake -S "$src/tests/kernels/arm" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_TOOLCHAIN_FILE="$src/cmake/aarch64-linux-gnu.cmake" >/dev/null
fi
start=$(date +%s)
cmake --build "$build" --target kernels_test -j "${HEARTH_CROSS_JOBS:-2}"
echo "cross build: $(($(date +%s) - start)) s"

binary=$build/tests/kernels_test
file_info=$(od -An -tx1 -j18 -N2 "$binary" | tr -d ' ')
[ "$file_info" = "b700" ] || { echo "FAIL: $binary is not an AArch64 ELF (e_machine $file_info)"; exit 1; }

status=0
# run NAME CPU EXPECT_DOTPROD [ENV=VALUE...] -- [GTEST ARGS...]
run() {
  local name=$1 cpu=$2 expect=$3
  shift 3
  local env=()
  while [ "$1" != -- ]; do env+=("$1"); shift; done
  shift
  echo "== $name: qemu-aarch64 -cpu $cpu (dot-product extension expected: $expect) ${env[*]}"
  local start
  start=$(date +%s)
  if env HEARTH_EXPECT_DOTPROD="$expect" "${env[@]}" \
      qemu-aarch64 -cpu "$cpu" -L "$sysroot" "$binary" --gtest_brief=1 "$@"; then
    echo "$name: passed in $(($(date +%s) - start)) s"
  else
    echo "$name: FAILED"
    status=1
  fi
}
run sdot max 1 --
run plain-neon cortex-a53 0 --
# HEARTH_NO_SIMD=1 must still dispatch the references on ARM (and the products stay right).
run no-simd max 1 HEARTH_NO_SIMD=1 -- --gtest_filter='NeonDispatchTest.*:VecDotTest.*:MatMulTest.*'
exit $status
