// cg's CPU loops over a rank's block. Storage has a halo of 1 on every side;
// (i, j, k) are interior indices.
#include <Eigen/Core>

#include "cg/cg_backend.hpp"
#include "cg/cg_stencil.hpp"

namespace spare::kernels::cg {

namespace {

struct Layout {
  std::int64_t s1, s0;  // strides of dimensions 1 and 0 in storage
  explicit Layout(const std::int64_t extent[3])
      : s1(extent[2] + 2), s0((extent[1] + 2) * (extent[2] + 2)) {}
  std::int64_t at(std::int64_t i, std::int64_t j, std::int64_t k) const {
    return (i + 1) * s0 + (j + 1) * s1 + (k + 1);
  }
};

/// Calls fn(offset) for every interior point, in C order.
template <class Fn>
void for_each_point(const std::int64_t extent[3], Fn&& fn) {
  const Layout layout(extent);
  for (std::int64_t i = 0; i < extent[0]; ++i) {
    for (std::int64_t j = 0; j < extent[1]; ++j) {
      const std::int64_t row = layout.at(i, j, 0);
      for (std::int64_t k = 0; k < extent[2]; ++k)
        fn(row + k);
    }
  }
}

/// Calls fn(offset, length) for every interior row (contiguous along the
/// last dimension), in C order.
template <class Fn>
void for_each_row(const std::int64_t extent[3], Fn&& fn) {
  const Layout layout(extent);
  for (std::int64_t i = 0; i < extent[0]; ++i) {
    for (std::int64_t j = 0; j < extent[1]; ++j)
      fn(layout.at(i, j, 0), extent[2]);
  }
}

// A row of a field as an Eigen array: the vector updates are array expressions.
using Row = Eigen::Map<Eigen::ArrayXd>;
using ConstRow = Eigen::Map<const Eigen::ArrayXd>;

}  // namespace

void apply_cpu(const double* p, double* q, const std::int64_t extent[3], double inverse_h2) {
  const Layout layout(extent);
  for_each_point(extent, [&](std::int64_t c) {
    q[c] = apply_point(p[c], p[c - 1], p[c + 1], p[c - layout.s1], p[c + layout.s1],
                       p[c - layout.s0], p[c + layout.s0], inverse_h2);
  });
}

ExactSum dot_cpu(const double* a, const double* b, const std::int64_t extent[3]) {
  ExactSum sum;
  for_each_point(extent, [&](std::int64_t c) { sum.add(a[c] * b[c]); });
  return sum;
}

void update_solution_cpu(double* x, double* r, const double* p, const double* q, double alpha,
                         const std::int64_t extent[3]) {
  for_each_row(extent, [&](std::int64_t c, Eigen::Index length) {
    Row(x + c, length) += alpha * ConstRow(p + c, length);
    Row(r + c, length) -= alpha * ConstRow(q + c, length);
  });
}

void update_direction_cpu(double* p, const double* r, double beta, const std::int64_t extent[3]) {
  for_each_row(extent, [&](std::int64_t c, Eigen::Index length) {
    Row(p + c, length) = ConstRow(r + c, length) + beta * Row(p + c, length);
  });
}

}  // namespace spare::kernels::cg
