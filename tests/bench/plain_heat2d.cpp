// The baseline of `spare bench overhead`: heat2d as a plain MPI program, no
// framework. Same update (heat2d_stencil.hpp), same grid, a Cartesian
// decomposition from MPI_Dims_create, halos by MPI_Sendrecv. Prints the time
// of its step loop, which `spare bench overhead` compares with Spare's.
#include <mpi.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "bench_arguments.hpp"

#include "heat2d/heat2d_stencil.hpp"

namespace {

long long part_start(long long n, int parts, int part) {
  return part * (n / parts) + std::min<long long>(part, n % parts);
}

// Compiled as Spare's sweep is (SPARE_CPU_CLONES): the comparison is of
// frameworks, not of instruction sets.
SPARE_CPU_CLONES void sweep(const double* u, double* next, long long stride, long long i_begin,
                            long long i_end, long long j_begin, long long j_end, double rx,
                            double ry) {
  for (long long i = i_begin; i <= i_end; ++i) {
    const double* row = u + i * stride;
    spare::kernels::heat2d::update_row(row - stride, row, row + stride, next + i * stride, j_begin,
                                       j_end, rx, ry);
  }
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, size = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const long long nx = spare::bench::argument(argc, argv, "--nx", 2048);
  const long long ny = spare::bench::argument(argc, argv, "--ny", 2048);
  const long long steps = spare::bench::argument(argc, argv, "--steps", 100);

  int dims[2] = {0, 0}, periods[2] = {0, 0}, coords[2] = {0, 0};
  MPI_Dims_create(size, 2, dims);
  MPI_Comm cart;
  MPI_Cart_create(MPI_COMM_WORLD, 2, dims, periods, 0, &cart);
  MPI_Cart_coords(cart, rank, 2, coords);
  int north, south, west, east;
  MPI_Cart_shift(cart, 0, 1, &north, &south);
  MPI_Cart_shift(cart, 1, 1, &west, &east);

  const long long row0 = part_start(ny, dims[0], coords[0]);
  const long long rows = part_start(ny, dims[0], coords[0] + 1) - row0;
  const long long col0 = part_start(nx, dims[1], coords[1]);
  const long long cols = part_start(nx, dims[1], coords[1] + 1) - col0;
  const long long stride = cols + 2;
  std::vector<double> u((rows + 2) * stride, 0.0), next((rows + 2) * stride, 0.0);
  for (long long i = 1; i <= rows; ++i) {
    for (long long j = 1; j <= cols; ++j) {
      const long long gi = row0 + i - 1, gj = col0 + j - 1;
      const bool edge = gi == 0 || gj == 0 || gi == ny - 1 || gj == nx - 1;
      u[i * stride + j] = next[i * stride + j] = edge ? 0.0 : 1.0;
    }
  }
  MPI_Datatype column;
  MPI_Type_vector(static_cast<int>(rows), 1, static_cast<int>(stride), MPI_DOUBLE, &column);
  MPI_Type_commit(&column);
  const double rx = 0.2, ry = 0.2;

  const long long i_begin = std::max(1LL, 2 - row0), i_end = std::min(rows, ny - 1 - row0);
  const long long j_begin = std::max(1LL, 2 - col0), j_end = std::min(cols, nx - 1 - col0) + 1;

  MPI_Barrier(cart);
  const double start = MPI_Wtime();
  for (long long s = 0; s < steps; ++s) {
    double* g = u.data();
    MPI_Sendrecv(g + stride + 1, static_cast<int>(cols), MPI_DOUBLE, north, 0,
                 g + (rows + 1) * stride + 1, static_cast<int>(cols), MPI_DOUBLE, south, 0, cart,
                 MPI_STATUS_IGNORE);
    MPI_Sendrecv(g + rows * stride + 1, static_cast<int>(cols), MPI_DOUBLE, south, 1, g + 1,
                 static_cast<int>(cols), MPI_DOUBLE, north, 1, cart, MPI_STATUS_IGNORE);
    MPI_Sendrecv(g + stride + 1, 1, column, west, 2, g + stride + cols + 1, 1, column, east, 2,
                 cart, MPI_STATUS_IGNORE);
    MPI_Sendrecv(g + stride + cols, 1, column, east, 3, g + stride, 1, column, west, 3, cart,
                 MPI_STATUS_IGNORE);
    sweep(u.data(), next.data(), stride, i_begin, i_end, j_begin, j_end, rx, ry);
    u.swap(next);
  }
  MPI_Barrier(cart);
  const double seconds = MPI_Wtime() - start;
  if (rank == 0) std::printf("loop_seconds=%.9f steps=%lld\n", seconds, steps);
  MPI_Type_free(&column);
  MPI_Comm_free(&cart);
  MPI_Finalize();
  return 0;
}
