// What the client remembers of a job it submitted (client_jobs.hpp).
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "job_handle.hpp"

namespace spare::launcher {

struct JobRecord {
  JobHandle handle;
  std::string name;                   // [job] name
  std::string source;                 // the job file
  std::filesystem::path output;       // its output directory, if this machine sees it
  double submitted = 0;               // seconds since the epoch
  std::optional<JobHandle> moved_to;  // `spare move` continued it there
  std::string sweep;  // the sweep it is a task of ("KEY=V1,V2,..." as given), or empty
};

}  // namespace spare::launcher
