#!/usr/bin/env bash
# Build the C++ core for aarch64 (NEON path) with Debian's cross compiler and run
# tools/core_check.cpp under qemu-user:
#   apt-get install g++-aarch64-linux-gnu qemu-user && bash tools/cross_check.sh
# With CXX=g++ QEMU= it checks the native build the same way.
set -euo pipefail
cd "$(dirname "$0")/.."
CXX=${CXX:-aarch64-linux-gnu-g++}
QEMU=${QEMU-qemu-aarch64}
out=$(mktemp -d)
$CXX -std=c++17 -O2 -ffp-contract=off -fno-tree-slp-vectorize -fopenmp -Icpp/include -Icpp/src -static \
  tools/core_check.cpp cpp/src/*.cpp cpp/src/gemm/*.cpp -o "$out/core_check"
${QEMU:+$QEMU} "$out/core_check"
