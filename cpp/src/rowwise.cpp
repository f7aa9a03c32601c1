// Row-wise driver: softmax / log_softmax / prelu over rows, split over threads by rows.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "kernel_table.hpp"
#include "simdmlp/dispatch.hpp"
#include "simdmlp/rowwise.hpp"
#include "simdmlp/threads.hpp"

namespace simdmlp {

namespace {

const detail::RowKernelTable& row_kernels() { return *isa_tables(current_isa()).row; }
const detail::RowKernels<float>& kern(float*) { return row_kernels().f32; }
const detail::RowKernels<double>& kern(double*) { return row_kernels().f64; }

constexpr std::size_t kMinParallel = std::size_t(1) << 15;  // elements (exp-class work)

int threads_for(std::size_t elems, std::size_t units) {
  if (elems < kMinParallel || units < 2) return 1;
  const int nt = get_num_threads();
  return std::size_t(nt) < units ? nt : int(units);
}

// sum(g) when the vector lanes overflowed: in long double (a wider exponent on x86 and
// aarch64 Linux), so sum / s stays finite whenever it is representable.
template <class T>
long double sum_wide(const T* g, std::size_t n) {
  long double s = 0;
  for (std::size_t i = 0; i < n; ++i) s += g[i];
  return s;
}

// Arrays of kFarBytes and more come from memory, not from cache:
// * The forward writes its output with streaming stores (no read for ownership: 8 bytes
//   per float element moved, not 12), each row's final pass deferred into the next row's
//   sum pass (RowPending) so that the stores leave spread out; e or x - m waits in a
//   per-thread pair of row buffers. In one burst per row they filled the write-combining
//   buffers and gained nothing. Rows of whole 64-byte lines (each row then starts at the same
//   offset from a vector boundary: its ends take masked plain stores).
// * The backward's sum pass also prefetches this row's dy, which the dot product reads
//   next ((16384, 1024) float32: 17.8 -> 15.7 ms on 1 thread, 8.9 -> 7.5 on 2).
// At (4096, 1024), 16 MiB arrays served from L3 here, streaming sent the output to memory
// and the extra prefetches took issue slots from the compute-bound pass (5-10% slower):
// hence the threshold.
constexpr std::size_t kFarBytes = std::size_t(32) << 20;

// A row whose sum is NaN (a NaN or +inf in it, or only -inf) is NaN throughout; written as
// the one quiet NaN, so its bits do not depend on which operand's NaN the compiled code of
// a schedule happened to propagate (the two schedules above differ there).
template <class T>
void nan_row(T* y, std::size_t n) {
  std::fill_n(y, n, std::numeric_limits<T>::quiet_NaN());
}

template <class T>
void softmax_fwd_impl(bool log, const T* x, T* y, std::size_t rows, std::size_t cols) {
  const auto& k = kern(static_cast<T*>(nullptr));
  const bool far = rows * cols * sizeof(T) >= kFarBytes && reinterpret_cast<std::uintptr_t>(y) % sizeof(T) == 0 &&
                   cols * sizeof(T) % 64 == 0;
  parallel_chunks(rows, threads_for(rows * cols, rows), 1, [&](std::size_t r0, std::size_t r1) {
    thread_local std::vector<T> pair;  // far: the rows' e or x - m, alternately
    if (far) pair.resize(2 * cols);
    detail::RowPending<T> pend{nullptr, nullptr, T(0)};
    for (std::size_t r = r0; r < r1; ++r) {
      const T* xr = x + r * cols;
      T* yr = y + r * cols;
      // near: e or x - m goes to y in the (compute-bound) sum pass, so the last pass runs
      // from L1. The sum pass prefetches the next row of x, not of y: (4096, 1024) float32
      // ran 5-8% slower with y's next row prefetched too (prefetcht0: no write intent in
      // this build), 1.27 against 1.19 ms allocated, 1 thread.
      T* buf = far ? pair.data() + (r - r0) % 2 * cols : yr;
      const detail::RowPending<T>* prev = pend.src ? &pend : nullptr;
      T mn;
      const T m = k.row_max(xr, cols, &mn);
      double lo = 0;
      const double s = log ? k.row_sumexp(xr, m, mn, nullptr, buf, cols, &lo, nullptr, nullptr, prev)
                           : k.row_sumexp(xr, m, mn, buf, nullptr, cols, nullptr, nullptr, nullptr, prev);
      // the last pass: y = (x - m) - log(s + lo), or y = e / s; one value for both schedules
      const double fin = log ? std::log(s) + lo / s : 1.0 / s;
      pend = {nullptr, nullptr, T(0)};
      if (std::isnan(s)) nan_row(yr, cols);
      else if (far) pend = {buf, yr, T(fin)};  // written by the next row
      else if (log) k.row_logsoftmax(buf, yr, fin, cols);
      else k.row_scale(buf, yr, fin, cols);
    }
    if (pend.src) k.row_pending_flush(pend, log, cols);
  });
}

template <class T>
void softmax_bwd_impl(bool log, const T* dy, const T* x, T* dx, std::size_t rows, std::size_t cols) {
  const auto& k = kern(static_cast<T*>(nullptr));
  const bool far = rows * cols * sizeof(T) >= kFarBytes;
  parallel_chunks(rows, threads_for(rows * cols, rows), 1, [&](std::size_t r0, std::size_t r1) {
    // a row buffer: softmax keeps y there while it still needs dy and x, log_softmax
    // exp(x - m); per thread and kept, so a call allocates nothing once warm
    thread_local std::vector<T> tmp;
    for (std::size_t r = r0; r < r1; ++r) {
      const T* xr = x + r * cols;
      const T* gr = dy + r * cols;
      T* dr = dx + r * cols;
      T mn;
      const T m = k.row_max(xr, cols, &mn);
      if (log) {
        tmp.resize(cols);  // exp(x - m), used twice; dx is written in the last pass
        const double s = k.row_sumexp(xr, m, mn, tmp.data(), nullptr, cols, nullptr, dr, far ? gr : nullptr, nullptr);
        const double sg = k.row_dot(gr, nullptr, cols, nullptr);
        // lanes that overflowed (or inf/NaN in dy): the sum again, with a wider exponent
        const double kk = std::isfinite(sg) ? sg / s : double(sum_wide(gr, cols) / s);
        k.row_logsoftmax_bwd(gr, tmp.data(), dr, kk, cols);
      } else {
        T* yr = dr;
        if (dr == gr || dr == xr) {
          tmp.resize(cols);
          yr = tmp.data();
        }
        const double s = k.row_sumexp(xr, m, mn, yr, nullptr, cols, nullptr, yr == dr && r + 1 < r1 ? dr + cols : nullptr, far ? gr : nullptr, nullptr);
        k.row_scale(yr, yr, 1.0 / s, cols);
        const double sy = k.row_dot(gr, yr, cols, nullptr);  // |sum| <= max |dy|: no overflow
        k.row_softmax_bwd(gr, yr, dr, sy, cols);
      }
    }
  });
}

template <class T>
void prelu_fwd_impl(const T* x, const T* w, T* y, std::size_t rows, std::size_t cols) {
  const auto& k = kern(static_cast<T*>(nullptr));
  // cols = 1 (scalar weight): the rows are single elements; split the flat array.
  const std::size_t unit = cols == 1 ? 64 : 1;
  const std::size_t units = cols == 1 ? (rows + unit - 1) / unit : rows;
  parallel_chunks(units, rows * cols < (std::size_t(1) << 17) ? 1 : get_num_threads(), 1,
                  [&](std::size_t u0, std::size_t u1) {
                    const std::size_t r0 = u0 * unit, r1 = u1 * unit < rows ? u1 * unit : rows;
                    k.prelu_fwd(x + r0 * cols, w, y + r0 * cols, (r1 - r0) * cols, cols);
                  });
}

template <class T>
void prelu_bwd_impl(const T* dy, const T* x, const T* w, T* dx, T* dw, std::size_t rows, std::size_t cols) {
  const auto& k = kern(static_cast<T*>(nullptr));
  // Fixed blocks of rows (independent of the thread count), each summed into its own
  // partial row of doubles, then the partials added in block order: deterministic.
  const std::size_t block = cols >= 4096 ? 1 : 4096 / cols;
  const std::size_t nblocks = rows == 0 ? 0 : (rows + block - 1) / block;
  std::vector<double> part(nblocks * cols, 0.0);
  parallel_chunks(nblocks, rows * cols < (std::size_t(1) << 17) ? 1 : get_num_threads(), 1,
                  [&](std::size_t b0, std::size_t b1) {
                    for (std::size_t b = b0; b < b1; ++b) {
                      const std::size_t r0 = b * block, r1 = r0 + block < rows ? r0 + block : rows;
                      k.prelu_bwd(dy + r0 * cols, x + r0 * cols, w, dx + r0 * cols, &part[b * cols],
                                  (r1 - r0) * cols, cols);
                    }
                  });
  for (std::size_t c = 0; c < cols; ++c) {
    double s = 0;
    for (std::size_t b = 0; b < nblocks; ++b) s += part[b * cols + c];
    dw[c] = T(s);
  }
}

}  // namespace

void softmax_forward(bool log, const float* x, float* y, std::size_t rows, std::size_t cols) { softmax_fwd_impl(log, x, y, rows, cols); }
void softmax_forward(bool log, const double* x, double* y, std::size_t rows, std::size_t cols) { softmax_fwd_impl(log, x, y, rows, cols); }
void softmax_backward(bool log, const float* dy, const float* x, float* dx, std::size_t rows, std::size_t cols) { softmax_bwd_impl(log, dy, x, dx, rows, cols); }
void softmax_backward(bool log, const double* dy, const double* x, double* dx, std::size_t rows, std::size_t cols) { softmax_bwd_impl(log, dy, x, dx, rows, cols); }
void prelu_forward(const float* x, const float* w, float* y, std::size_t rows, std::size_t cols) { prelu_fwd_impl(x, w, y, rows, cols); }
void prelu_forward(const double* x, const double* w, double* y, std::size_t rows, std::size_t cols) { prelu_fwd_impl(x, w, y, rows, cols); }
void prelu_backward(const float* dy, const float* x, const float* w, float* dx, float* dw, std::size_t rows, std::size_t cols) { prelu_bwd_impl(dy, x, w, dx, dw, rows, cols); }
void prelu_backward(const double* dy, const double* x, const double* w, double* dx, double* dw, std::size_t rows, std::size_t cols) { prelu_bwd_impl(dy, x, w, dx, dw, rows, cols); }

}  // namespace simdmlp
