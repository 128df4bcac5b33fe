// Backends by type.
#include "make_backend.hpp"

#include <fmt/format.h>

#include "local_job_backend.hpp"
#include "pool_backend.hpp"
#include "slurm_backend.hpp"

namespace spare::launcher {

std::unique_ptr<Backend> make_backend(const BackendSection& section,
                                      const std::filesystem::path& client_directory) {
  return in_backend(section, [&]() -> std::unique_ptr<Backend> {
    switch (section.type()) {
      case BackendType::local:
        return std::make_unique<LocalJobBackend>(section.name(),
                                                 client_directory / "local" / section.name());
      case BackendType::pool:
        return std::make_unique<PoolBackend>(section);
      case BackendType::slurm:
        return std::make_unique<SlurmBackend>(section);
    }
    throw Error(ExitCode::internal, "a backend of no known type");
  });
}

std::string backend_label(const BackendSection& section) {
  return fmt::format("backend '{}' ({})", section.name(), to_string(section.type()));
}

}  // namespace spare::launcher
