// The portable half of the GEMM: BLIS-style blocking loops, packing decisions, threads
// and scratch space around the per-ISA block kernel (gemm_isa.inc). Compiled at the
// baseline ISA; every vector instruction lives in the per-ISA namespaces.
//
// Loops of one thread over its rectangle C[m0:m1, n0:n1] (Goto/BLIS, notes/gemm.md 1.1):
//   for jc in N step NC:            B block KC x NC in L2 (with A's block)
//     for pc in K step KC:          pack B (unless pre-packed)
//       for ic in M step MC:        A block MC x KC in L2 (read in place when its rows
//         block kernel                are contiguous, else packed)
// One block of A (m <= MC rows per thread, AVX-512) with a row-major B: no B block is
// reused, so there is no packing pass either; B's panels flow through two panel buffers,
// each copied by the tiles computing with the other (BlockArgs::pipe).
// Small M (<= small_m rows): no packing at all where strides allow; B streams from memory
// once per sweep of up to 8 rows (a GEMV-like pass over row-contiguous or pre-packed weights).
//
// Threads split C into a tm x tn grid of rectangles made of whole MR x NR tiles. K is
// never split, so the thread count changes nothing in the arithmetic (simdmlp/gemm.hpp).
#include "simdmlp/gemm.hpp"

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>

#include "gemm/gemm_table.hpp"
#include "kernel_table.hpp"
#include "simdmlp/memory.hpp"
#include "simdmlp/threads.hpp"

#if defined(_OPENMP)
#include <omp.h>
#endif

namespace simdmlp {
namespace {

using idx = gemm_index;

// Work thresholds for threads (flops = 2 M N K). Fork/join costs a few microseconds
// here; a thread is worth waking for about 2 MFLOP (0.01 ms at 200 GFLOP/s).
// Tuned with bench/bench_gemm.py.
constexpr double kMinParallelFlops = 3.0e6;
constexpr double kMinFlopsPerThread = 1.5e6;
// Backward elementwise sweep: elements per thread, by activation cost.
constexpr idx kMinParallelCheap = idx(1) << 17;
constexpr idx kMinParallelExp = idx(1) << 14;

const GemmTable& gemm_table_of(Isa isa) { return *isa_tables(isa).gemm; }
const KernelTable& act_table_of(Isa isa) { return *isa_tables(isa).act; }

template <class T> const GemmKernels<T>& kernels_of(const GemmTable& t);
template <> const GemmKernels<float>& kernels_of<float>(const GemmTable& t) { return t.f32; }
template <> const GemmKernels<double>& kernels_of<double>(const GemmTable& t) { return t.f64; }

template <class T> ActFwdFn<T> act_fwd(const KernelTable& t, int act);
template <> ActFwdFn<float> act_fwd<float>(const KernelTable& t, int act) { return t.fwd_f32[act]; }
template <> ActFwdFn<double> act_fwd<double>(const KernelTable& t, int act) { return t.fwd_f64[act]; }
template <class T> ActBwdFn<T> act_bwd(const KernelTable& t, int act);
template <> ActBwdFn<float> act_bwd<float>(const KernelTable& t, int act) { return t.bwd_f32[act]; }
template <> ActBwdFn<double> act_bwd<double>(const KernelTable& t, int act) { return t.bwd_f64[act]; }

// identity's forward is a copy and its backward returns grad_output: both are "none".
bool is_real_act(int act) { return act >= 0 && act < kNumActs && act != int(Act::identity); }

idx ceil_div(idx a, idx b) { return (a + b - 1) / b; }
idx round_up(idx a, idx b) { return ceil_div(a, b) * b; }

// ---------------------------------------------------------------------------- scratch
// Per-thread packing space, grown on demand and kept for the thread's lifetime, so a
// call faults in no fresh pages once warm (notes/baseline.md: ~2 us per 4 KiB page).
// Per thread, never shared: callers on several Python threads (each with its own
// OpenMP team) cannot collide.
class Arena {
 public:
  ~Arena() { buffer_free(raw_); }
  void* get(std::size_t bytes) {
    if (bytes > cap_) {
      buffer_free(raw_);
      raw_ = nullptr;
      cap_ = 0;
      const std::size_t want = bytes + bytes / 4 + 128;
      raw_ = buffer_alloc(want);
      if (!raw_) throw std::bad_alloc();
      cap_ = want - 128;
    }
    return align64(raw_);
  }

 private:
  static void* align64(void* p) {
    const auto u = reinterpret_cast<std::uintptr_t>(p);
    return reinterpret_cast<void*>((u + 63) & ~std::uintptr_t(63));
  }
  void* raw_ = nullptr;
  std::size_t cap_ = 0;
};

thread_local Arena t_arena;
// grad_z of dense_backward: held by the calling thread across the whole backward pass,
// while t_arena serves the GEMMs' packing on the same thread.
thread_local Arena t_grad_arena;

// Carve consecutive 64-byte aligned pieces out of one block.
struct Carver {
  unsigned char* p;
  template <class T>
  T* take(idx n) {
    T* r = reinterpret_cast<T*>(p);
    p += std::size_t(round_up(n * idx(sizeof(T)), 64));
    return r;
  }
  static idx bytes_of(idx n, std::size_t size) { return round_up(n * idx(size), 64); }
};

// ------------------------------------------------------------------------- problem
template <class T>
struct Problem {
  const GemmKernels<T>* k;
  idx M, N, K;
  MatrixView<T> A, B;
  const PackedMatrix<T>* packed;
  T* C;  // where the chain's value goes: Z, or Y itself
  idx ldc;
  T* Y;
  idx ldy;
  const T* bias;
  ActFwdFn<T> act;  // null: none
  ActParams<T> params;
  bool small;
};

// Small M: A read in place (any strides), B pre-packed, read in place (row-contiguous,
// the last partial panel copied and padded) or packed per K block.
template <class T>
void run_small(const Problem<T>& P, idx n0, idx n1) {
  const GemmKernels<T>& k = *P.k;
  // Row-major B: sweep down its rows in place; transposed B (W^T): its columns, in
  // register-transposed blocks. Not on the scalar ISA (the fallback; the tiled path). Above
  // kSweepRows rows (row-major B only, see dense_forward), balanced groups (9 -> 5 + 4,
  // 16 -> 8 + 8), each a sweep of its own over B: B is read once per group, which still
  // beat packing it for so few rows.
  if (!P.packed && (P.B.cs == 1 || P.B.rs == 1) && k.small_rows) {
    const idx groups = ceil_div(P.M, kSweepRows), rows = ceil_div(P.M, groups);
    for (idx r0 = 0; r0 < P.M; r0 += rows) {
      const int m = int(P.M - r0 < rows ? P.M - r0 : rows);
      k.small_rows(m, P.K, n1 - n0, P.A.data + r0 * P.A.rs, P.A.rs, P.A.cs, P.B.data + n0 * P.B.cs, P.B.rs,
                   P.B.cs, P.C + r0 * P.ldc + n0, P.ldc, P.bias ? kInitBias : kInitZero,
                   P.bias ? P.bias + n0 : nullptr, P.act, &P.params, P.Y + r0 * P.ldy + n0, P.ldy);
    }
    return;
  }
  const idx NR = k.nr, K = P.K, nc = n1 - n0;
  const idx KCs = k.kc;
  const bool direct_b = !P.packed && P.B.cs == 1;
  const idx tail_w = nc % NR;
  idx bytes = 0;
  if (direct_b && tail_w) bytes += Carver::bytes_of(K * NR, sizeof(T));
  if (!P.packed && !direct_b) bytes += Carver::bytes_of(KCs * round_up(nc, NR), sizeof(T));
  Carver cv{static_cast<unsigned char*>(bytes ? t_arena.get(std::size_t(bytes)) : nullptr)};
  T* tail = nullptr;
  T* bbuf = nullptr;
  if (direct_b && tail_w) {
    tail = cv.take<T>(K * NR);
    const idx jt = n0 + nc - tail_w;
    k.pack_b(K, tail_w, P.B.data + jt * P.B.cs, P.B.rs, P.B.cs, tail, K * NR);
  }
  if (!P.packed && !direct_b) bbuf = cv.take<T>(KCs * round_up(nc, NR));

  BlockArgs<T> g{};
  g.mc = P.M;
  g.nc = nc;
  g.a_rs = P.A.rs;
  g.a_cs = P.A.cs;
  g.a_packed = false;
  g.c = P.C + n0;
  g.ldc = P.ldc;
  g.bias = P.bias ? P.bias + n0 : nullptr;
  g.params = &P.params;
  g.y = P.Y + n0;
  g.ldy = P.ldy;
  for (idx pc = 0; pc < K; pc += KCs) {
    const idx kc = K - pc < KCs ? K - pc : KCs;
    g.kc = kc;
    g.a = P.A.data + pc * P.A.cs;
    if (P.packed) {
      g.b = P.packed->data() + (n0 / NR) * K * NR + pc * NR;
      g.b_ps = K * NR;
      g.b_ld = NR;
      g.b_tail = nullptr;
    } else if (direct_b) {
      g.b = P.B.data + pc * P.B.rs + n0;
      g.b_ps = NR;
      g.b_ld = P.B.rs;
      g.b_tail = tail ? tail + pc * NR : nullptr;
    } else {
      k.pack_b(kc, nc, P.B.data + pc * P.B.rs + n0 * P.B.cs, P.B.rs, P.B.cs, bbuf, kc * NR);
      g.b = bbuf;
      g.b_ps = kc * NR;
      g.b_ld = NR;
      g.b_tail = nullptr;
    }
    g.init = pc == 0 ? (P.bias ? kInitBias : kInitZero) : kInitLoad;
    g.act = pc + kc == K ? P.act : nullptr;
    k.block(g);
  }
}

template <class T>
void run_big(const Problem<T>& P, idx m0, idx m1, idx n0, idx n1) {
  const GemmKernels<T>& k = *P.k;
  const idx NR = k.nr, MR = k.mr, KC = k.kc, MC = k.mc, NC = k.nc, K = P.K;
  const bool direct_a = P.A.cs == 1;
  const idx ncw = n1 - n0 < NC ? n1 - n0 : NC;
  // One block of A and a row-major B: no block of B is reused, so B's panels pass through
  // two panel buffers instead, each copied by the tiles of the one before (BlockArgs::pipe).
  // What the copy costs (2026-11-30, 1 thread, A/B medians, GFLOP/s, timing-only builds):
  // 128x1024x4096 runs 150 with it, 188 without. Its integer work and stores are nearly
  // free (storing a constant, no prefetch: 175); B's lines from L3 are not: the prefetch
  // alone costs 10% (161), spread over 4x the k steps or not, while as many prefetches of
  // consecutive lines cost 2-3% (179). Lines fetched 256 bytes per row of B cost the core
  // ~7 cycles each; pre-packed panels are contiguous and come with the hardware's stream
  // prefetcher.
  // Measured and dropped: prefetching the next block's source during the tiles, for a
  // separate pass (no gain); copying whole next blocks row by row, or groups of 4 panels
  // (1 KiB per row of B, buffers 4 panels wide), both slower (5-10%); the pipeline for up
  // to 1100 rows (no gain past MC); prefetching the next tile's C (no change at 1024 rows);
  // a prefetch in the transposed pack (slower); 12x32 tiles (10-15% slower); equal K
  // blocks (784 = 392 + 392) and KC = 512 (the same).
  const bool piped = k.pipe_b && !P.packed && P.B.cs == 1 && m1 - m0 <= MC;
  idx bytes = 0;
  if (piped) bytes += 2 * Carver::bytes_of(KC * NR, sizeof(T));
  else if (!P.packed) bytes += Carver::bytes_of(KC * round_up(ncw, NR), sizeof(T));
  if (!direct_a) bytes += Carver::bytes_of(round_up(MC, MR) * KC, sizeof(T));
  Carver cv{static_cast<unsigned char*>(bytes ? t_arena.get(std::size_t(bytes)) : nullptr)};
  T* bbuf = P.packed || piped ? nullptr : cv.take<T>(KC * round_up(ncw, NR));
  T* pipe0 = piped ? cv.take<T>(KC * NR) : nullptr;
  T* pipe1 = piped ? cv.take<T>(KC * NR) : nullptr;
  T* abuf = direct_a ? nullptr : cv.take<T>(round_up(MC, MR) * KC);
  int cur = 0;  // the pipe buffer holding the current block's first panel
  if (piped) {  // the first panel; every later one is copied by the tiles before it
    const idx kc = K < KC ? K : KC;
    k.pack_b(kc, n1 - n0 < NR ? n1 - n0 : NR, P.B.data + n0, P.B.rs, 1, pipe0, kc * NR);
  }

  BlockArgs<T> g{};
  g.ldc = P.ldc;
  g.params = &P.params;
  g.ldy = P.ldy;
  g.b_tail = nullptr;
  g.b_ld = NR;
  for (idx jc = n0; jc < n1; jc += NC) {
    const idx nc = n1 - jc < NC ? n1 - jc : NC;
    g.nc = nc;
    g.bias = P.bias ? P.bias + jc : nullptr;
    for (idx pc = 0; pc < K; pc += KC) {
      const idx kc = K - pc < KC ? K - pc : KC;
      g.kc = kc;
      // The block of B after this one: (jc, pc + kc), else (jc + NC, 0), else none.
      const bool next_k = pc + kc < K, next_n = !next_k && jc + NC < n1;
      const idx npc = next_k ? pc + kc : 0, njc = next_k ? jc : jc + NC;
      const idx nkc = K - npc < KC ? K - npc : KC;
      if (P.packed) {
        g.b = P.packed->data() + (jc / NR) * K * NR + pc * NR;
        g.b_ps = K * NR;
      } else if (piped) {
        g.pipe[0] = pipe0;
        g.pipe[1] = pipe1;
        g.cur = cur;
        g.src = P.B.data + pc * P.B.rs + jc;
        g.src_rs = P.B.rs;
        g.next_src = next_k || next_n ? P.B.data + npc * P.B.rs + njc : nullptr;
        g.next_kc = nkc;
        g.next_w = n1 - njc < NR ? n1 - njc : NR;
        cur = int((cur + ceil_div(nc, NR)) & 1);
      } else {
        k.pack_b(kc, nc, P.B.data + pc * P.B.rs + jc * P.B.cs, P.B.rs, P.B.cs, bbuf, kc * NR);
        g.b = bbuf;
        g.b_ps = kc * NR;
      }
      g.init = pc == 0 ? (P.bias ? kInitBias : kInitZero) : kInitLoad;
      g.act = pc + kc == K ? P.act : nullptr;
      for (idx ic = m0; ic < m1; ic += MC) {
        const idx mc = m1 - ic < MC ? m1 - ic : MC;
        g.mc = mc;
        if (direct_a) {
          g.a = P.A.data + ic * P.A.rs + pc;
          g.a_rs = P.A.rs;
          g.a_cs = 1;
          g.a_packed = false;
        } else {
          k.pack_a(mc, kc, P.A.data + ic * P.A.rs + pc * P.A.cs, P.A.rs, P.A.cs, abuf);
          g.a = abuf;
          g.a_packed = true;
        }
        g.c = P.C + ic * P.ldc + jc;
        g.y = P.Y + ic * P.ldy + jc;
        // Pre-packed B: the panel after this block's last one, prefetched by its tiles:
        // this block's first again for the next block of A, else the next block's first.
        g.b_next = nullptr;
        if (P.packed && k.pipe_b) {
          if (ic + MC < m1) {
            g.b_next = g.b;
            g.b_next_len = kc * NR;
          } else if (next_k || next_n) {
            g.b_next = P.packed->data() + (njc / NR) * K * NR + npc * NR;
            g.b_next_len = nkc * NR;
          }
        }
        k.block(g);
      }
    }
  }
}

// Split C (mt row tiles x nt column panels) among up to `threads` threads: the grid
// tm x tn minimising the largest rectangle's work, counting packing (a thread packs the
// B columns and the A rows it uses) at kPackCost multiply-adds per element.
struct Grid {
  idx tm = 1, tn = 1;
};

Grid choose_grid(idx mt, idx nt, idx MR, idx NR, int threads, bool pack_a, bool pack_b) {
  constexpr double kPackCost = 8;
  Grid best;
  double best_cost = -1;
  for (idx tm = 1; tm <= threads && tm <= mt; ++tm) {
    const idx tn = threads / tm < nt ? threads / tm : nt;
    if (tn < 1) continue;
    const double rows = double(ceil_div(mt, tm) * MR), cols = double(ceil_div(nt, tn) * NR);
    const double cost = rows * cols + kPackCost * ((pack_a ? rows : 0) + (pack_b ? cols : 0));
    if (best_cost < 0 || cost < best_cost * 0.999) {
      best_cost = cost;
      best.tm = tm;
      best.tn = tn;
    }
  }
  return best;
}

int gemm_threads(idx M, idx N, idx K) {
  const double flops = 2.0 * double(M) * double(N) * double(K);
  if (flops < kMinParallelFlops || in_forked_child()) return 1;
  const int nt = get_num_threads();
  const double useful = flops / kMinFlopsPerThread;
  return useful < double(nt) ? (useful < 1 ? 1 : int(useful)) : nt;
}

template <class T>
void run_problem(const Problem<T>& P) {
  const GemmKernels<T>& k = *P.k;
  const idx MR = k.mr, NR = k.nr;
  const idx mt = P.small ? 1 : ceil_div(P.M, MR);
  const idx nt = ceil_div(P.N, NR);
  int threads = gemm_threads(P.M, P.N, P.K);
  const Grid grid = choose_grid(mt, nt, P.small ? P.M : MR, NR, threads, !P.small && P.A.cs != 1,
                                !P.packed);
  const idx parts = grid.tm * grid.tn;
  auto run_part = [&](idx part) {
    const idx ti = part / grid.tn, tj = part % grid.tn;
    const idx n0 = nt * tj / grid.tn * NR;
    const idx n1 = nt * (tj + 1) / grid.tn * NR < P.N ? nt * (tj + 1) / grid.tn * NR : P.N;
    if (n0 >= n1) return;
    if (P.small) {
      run_small(P, n0, n1);
    } else {
      const idx m0 = mt * ti / grid.tm * MR;
      const idx m1 = mt * (ti + 1) / grid.tm * MR < P.M ? mt * (ti + 1) / grid.tm * MR : P.M;
      if (m0 < m1) run_big(P, m0, m1, n0, n1);
    }
  };
  if (parts <= 1) {
    run_part(0);
    return;
  }
  note_pool_started();
#if defined(_OPENMP)
#pragma omp parallel for num_threads(int(parts)) schedule(static, 1)
#endif
  for (long part = 0; part < long(parts); ++part) run_part(part);
}

}  // namespace

// ---------------------------------------------------------------------- public API
template <class T>
PackedMatrix<T>::PackedMatrix(Isa isa, gemm_index K, gemm_index N, MatrixView<T> B)
    : isa_(isa), K_(K), N_(N) {
  const GemmKernels<T>& k = kernels_of<T>(gemm_table_of(isa));
  nr_ = k.nr;
  const idx panels = ceil_div(N, k.nr);
  const idx n = panels * K * k.nr;
  bytes_ = std::size_t(n) * sizeof(T);
  void* raw = buffer_alloc(bytes_ + 64);
  if (!raw) throw std::bad_alloc();
  raw_ = raw;
  data_ = reinterpret_cast<T*>((reinterpret_cast<std::uintptr_t>(raw) + 63) & ~std::uintptr_t(63));
  if (n == 0) return;
  const int threads = double(K) * double(N) >= double(1 << 20) ? get_num_threads() : 1;
  parallel_chunks(std::size_t(panels), threads, 1, [&](std::size_t p0, std::size_t p1) {
    const idx j0 = idx(p0) * k.nr;
    const idx j1 = idx(p1) * k.nr < N ? idx(p1) * k.nr : N;
    k.pack_b(K, j1 - j0, B.data + j0 * B.cs, B.rs, B.cs, data_ + idx(p0) * K * k.nr, K * k.nr);
  });
}

template <class T>
PackedMatrix<T>::~PackedMatrix() {
  buffer_free(raw_);
}

template <class T>
void dense_forward(gemm_index M, gemm_index N, gemm_index K, MatrixView<T> A, MatrixView<T> B,
                   const PackedMatrix<T>* packed, T* Y, gemm_index ldy, const DenseEpilogue<T>& ep) {
  if (M <= 0 || N <= 0) return;
  const Isa isa = packed ? packed->isa() : current_isa();
  const KernelTable& at = act_table_of(isa);
  Problem<T> P{};
  P.k = &kernels_of<T>(gemm_table_of(isa));
  P.M = M;
  P.N = N;
  P.K = K;
  P.A = A;
  P.B = B;
  P.packed = packed;
  P.C = ep.z ? ep.z : Y;
  P.ldc = ep.z ? ep.ldz : ldy;
  P.Y = Y;
  P.ldy = ldy;
  P.bias = ep.bias;
  P.act = is_real_act(ep.act) ? act_fwd<T>(at, ep.act) : nullptr;
  P.params = ep.params;
  // Above kSweepRows rows the small path is the row sweep over a row-major B only: with a
  // transposed B (grad_x's W^T) two sweeps cost more than packing at large B (dense
  // backward 16x4096x1024: 3.02 -> 3.28 ms).
  P.small = M <= kSweepRows || (M <= P.k->small_m && !packed && B.cs == 1);
  if (K <= 0) {  // an empty sum: Z = bias (or 0), Y = act(Z)
    for (idx i = 0; i < M; ++i) {
      T* c = P.C + i * P.ldc;
      for (idx j = 0; j < N; ++j) c[j] = ep.bias ? ep.bias[j] : T(0);
      if (P.act) P.act(c, Y + i * ldy, std::size_t(N), P.params);
      else if (c != Y + i * ldy) std::memcpy(Y + i * ldy, c, std::size_t(N) * sizeof(T));
    }
    return;
  }
  run_problem(P);
  if (!P.act && ep.z && ep.z != Y) {  // no activation but Z asked for separately: Y = Z
    for (idx i = 0; i < M; ++i) std::memcpy(Y + i * ldy, ep.z + i * ep.ldz, std::size_t(N) * sizeof(T));
  }
}

template <class T>
void dense_backward_elementwise(gemm_index M, gemm_index N, const T* gy, gemm_index ldgy,
                                const T* z, gemm_index ldz, T* gz, gemm_index ldgz, int act,
                                const ActParams<T>& params, T* db) {
  if (M <= 0 || N <= 0) {
    if (db)
      for (idx j = 0; j < N; ++j) db[j] = T(0);
    return;
  }
  const bool real = is_real_act(act);
  if (!real && !db) return;
  const Isa isa = current_isa();
  const GemmKernels<T>& k = kernels_of<T>(gemm_table_of(isa));
  const ActBwdFn<T> bwd = real ? act_bwd<T>(act_table_of(isa), act) : nullptr;
  const idx min_n = real && kActInfo[act].cost > 0 ? kMinParallelExp : kMinParallelCheap;
  const idx total = M * N;
  int threads = total < min_n || in_forked_child() ? 1 : get_num_threads();
  if (threads > 1 && total / min_n < threads) threads = int(total / min_n);
  parallel_chunks(std::size_t(N), threads, 64, [&](std::size_t b, std::size_t e) {
    const idx j0 = idx(b), n = idx(e - b);
    k.bwd_rows(M, n, gy + j0, ldgy, real ? z + j0 : nullptr, ldz, real ? gz + j0 : nullptr, ldgz, bwd,
               &params, db ? db + j0 : nullptr);
  });
}

template <class T>
void dense_backward(gemm_index M, gemm_index N, gemm_index K, const T* gy, gemm_index ldgy, const T* z,
                    gemm_index ldz, MatrixView<T> x, MatrixView<T> W, const PackedMatrix<T>* packed_wt,
                    int act, const ActParams<T>& params, T* gx, gemm_index ldgx, T* gw, gemm_index ldgw,
                    T* gb) {
  const bool real = is_real_act(act);
  T* gz = nullptr;
  if (real && M > 0 && N > 0)
    gz = static_cast<T*>(t_grad_arena.get(std::size_t(M) * std::size_t(N) * sizeof(T)));
  if (real || gb) dense_backward_elementwise<T>(M, N, gy, ldgy, z, ldz, gz, N, real ? act : -1, params, gb);
  const MatrixView<T> GZ = real ? MatrixView<T>{gz, N, 1} : MatrixView<T>{gy, ldgy, 1};
  const DenseEpilogue<T> none;
  // grad_x (M x K) = grad_z (M x N) @ W^T (N x K)
  if (gx) dense_forward<T>(M, K, N, GZ, MatrixView<T>{W.data, W.cs, W.rs}, packed_wt, gx, ldgx, none);
  // grad_W (K x N) = x^T (K x M) @ grad_z (M x N)
  dense_forward<T>(K, N, M, MatrixView<T>{x.data, x.cs, x.rs}, GZ, nullptr, gw, ldgw, none);
}

GemmInfo gemm_info(Isa isa, bool f64) {
  const GemmTable& t = gemm_table_of(isa);
  if (f64) return {t.f64.mr, t.f64.nr, t.f64.kc, t.f64.mc, t.f64.nc, t.f64.small_m};
  return {t.f32.mr, t.f32.nr, t.f32.kc, t.f32.mc, t.f32.nc, t.f32.small_m};
}

double fma_probe(Isa isa, bool f64, int threads, long iters, double* flops) {
  const GemmTable& t = gemm_table_of(isa);
  auto probe = f64 ? t.fma_probe_f64 : t.fma_probe_f32;
  if (threads < 1 || in_forked_child()) threads = 1;
  int lanes = 0;
  volatile double sink = 0;
  const auto t0 = std::chrono::steady_clock::now();
  if (threads == 1) {
    sink = sink + probe(iters, &lanes);
  } else {
    note_pool_started();
#if defined(_OPENMP)
#pragma omp parallel for num_threads(threads) schedule(static, 1)
#endif
    for (int i = 0; i < threads; ++i) {
      int l = 0;
      const double r = probe(iters, &l);
#if defined(_OPENMP)
#pragma omp critical
#endif
      {
        sink = sink + r;
        lanes = l;
      }
    }
  }
  const auto t1 = std::chrono::steady_clock::now();
  if (flops) *flops = 2.0 * double(lanes) * double(iters) * double(threads);
  return std::chrono::duration<double>(t1 - t0).count();
}

template class PackedMatrix<float>;
template class PackedMatrix<double>;
template void dense_forward<float>(gemm_index, gemm_index, gemm_index, MatrixView<float>, MatrixView<float>,
                                   const PackedMatrix<float>*, float*, gemm_index, const DenseEpilogue<float>&);
template void dense_forward<double>(gemm_index, gemm_index, gemm_index, MatrixView<double>, MatrixView<double>,
                                    const PackedMatrix<double>*, double*, gemm_index, const DenseEpilogue<double>&);
template void dense_backward<float>(gemm_index, gemm_index, gemm_index, const float*, gemm_index, const float*,
                                    gemm_index, MatrixView<float>, MatrixView<float>, const PackedMatrix<float>*,
                                    int, const ActParams<float>&, float*, gemm_index, float*, gemm_index, float*);
template void dense_backward<double>(gemm_index, gemm_index, gemm_index, const double*, gemm_index, const double*,
                                     gemm_index, MatrixView<double>, MatrixView<double>, const PackedMatrix<double>*,
                                     int, const ActParams<double>&, double*, gemm_index, double*, gemm_index, double*);
template void dense_backward_elementwise<float>(gemm_index, gemm_index, const float*, gemm_index, const float*,
                                                gemm_index, float*, gemm_index, int, const ActParams<float>&, float*);
template void dense_backward_elementwise<double>(gemm_index, gemm_index, const double*, gemm_index, const double*,
                                                 gemm_index, double*, gemm_index, int, const ActParams<double>&,
                                                 double*);

}  // namespace simdmlp
