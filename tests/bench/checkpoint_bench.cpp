// The measurement behind `spare bench checkpoint`: Spare's checkpoint write
// (shards, digests, fsync, manifest commit) against a raw sequential write of
// the same bytes with fsync, on the same disk, in the same run, alternating.
#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <random>
#include <span>
#include <vector>

#include "spare/checkpoint_store.hpp"
#include "spare/error.hpp"
#include "spare/version.hpp"

namespace {

namespace fs = std::filesystem;

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

void write_raw(const fs::path& path, const std::vector<double>& data) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw spare::SystemError("open " + path.string(), errno);
  const auto* bytes = reinterpret_cast<const char*>(data.data());
  std::size_t left = data.size() * sizeof(double);
  while (left > 0) {
    const ssize_t n = ::write(fd, bytes, std::min<std::size_t>(left, 8u << 20));
    if (n < 0) throw spare::SystemError("write " + path.string(), errno);
    bytes += n;
    left -= static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) throw spare::SystemError("fsync " + path.string(), errno);
  ::close(fd);
}

void settle(const fs::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 || ::syncfs(fd) != 0) throw spare::SystemError("syncfs " + dir.string(), errno);
  ::close(fd);
}

}  // namespace

int main(int argc, char** argv) {
  spare::mpi::Environment environment(argc, argv);
  const spare::mpi::Comm comm = spare::mpi::Comm::world();
  const int rank = comm.rank();
  double megabytes_per_rank = 256;
  int repeat = 7;
  fs::path dir = "spare-bench-checkpoint";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string name = argv[i];
    if (name == "--megabytes") megabytes_per_rank = std::atof(argv[i + 1]);
    if (name == "--repeat") repeat = std::atoi(argv[i + 1]);
    if (name == "--dir") dir = argv[i + 1];
  }
  try {
    // A square-ish grid per rank holding the requested bytes of doubles.
    const auto points_per_rank = static_cast<spare::Index>(megabytes_per_rank * 1e6 / 8);
    const auto cols = static_cast<spare::Index>(std::sqrt(static_cast<double>(points_per_rank)));
    const spare::Index rows = points_per_rank / cols * comm.size();
    spare::State state(rank, comm.size());
    const spare::Grid& grid = state.add_grid({{rows, cols}, {0, 0}, {1, 1}, {"y", "x"}}, 1);
    auto& field = state.add_field<double>("data", grid);
    state.allocate();
    std::mt19937_64 random(static_cast<std::uint64_t>(rank) + 1);
    std::uniform_real_distribution<double> uniform(0, 1);
    for (double& v : std::span(field.data(), field.storage_elements()))
      v = uniform(random);
    std::vector<double> contiguous;
    field.for_each_interior_row([&](const std::byte* row, std::size_t bytes) {
      const auto* values = reinterpret_cast<const double*>(row);
      contiguous.insert(contiguous.end(), values, values + bytes / sizeof(double));
    });
    const double total_bytes =
        static_cast<double>(contiguous.size() * sizeof(double)) * static_cast<double>(comm.size());

    if (rank == 0) fs::create_directories(dir);
    comm.barrier();
    const spare::EventSink quiet(false);
    spare::CheckpointStore store(dir / "checkpoints", comm, 1, quiet);
    spare::RunDescription run{spare::kVersion, "bench", "bench", {}, 0, 0.0};
    // Round 0 warms the page cache and the allocator for both and is not
    // counted; then the order alternates so neither always goes first.
    std::vector<double> raw_rates, checkpoint_rates, ratios;
    const auto timed = [&](const auto& body) {
      comm.barrier();
      const double start = MPI_Wtime();
      body();
      comm.barrier();
      return total_bytes / (MPI_Wtime() - start);
    };
    for (int k = 0; k <= repeat; ++k) {
      const auto raw = [&] { write_raw(dir / fmt::format("raw-{}.bin", rank), contiguous); };
      const auto checkpoint = [&] {
        run.step = k + 1;
        store.write(state, run);
      };
      double raw_rate, checkpoint_rate;
      if (k % 2 == 0) {
        raw_rate = timed(raw);
        checkpoint_rate = timed(checkpoint);
      } else {
        checkpoint_rate = timed(checkpoint);
        raw_rate = timed(raw);
      }
      // Deleting files is not writing them: neither the raw file's removal nor
      // the old checkpoint's (a background thread's work) is timed.
      // Deletions leave the file system work (freed extents to journal) that
      // the next fsync would pay for: settle it before the next round.
      fs::remove(dir / fmt::format("raw-{}.bin", rank));
      store.finish_background_work();
      settle(dir);
      if (k == 0) continue;
      raw_rates.push_back(raw_rate);
      checkpoint_rates.push_back(checkpoint_rate);
      ratios.push_back(checkpoint_rate / raw_rate);
      if (rank == 0) {
        fmt::print("round {}: raw write+fsync {:.1f} MB/s, checkpoint {:.1f} MB/s, ratio {:.3f}\n",
                   k, raw_rate / 1e6, checkpoint_rate / 1e6, ratios.back());
        std::fflush(stdout);
      }
    }
    comm.barrier();
    if (rank == 0) {
      fs::remove_all(dir);
      fmt::print(
          "{} ranks x {:.0f} MB, median of {} rounds: checkpoint {:.1f} MB/s  raw "
          "write+fsync {:.1f} MB/s  ratio {:.3f}\n",
          comm.size(), megabytes_per_rank, repeat, median(checkpoint_rates) / 1e6,
          median(raw_rates) / 1e6, median(ratios));
    }
  } catch (const std::exception& e) {
    fmt::print(stderr, "spare-bench-checkpoint: rank {}: {}\n", rank, e.what());
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  return 0;
}
