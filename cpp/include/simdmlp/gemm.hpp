// Matrix multiply and the fused dense layer (core API: plain C++, no pybind11).
//
//   C = A B                     A (M x K), B (K x N), C (M x N)
//   Z = A B + b,  Y = act(Z)    the dense layer: b (N,), act any entry of activations.def
//
// Operands are read through element strides (any sign, zero allowed), so transposes and
// other views cost no copy: packing into zero-padded micro-panels absorbs the layout.
// Outputs are row-major with unit column stride (row stride ld >= N); they must not
// overlap any input (the bindings copy an overlapping input first).
//
// Arithmetic: every C element is one sequential chain over k in increasing order,
//   acc = init (0 or b[j]);  acc = fma(A[i,k], B[k,j], acc)  for k = 0 .. K-1
// (fma = one rounding on AVX2/AVX-512/NEON, a*b+c with two on the scalar ISA), then
// Y = act(acc). Blocking over K stores the accumulator to the output and reloads it,
// which is exact, and threads split M and N only (never K), so the result does not
// depend on the thread count, the blocking, strides, the batch size or whether the
// weights were pre-packed: it is bitwise the same for any of them on one ISA. The
// error is bounded by the usual |C - AB| <= K eps |A||B| (+ eps |b|).
//
// Thread-safe: several callers may run at once; scratch space is per thread.
#pragma once
#include <cstddef>

#include "simdmlp/activations.hpp"
#include "simdmlp/dispatch.hpp"

namespace simdmlp {

using gemm_index = std::ptrdiff_t;

// Read-only matrix view: element (i, j) is data[i * rs + j * cs].
template <class T>
struct MatrixView {
  const T* data = nullptr;
  gemm_index rs = 0, cs = 0;
};

// Weights packed once for the current ISA's micro-kernel (the B operand, K x N), for
// reuse across calls while the weights do not change (an XNNPACK-style snapshot: the
// packed values never follow later writes to the source).
template <class T>
class PackedMatrix {
 public:
  PackedMatrix(Isa isa, gemm_index K, gemm_index N, MatrixView<T> B);
  ~PackedMatrix();
  PackedMatrix(const PackedMatrix&) = delete;
  PackedMatrix& operator=(const PackedMatrix&) = delete;
  Isa isa() const { return isa_; }
  gemm_index rows() const { return K_; }
  gemm_index cols() const { return N_; }
  std::size_t bytes() const { return bytes_; }
  const T* data() const { return data_; }
  int nr() const { return nr_; }

 private:
  Isa isa_;
  gemm_index K_, N_;
  int nr_;
  T* data_ = nullptr;
  void* raw_ = nullptr;
  std::size_t bytes_ = 0;
};

// What happens at the final store of each output tile.
template <class T>
struct DenseEpilogue {
  const T* bias = nullptr;  // (N,), contiguous; null: no bias
  int act = -1;             // an Act, or -1: none (Y = Z)
  ActParams<T> params{};
  T* z = nullptr;           // also store Z (pre-activation) here, row stride ldz; may be null
  gemm_index ldz = 0;
};

// Y (M x N, row stride ldy) = act(A B + bias). B is either a view or packed weights
// (exactly one of `B.data`, `packed` is set; `packed` must have been packed for the
// current ISA, see PackedMatrix::isa). Runs on the current ISA and up to
// get_num_threads() threads (one below a work threshold). M, N or K may be 0.
template <class T>
void dense_forward(gemm_index M, gemm_index N, gemm_index K, MatrixView<T> A, MatrixView<T> B,
                   const PackedMatrix<T>* packed, T* Y, gemm_index ldy, const DenseEpilogue<T>& ep);

// The elementwise half of the dense backward pass, in one sweep over the rows:
//   gz = act_backward(gy, z)  (gz may be gy itself when act < 0: then nothing is written)
//   db = sum over rows of gz  (db may be null)
// gy, z, gz are M x N row-major with the given row strides; db is (N,). Threads split
// the columns, so every column sum runs over the rows in order 0..M-1 on any thread count.
template <class T>
void dense_backward_elementwise(gemm_index M, gemm_index N, const T* gy, gemm_index ldgy,
                                const T* z, gemm_index ldz, T* gz, gemm_index ldgz, int act,
                                const ActParams<T>& params, T* db);

// The whole dense backward pass of y = act(x W + b), x (M x K), W (K x N):
//   gz = act_backward(gy, z)   (gy itself when act < 0 or identity: no pass, no copy)
//   gb = sum over rows of gz   (gb may be null), gx = gz W^T (M x K), gW = x^T gz (K x N)
// gy and z are row-major with unit column stride (row strides ldgy, ldz); x and W any
// strides, or `packed_wt` (W^T packed for the current ISA) instead of W. gz lives in
// per-thread scratch that is reused across calls, so a training loop allocates nothing
// here. Outputs are row-major (row strides ldgx, ldgw) and must not overlap any input;
// gx may be null (the first layer of a network needs no gradient for its input).
template <class T>
void dense_backward(gemm_index M, gemm_index N, gemm_index K, const T* gy, gemm_index ldgy, const T* z,
                    gemm_index ldz, MatrixView<T> x, MatrixView<T> W, const PackedMatrix<T>* packed_wt,
                    int act, const ActParams<T>& params, T* gx, gemm_index ldgx, T* gw, gemm_index ldgw,
                    T* gb);

// The current ISA's micro-kernel shape and blocking, for tests and benchmarks.
struct GemmInfo {
  int mr, nr, kc, mc, nc, small_m;
};
GemmInfo gemm_info(Isa isa, bool f64);

// Peak FMA throughput probe: runs `iters` iterations of 16 independent vector FMAs on
// `threads` threads with the kernels of `isa`. Returns the wall time in seconds; *flops
// receives the floating-point operations performed (2 per lane per FMA).
double fma_probe(Isa isa, bool f64, int threads, long iters, double* flops);

}  // namespace simdmlp
