// A job's handle, the one name a scientist uses for it on any backend:
// "BACKEND:ID" (`cluster:41`, `lab:7`, `laptop:3`), where ID is the backend's
// own name for the job (Slurm's job id, the pool's job number, a local number).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace spare::launcher {

struct JobHandle {
  std::string backend;  // a section of backends.ini
  std::string id;       // the backend's id of the job

  std::string text() const { return backend + ":" + id; }
  bool operator==(const JobHandle&) const = default;
};

/// "NAME:ID" as a handle, if it is one (a name of letters, digits, '-', '_'
/// and '.', and an ID of the same characters); std::nullopt otherwise.
std::optional<JobHandle> parse_job_handle(std::string_view text);

/// A backend's name is a backends.ini section: letters, digits, '-', '_', '.'.
bool is_backend_name(std::string_view name);

}  // namespace spare::launcher
