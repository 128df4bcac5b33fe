// The framework's MPI handles: RAII types whose calls are all checked, so a
// failing call becomes an exception that names the call, file and line.
// Kernels never use this header; they go through spare::Context.
#pragma once

#include <mpi.h>

#include <string>
#include <vector>

#include "spare/error.hpp"
#include "spare/exact_sum.hpp"

/// Checks an MPI call's return code; on failure throws spare::mpi::MpiError.
#define SPARE_MPI_CHECK(call) ::spare::mpi::check_result((call), #call, __FILE__, __LINE__)

namespace spare::mpi {

class MpiError : public Error {
 public:
  explicit MpiError(const std::string& message) : Error(ExitCode::run_failed, message) {}
};

[[noreturn]] void throw_mpi_error(int code, const char* call, const char* file, int line);

inline void check_result(int code, const char* call, const char* file, int line) {
  if (code != MPI_SUCCESS) throw_mpi_error(code, call, file, line);
}

/// Initialises MPI for the life of the object; finalises on destruction.
class Environment {
 public:
  Environment(int& argc, char**& argv);
  ~Environment();
  Environment(const Environment&) = delete;
  Environment& operator=(const Environment&) = delete;
};

/// A communicator; owns (and frees) the ones it creates, borrows MPI_COMM_WORLD.
class Comm {
 public:
  /// MPI_COMM_WORLD with errors returned rather than fatal.
  static Comm world();

  Comm() = default;
  Comm(Comm&& other) noexcept;
  Comm& operator=(Comm&& other) noexcept;
  Comm(const Comm&) = delete;
  Comm& operator=(const Comm&) = delete;
  ~Comm();

  /// Collective split; ranks passing color < 0 get an empty Comm.
  Comm split(int color, int key) const;
  /// Collective: the ranks that share this rank's node (its memory), in rank order.
  Comm split_by_node() const;

  bool valid() const { return comm_ != MPI_COMM_NULL; }
  MPI_Comm get() const { return comm_; }
  int rank() const;
  int size() const;

  void barrier() const;
  int max(int value) const;
  double max(double value) const;
  double min(double value) const;
  std::int64_t sum(std::int64_t value) const;
  /// The exact sum of every rank's exact sum: the same bits for any rank count.
  ExactSum sum(const ExactSum& value) const;
  /// `text` from `root` to every rank.
  void broadcast(std::string& text, int root) const;
  /// Every rank's text at `root`, in rank order (empty on the other ranks).
  std::vector<std::string> gather(const std::string& text, int root) const;

 private:
  Comm(MPI_Comm comm, bool owned) : comm_(comm), owned_(owned) {}
  void release() noexcept;

  MPI_Comm comm_ = MPI_COMM_NULL;
  bool owned_ = false;
};

/// A committed derived datatype, freed on destruction.
class Datatype {
 public:
  Datatype() = default;
  explicit Datatype(MPI_Datatype type);  // takes ownership and commits
  Datatype(Datatype&& other) noexcept;
  Datatype& operator=(Datatype&& other) noexcept;
  Datatype(const Datatype&) = delete;
  Datatype& operator=(const Datatype&) = delete;
  ~Datatype();
  MPI_Datatype get() const { return type_; }

 private:
  MPI_Datatype type_ = MPI_DATATYPE_NULL;
};

}  // namespace spare::mpi
