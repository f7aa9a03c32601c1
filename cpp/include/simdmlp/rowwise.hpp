// Row-wise kernels: softmax / log_softmax along the last axis, and PReLU with a weight
// per channel (the last axis). Arrays are C-contiguous, `rows` x `cols`.
//
// softmax:      y = exp(x - max) / sum(exp(x - max))          per row
// log_softmax:  y = (x - max) - log(sum(exp(x - max)))        per row
//   The row sum is compensated (two-sum per lane, folded to a double-double), so every output is within
//   2^-20 |y| + 2^-24 (float32) / 2^-48 |y| + 2^-52 (float64) of the exact value for rows
//   of any length. A row holding NaN or +inf (or only -inf) gives NaN in every element (the
//   quiet NaN: the same bits whatever the schedule).
// Backward (from x, recomputing softmax):
//   softmax:      dx = y * (dy - sum(dy * y))
//   log_softmax:  dx = dy - softmax(x) * sum(dy)
// prelu: y = x > 0 ? x : w[c] * x, c = column; backward dx = dy * (x > 0 ? 1 : w[c]) (NaN for
//   NaN x) and dw[c] = sum over rows of dy * x where x <= 0. cols = 1 with a scalar weight
//   is the same function with one channel. dw's sums run over fixed blocks of rows in a
//   fixed order, finished in double: identical for any thread count.
// In place (y == x, dx == dy or dx == x) is allowed.
#pragma once
#include <cstddef>

namespace simdmlp {

void softmax_forward(bool log, const float* x, float* y, std::size_t rows, std::size_t cols);
void softmax_forward(bool log, const double* x, double* y, std::size_t rows, std::size_t cols);
void softmax_backward(bool log, const float* dy, const float* x, float* dx, std::size_t rows,
                      std::size_t cols);
void softmax_backward(bool log, const double* dy, const double* x, double* dx, std::size_t rows,
                      std::size_t cols);
void prelu_forward(const float* x, const float* w, float* y, std::size_t rows, std::size_t cols);
void prelu_forward(const double* x, const double* w, double* y, std::size_t rows, std::size_t cols);
void prelu_backward(const float* dy, const float* x, const float* w, float* dx, float* dw,
                    std::size_t rows, std::size_t cols);
void prelu_backward(const double* dy, const double* x, const double* w, double* dx, double* dw,
                    std::size_t rows, std::size_t cols);

namespace detail {
// Per-ISA row kernels (filled in each cpp/src/isa_*.cpp from kernels/rowwise.inc).
// Row-sum kernels return the exact-to-about-a-double-ulp sum as a double-double: the
// double hi is returned, lo (|lo| <= ulp(hi)/2) stored through `lo` when not null.
// The previous row's final pass, deferred into the next row's sum pass (softmax_forward on
// arrays beyond the caches): y[i] = src[i] * k (softmax) or src[i] - k (log_softmax),
// written with streaming stores (the row length whole 64-byte lines), one vector per
// vector of the sum pass, so the stores trickle out between the exps instead of
// leaving in a burst that fills the write-combining buffers.
template <class T>
struct RowPending {
  const T* src;
  T* y;
  T k;
};

template <class T>
struct RowKernels {
  // One row: returns max(x) and stores min(x) in *mn (NaN-unaware; NaN reaches the sum anyway).
  T (*row_max)(const T* x, std::size_t n, T* mn);
  // One row: sum of exp(x - m) (xmin: the row's min); stores exp(x - m) in `e` or x - m
  // in `d` (at most one of them not null). `next` (may be null): n elements written soon
  // (the next row of the output, or this row's when it is written after this pass),
  // prefetched for writing meanwhile; `ahead` (may be null): n elements read soon,
  // prefetched for reading.
  // `pend` (may be null): a previous row's final pass to write meanwhile, y = src * k when
  // this pass stores e, y = src - k when it stores d.
  double (*row_sumexp)(const T* x, T m, T xmin, T* e, T* d, std::size_t n, double* lo, T* next,
                       const T* ahead, const RowPending<T>* pend);
  // Write a deferred final pass whole (log: y = src - k, else src * k) and order the
  // streaming stores before later ones.
  void (*row_pending_flush)(const RowPending<T>& pend, bool log, std::size_t n);
  // One row: sum of a[i] * b[i] (b may be null: sum of a).
  double (*row_dot)(const T* a, const T* b, std::size_t n, double* lo);
  // y = scale * e (softmax) ; y = d - L (log_softmax, d = x - m, L = log sum).
  void (*row_scale)(const T* e, T* y, double scale, std::size_t n);
  void (*row_logsoftmax)(const T* d, T* y, double L, std::size_t n);
  // dx = y * (dy - s)  (softmax backward, y already in dx or y)
  void (*row_softmax_bwd)(const T* dy, const T* y, T* dx, double s, std::size_t n);
  // dx = dy - e * k  (log_softmax backward, e = exp(x - m) from row_sumexp, k = sum(dy) / sumexp)
  void (*row_logsoftmax_bwd)(const T* dy, const T* e, T* dx, double k, std::size_t n);
  // prelu on one row of cols channels (cols = 1: every element uses w[0]).
  void (*prelu_fwd)(const T* x, const T* w, T* y, std::size_t n, std::size_t cols);
  // prelu backward on `n` elements (a whole number of rows); adds dy*x (x <= 0) per
  // channel into acc[cols] (cols = 1: into acc[0]).
  void (*prelu_bwd)(const T* dy, const T* x, const T* w, T* dx, double* acc, std::size_t n,
                    std::size_t cols);
};
struct RowKernelTable {
  RowKernels<float> f32;
  RowKernels<double> f64;
};
}  // namespace detail

}  // namespace simdmlp
