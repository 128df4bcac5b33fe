// Checked MPI calls and RAII handles.
#include "spare/mpi.hpp"

#include <fmt/format.h>

#include <cstdint>

namespace spare::mpi {

void throw_mpi_error(int code, const char* call, const char* file, int line) {
  char text[MPI_MAX_ERROR_STRING] = {};
  int length = 0;
  MPI_Error_string(code, text, &length);
  throw MpiError(fmt::format("{} failed at {}:{}: {}", call, file, line, text));
}

Environment::Environment(int& argc, char**& argv) {
  int provided = 0;
  SPARE_MPI_CHECK(MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided));
}

Environment::~Environment() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

Comm Comm::world() {
  SPARE_MPI_CHECK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
  return Comm(MPI_COMM_WORLD, false);
}

Comm::Comm(Comm&& other) noexcept : comm_(other.comm_), owned_(other.owned_) {
  other.comm_ = MPI_COMM_NULL;
  other.owned_ = false;
}

Comm& Comm::operator=(Comm&& other) noexcept {
  if (this != &other) {
    release();
    comm_ = other.comm_;
    owned_ = other.owned_;
    other.comm_ = MPI_COMM_NULL;
    other.owned_ = false;
  }
  return *this;
}

Comm::~Comm() {
  release();
}

void Comm::release() noexcept {
  if (owned_ && comm_ != MPI_COMM_NULL) MPI_Comm_free(&comm_);
  comm_ = MPI_COMM_NULL;
  owned_ = false;
}

Comm Comm::split(int color, int key) const {
  MPI_Comm out = MPI_COMM_NULL;
  SPARE_MPI_CHECK(MPI_Comm_split(comm_, color < 0 ? MPI_UNDEFINED : color, key, &out));
  if (out == MPI_COMM_NULL) return Comm();
  SPARE_MPI_CHECK(MPI_Comm_set_errhandler(out, MPI_ERRORS_RETURN));
  return Comm(out, true);
}

Comm Comm::split_by_node() const {
  MPI_Comm out = MPI_COMM_NULL;
  SPARE_MPI_CHECK(MPI_Comm_split_type(comm_, MPI_COMM_TYPE_SHARED, rank(), MPI_INFO_NULL, &out));
  SPARE_MPI_CHECK(MPI_Comm_set_errhandler(out, MPI_ERRORS_RETURN));
  return Comm(out, true);
}

int Comm::rank() const {
  int r = 0;
  SPARE_MPI_CHECK(MPI_Comm_rank(comm_, &r));
  return r;
}

int Comm::size() const {
  int s = 0;
  SPARE_MPI_CHECK(MPI_Comm_size(comm_, &s));
  return s;
}

void Comm::barrier() const {
  SPARE_MPI_CHECK(MPI_Barrier(comm_));
}

int Comm::max(int value) const {
  int out = 0;
  SPARE_MPI_CHECK(MPI_Allreduce(&value, &out, 1, MPI_INT, MPI_MAX, comm_));
  return out;
}

double Comm::max(double value) const {
  double out = 0;
  SPARE_MPI_CHECK(MPI_Allreduce(&value, &out, 1, MPI_DOUBLE, MPI_MAX, comm_));
  return out;
}

double Comm::min(double value) const {
  double out = 0;
  SPARE_MPI_CHECK(MPI_Allreduce(&value, &out, 1, MPI_DOUBLE, MPI_MIN, comm_));
  return out;
}

std::int64_t Comm::sum(std::int64_t value) const {
  std::int64_t out = 0;
  SPARE_MPI_CHECK(MPI_Allreduce(&value, &out, 1, MPI_INT64_T, MPI_SUM, comm_));
  return out;
}

namespace {

extern "C" void add_exact_sums(void* in, void* inout, int* count, MPI_Datatype* /*type*/) {
  const auto* terms = static_cast<const ExactSum*>(in);
  auto* sums = static_cast<ExactSum*>(inout);
  for (int i = 0; i < *count; ++i)
    sums[i].add(terms[i]);
}

}  // namespace

ExactSum Comm::sum(const ExactSum& value) const {
  // Exact addition is associative and commutative: any reduction tree gives the same bits.
  MPI_Datatype raw_type = MPI_DATATYPE_NULL;
  SPARE_MPI_CHECK(MPI_Type_contiguous(static_cast<int>(sizeof(ExactSum)), MPI_BYTE, &raw_type));
  const Datatype type(raw_type);
  MPI_Op op = MPI_OP_NULL;
  SPARE_MPI_CHECK(MPI_Op_create(add_exact_sums, /*commute=*/1, &op));
  ExactSum out;
  const int status = MPI_Allreduce(&value, &out, 1, type.get(), op, comm_);
  MPI_Op_free(&op);
  check_result(status, "MPI_Allreduce(ExactSum)", __FILE__, __LINE__);
  return out;
}

void Comm::broadcast(std::string& text, int root) const {
  std::uint64_t length = text.size();
  SPARE_MPI_CHECK(MPI_Bcast(&length, 1, MPI_UINT64_T, root, comm_));
  text.resize(length);
  if (length > 0) {
    SPARE_MPI_CHECK(MPI_Bcast(text.data(), static_cast<int>(length), MPI_CHAR, root, comm_));
  }
}

std::vector<std::string> Comm::gather(const std::string& text, int root) const {
  const int n = size();
  const bool at_root = rank() == root;
  int length = static_cast<int>(text.size());
  std::vector<int> lengths(at_root ? n : 0);
  SPARE_MPI_CHECK(MPI_Gather(&length, 1, MPI_INT, lengths.data(), 1, MPI_INT, root, comm_));
  std::vector<int> offsets(lengths.size());
  std::string joined;
  if (at_root) {
    int total = 0;
    for (int i = 0; i < n; ++i) {
      offsets[i] = total;
      total += lengths[i];
    }
    joined.resize(total);
  }
  SPARE_MPI_CHECK(MPI_Gatherv(text.data(), length, MPI_CHAR, joined.data(), lengths.data(),
                              offsets.data(), MPI_CHAR, root, comm_));
  std::vector<std::string> parts;
  if (at_root) {
    for (int i = 0; i < n; ++i)
      parts.push_back(joined.substr(offsets[i], lengths[i]));
  }
  return parts;
}

Datatype::Datatype(MPI_Datatype type) : type_(type) {
  SPARE_MPI_CHECK(MPI_Type_commit(&type_));
}

Datatype::Datatype(Datatype&& other) noexcept : type_(other.type_) {
  other.type_ = MPI_DATATYPE_NULL;
}

Datatype& Datatype::operator=(Datatype&& other) noexcept {
  if (this != &other) {
    if (type_ != MPI_DATATYPE_NULL) MPI_Type_free(&type_);
    type_ = other.type_;
    other.type_ = MPI_DATATYPE_NULL;
  }
  return *this;
}

Datatype::~Datatype() {
  if (type_ != MPI_DATATYPE_NULL) MPI_Type_free(&type_);
}

}  // namespace spare::mpi
