#!/bin/sh
# `make cross-test`: the library and every test program cross-built for
# AArch64 (the NEON micro-kernel) and run under qemu-user. Needs Debian's
# gcc-aarch64-linux-gnu and qemu-user; CROSS_CC and CROSS_RUN override the
# compiler and the emulator. The programs the tests start (ctinfer,
# ctconvert) are the native build's, in build/.
set -e
triple=aarch64-linux-gnu
cc=${CROSS_CC:-$triple-gcc}
run=${CROSS_RUN:-"qemu-aarch64 -L /usr/$triple"}
tests=$(for t in tests/test_*.c; do t=${t#tests/}; echo "build-cross/tests/${t%.c}"; done)
${MAKE:-make} --no-print-directory B=build-cross CC="$cc" $tests
CT_BIN=build CT_RUNNER="$run" tests/run.sh $tests
