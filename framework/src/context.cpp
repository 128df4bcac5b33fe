// The kernel's view of the framework: clock, halo exchange, reductions.
//
// Halo exchange goes dimension by dimension. While exchanging dimension d the
// faces span the halos of the dimensions already exchanged, so corner and
// edge halo points arrive too (two hops), which stencils wider than a cross need.
#include "spare/context.hpp"

#include <fmt/format.h>

#include <array>
#include <stdexcept>
#include <unordered_map>
#include <utility>
#include <vector>

#include "spare/mpi.hpp"

namespace spare {

namespace {

MPI_Datatype mpi_type(DType type) {
  switch (type) {
    case DType::f32:
      return MPI_FLOAT;
    case DType::f64:
      return MPI_DOUBLE;
    case DType::i32:
      return MPI_INT32_T;
    case DType::i64:
      return MPI_INT64_T;
    case DType::u64:
      return MPI_UINT64_T;
  }
  return MPI_DATATYPE_NULL;
}

/// The four faces of one dimension, as subarrays of the haloed storage.
struct FaceTypes {
  std::optional<int> lower_neighbor;
  std::optional<int> upper_neighbor;
  mpi::Datatype send_lower, recv_lower, send_upper, recv_upper;
};

mpi::Datatype face_type(const FieldBase& field, int dim, Index start) {
  const int n = field.ndim();
  const Index h = field.halo();
  std::array<int, kMaxDims> sizes{}, subsizes{}, starts{};
  for (int e = 0; e < n; ++e) {
    sizes[e] = static_cast<int>(field.storage_extent(e));
    if (e == dim) {
      subsizes[e] = static_cast<int>(h);
      starts[e] = static_cast<int>(start);
    } else if (e < dim) {  // already exchanged: carry its halo along
      subsizes[e] = sizes[e];
      starts[e] = 0;
    } else {
      subsizes[e] = static_cast<int>(field.interior().extent(e));
      starts[e] = static_cast<int>(h);
    }
  }
  MPI_Datatype type = MPI_DATATYPE_NULL;
  SPARE_MPI_CHECK(MPI_Type_create_subarray(n, sizes.data(), subsizes.data(), starts.data(),
                                           MPI_ORDER_C, mpi_type(field.dtype()), &type));
  return mpi::Datatype(type);
}

std::vector<FaceTypes> make_plan(const FieldBase& field, int rank) {
  std::vector<FaceTypes> plan(field.ndim());
  const Decomposition& decomposition = field.grid().decomposition();
  const Index h = field.halo();
  for (int d = 0; d < field.ndim(); ++d) {
    const Index extent = field.interior().extent(d);
    FaceTypes& faces = plan[d];
    faces.lower_neighbor = decomposition.neighbor(rank, d, -1);
    faces.upper_neighbor = decomposition.neighbor(rank, d, +1);
    faces.recv_lower = face_type(field, d, 0);
    faces.send_lower = face_type(field, d, h);
    faces.send_upper = face_type(field, d, extent);
    faces.recv_upper = face_type(field, d, h + extent);
  }
  return plan;
}

}  // namespace

struct Context::Impl {
  const mpi::Comm& comm;
  std::unordered_map<const FieldBase*, std::vector<FaceTypes>> plans;
};

Context::Context(const mpi::Comm& comm, Device device)
    : impl_(std::make_unique<Impl>(Impl{comm, {}})), device_(std::move(device)) {}
Context::~Context() = default;

int Context::rank() const {
  return impl_->comm.rank();
}
int Context::nranks() const {
  return impl_->comm.size();
}

void Context::exchange_halo(FieldBase& field) {
  if (field.halo() == 0) return;
  auto it = impl_->plans.find(&field);
  if (it == impl_->plans.end()) {
    it = impl_->plans.emplace(&field, make_plan(field, impl_->comm.rank())).first;
  }
  void* data = field.raw_data();
  const MPI_Comm comm = impl_->comm.get();
  for (int d = 0; d < field.ndim(); ++d) {
    const FaceTypes& faces = it->second[d];
    // Tags name the direction of travel: 2d towards lower ranks, 2d+1 towards upper.
    const int down = 2 * d;
    const int up = 2 * d + 1;
    std::array<MPI_Request, 4> requests{MPI_REQUEST_NULL, MPI_REQUEST_NULL, MPI_REQUEST_NULL,
                                        MPI_REQUEST_NULL};
    if (faces.lower_neighbor) {
      SPARE_MPI_CHECK(MPI_Irecv(data, 1, faces.recv_lower.get(), *faces.lower_neighbor, up, comm,
                                &requests[0]));
      SPARE_MPI_CHECK(MPI_Isend(data, 1, faces.send_lower.get(), *faces.lower_neighbor, down, comm,
                                &requests[1]));
    }
    if (faces.upper_neighbor) {
      SPARE_MPI_CHECK(MPI_Irecv(data, 1, faces.recv_upper.get(), *faces.upper_neighbor, down, comm,
                                &requests[2]));
      SPARE_MPI_CHECK(MPI_Isend(data, 1, faces.send_upper.get(), *faces.upper_neighbor, up, comm,
                                &requests[3]));
    }
    SPARE_MPI_CHECK(MPI_Waitall(4, requests.data(), MPI_STATUSES_IGNORE));
  }
}

void Context::gather_all(const FieldBase& field, void* global) const {
  const Decomposition& decomposition = field.grid().decomposition();
  for (int d = 1; d < decomposition.ndim(); ++d) {
    if (decomposition.process_grid()[d] != 1) {
      throw std::logic_error("gather_all: field '" + field.name() +
                             "' is split along more than its first dimension");
    }
  }
  // Blocks split along the first dimension only follow each other in global
  // order. Counted in elements, not bytes, so that MPI's int counts reach furthest.
  const Index whole = Box::whole(decomposition.shape()).volume();
  if (whole > kMaxGatherElements) {
    throw std::length_error(
        fmt::format("gather_all: field '{}' has {} values, more than MPI's int counts reach ({})",
                    field.name(), whole, kMaxGatherElements));
  }
  std::vector<int> counts(decomposition.nranks()), offsets(decomposition.nranks());
  int total = 0;
  for (int r = 0; r < decomposition.nranks(); ++r) {
    counts[r] = static_cast<int>(decomposition.block(r).volume());  // at most `whole`
    offsets[r] = total;
    total += counts[r];
  }
  std::vector<std::byte> mine;
  mine.reserve(static_cast<std::size_t>(counts[impl_->comm.rank()]) * dtype_size(field.dtype()));
  field.for_each_interior_row(
      [&](const std::byte* row, std::size_t bytes) { mine.insert(mine.end(), row, row + bytes); });
  const MPI_Datatype type = mpi_type(field.dtype());
  SPARE_MPI_CHECK(MPI_Allgatherv(mine.data(), counts[impl_->comm.rank()], type, global,
                                 counts.data(), offsets.data(), type, impl_->comm.get()));
}

double Context::max(double local) const {
  return impl_->comm.max(local);
}
double Context::min(double local) const {
  return impl_->comm.min(local);
}
std::int64_t Context::sum(std::int64_t local) const {
  return impl_->comm.sum(local);
}
ExactSum Context::sum(const ExactSum& local) const {
  return impl_->comm.sum(local);
}

}  // namespace spare
