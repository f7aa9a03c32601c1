// The per-ISA half of the GEMM (internal): micro-kernel shape, blocking, packing and the
// block ("macro") kernel, filled by cpp/src/gemm/gemm_isa.inc inside each ISA's
// namespace. The portable half (blocking loops, threading, scratch) is gemm.cpp.
#pragma once
#include <cstddef>

#include "kernel_table.hpp"
#include "simdmlp/gemm.hpp"

namespace simdmlp {

// The most rows one small-batch sweep (GemmKernels::small_rows) takes; the driver splits
// larger small batches into balanced groups of at most this many.
constexpr int kSweepRows = 8;

// How a block kernel starts each accumulator.
enum GemmInit : int { kInitZero = 0, kInitBias = 1, kInitLoad = 2 };

// One call of the block kernel: C[0:mc, 0:nc] (+)= A[0:mc, 0:kc] B[0:kc, 0:nc].
//   A: packed (MR-row micro-panels, k-major, zero-padded: panel p at a + p*kc*MR) or
//      direct (element (i, k) at a[i*a_rs + k*a_cs]).
//   B: NR-column micro-panels; panel p at b + p*b_ps, row k of a panel at + k*b_ld,
//      NR contiguous values (zero-padded when packed). A direct B (b_ld = row stride,
//      b_ps = NR) has no padding, so its last partial panel comes from `b_tail`
//      (kc x NR, row stride NR) instead.
//   init: the accumulator's start (kInitLoad continues the chain stored in C).
//   act: when set (last K block only), y[i, :] = act(c[i, :]) after each tile's store.
template <class T>
struct BlockArgs {
  gemm_index mc, nc, kc;
  const T* a;
  gemm_index a_rs, a_cs;
  bool a_packed;
  const T* b;
  gemm_index b_ps, b_ld;
  const T* b_tail;
  T* c;
  gemm_index ldc;
  int init;
  const T* bias;
  ActFwdFn<T> act;
  const ActParams<T>* params;
  T* y;
  gemm_index ldy;
  // Pre-packed B only: the panel used after this block's last one (the next K or N
  // block's first panel, b_next_len elements), or null. Each panel of B is read from
  // memory by its first tile; the block kernel prefetches the next panel while the
  // current one's tiles run, spread over them, so that no tile waits on memory.
  const T* b_next;
  gemm_index b_next_len;
  // Pipelined B (pipe[0] set; row-major B, one block of A): B's panels pass through the
  // two panel buffers pipe[0], pipe[1]: panel i of this block is in pipe[(cur + i) & 1]
  // (this block's first one packed already), and while its tiles run they copy the next
  // panel from src (this block of B, row k at src + k*src_rs) or, after the last one,
  // the next block's first from next_src (next_kc rows, next_w columns; null: none).
  T* pipe[2];
  int cur;
  const T* src;
  gemm_index src_rs;
  const T* next_src;
  gemm_index next_kc, next_w;
};

template <class T>
struct GemmKernels {
  int mr, nr, kc, mc, nc;
  int small_m;  // M up to this uses the direct (unpacked) path
  // B's panels kept coming during the tiles (BlockArgs::b_next, BlockArgs::pipe): on
  // AVX-512 only. On AVX2 (its 6 x 16 tile holds 15 of the 16 registers) it measured
  // mixed: 128x1024x4096 10% slower, 128x784x512 and 64x1024x1024 5% faster. NEON is
  // untimed here.
  bool pipe_b;
  // dst = the kc x nc block of B (element (k, j) at b[k*rs + j*cs]) as NR-column
  // micro-panels, panel p at dst + p*ps, zero-padded to NR columns.
  void (*pack_b)(gemm_index kc, gemm_index nc, const T* b, gemm_index rs, gemm_index cs, T* dst,
                 gemm_index ps);
  // dst = the mc x kc block of A as MR-row micro-panels (panel p at dst + p*kc*MR).
  void (*pack_a)(gemm_index mc, gemm_index kc, const T* a, gemm_index rs, gemm_index cs, T* dst);
  void (*block)(const BlockArgs<T>& g);
  // Rows [0, m) of the backward elementwise sweep over n columns (see gemm.hpp).
  void (*bwd_rows)(gemm_index m, gemm_index n, const T* gy, gemm_index ldgy, const T* z,
                   gemm_index ldz, T* gz, gemm_index ldgz, ActBwdFn<T> bwd,
                   const ActParams<T>* params, T* db);
  // Small batch (m <= small_m rows, all of K) with B read in place, row-major (b_cs = 1:
  // element (k, j) at b[k*b_rs + j]) or transposed (b_rs = 1: at b[j*b_cs + k], W^T in a
  // dense layer's grad_x): C = A B (+ bias), then Y = act(C) when act is set. Null on the
  // scalar ISA (the tiled path serves it).
  void (*small_rows)(int m, gemm_index K, gemm_index n, const T* a, gemm_index a_rs, gemm_index a_cs,
                     const T* b, gemm_index b_rs, gemm_index b_cs, T* c, gemm_index ldc, int init,
                     const T* bias, ActFwdFn<T> act, const ActParams<T>* params, T* y, gemm_index ldy);
};

struct GemmTable {
  GemmKernels<float> f32;
  GemmKernels<double> f64;
  // 16 independent vector FMA chains for `iters` iterations; returns a value that
  // depends on all of them (so the loop cannot be removed). *lanes_out = vector lanes.
  double (*fma_probe_f32)(long iters, int* lanes_out);
  double (*fma_probe_f64)(long iters, int* lanes_out);
};

namespace scalar { extern const GemmTable gemm_table; }
#if defined(SIMDMLP_X86)
namespace avx2 { extern const GemmTable gemm_table; }
namespace avx512 { extern const GemmTable gemm_table; }
#endif
#if defined(SIMDMLP_NEON)
namespace neon { extern const GemmTable gemm_table; }
#endif

}  // namespace simdmlp
