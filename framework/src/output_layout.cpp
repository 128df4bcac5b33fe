// Names of a job's files.
#include "spare/output_layout.hpp"

#include <fmt/format.h>

namespace spare {

std::string checkpoint_dir_name(std::int64_t step) {
  return fmt::format("step-{:012d}", step);
}

std::string shard_file_name(int rank) {
  return fmt::format("shard-{:05d}.h5", rank);
}

}  // namespace spare
