// The backends file and the client's jobs, as the commands use them.
#include "backends_in_use.hpp"

#include <fmt/format.h>

#include <chrono>

#include "make_backend.hpp"
#include "spare/error.hpp"

namespace spare::launcher {

BackendsInUse::BackendsInUse(const po::variables_map& vm)
    : choice_(choose_backends_file(
          vm.count("backends") ? std::optional(vm["backends"].as<std::string>()) : std::nullopt)),
      sections_(load_backends(choice_)),
      jobs_(default_client_jobs_file()) {}

const BackendSection& BackendsInUse::section(const std::string& name) const {
  return find_backend(sections_, name, choice_.file);
}

Backend& BackendsInUse::backend(const std::string& name) {
  auto it = made_.find(name);
  if (it == made_.end()) {
    it = made_.emplace(name, make_backend(section(name), jobs_.directory())).first;
  }
  return *it->second;
}

JobRecord BackendsInUse::record(const std::string& text, const std::string& command) {
  const std::optional<JobHandle> handle = parse_job_handle(text);
  if (!handle) {
    throw UsageError(
        fmt::format("{}: '{}' is not a job handle (BACKEND:ID, as `spare submit "
                    "--to` printed it)",
                    command, text));
  }
  section(handle->backend);  // an unknown backend is named as such
  std::optional<JobRecord> job = jobs_.find(*handle);
  if (!job) {
    throw UsageError(
        fmt::format("{}: no job {} was submitted from here (`spare status` lists "
                    "them; the client's records are in {})",
                    command, handle->text(), default_client_jobs_file().string()));
  }
  return *job;
}

std::vector<JobRecord> BackendsInUse::records(const std::string& text, const std::string& command) {
  if (const std::optional<JobHandle> handle = parse_job_handle(text);
      handle && section(handle->backend).type() == BackendType::slurm) {
    std::vector<JobRecord> tasks;
    for (const JobRecord& job : jobs_.all()) {
      if (job.handle.backend == handle->backend && job.handle.id.starts_with(handle->id + "_")) {
        tasks.push_back(job);
      }
    }
    if (!tasks.empty() && !jobs_.find(*handle)) return tasks;
  }
  return {record(text, command)};
}

JobStatus BackendsInUse::status_of(const JobRecord& job) {
  return in_backend(section(job.handle.backend),
                    [&] { return backend(job.handle.backend).status({job}).at(0); });
}

BackendHealth BackendsInUse::health_of(const std::string& name) {
  try {
    return in_backend(section(name), [&] { return backend(name).health(); });
  } catch (const Error& e) {
    return {false, 0, e.what()};
  }
}

JobRecord BackendsInUse::submit(const std::string& name, const JobSubmission& job) {
  const SubmittedJob submitted =
      in_backend(section(name), [&] { return backend(name).submit(job); });
  return remember(name, job, submitted);
}

JobRecord BackendsInUse::remember(const std::string& name, const JobSubmission& job,
                                  const SubmittedJob& submitted, const std::string& sweep) {
  JobRecord record;
  record.handle = {name, submitted.id};
  record.name = job.spec.name;
  record.source = job.source;
  record.output = submitted.output;
  record.submitted =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  record.sweep = sweep;
  jobs_.add(record);
  return record;
}

void add_backends_option(po::options_description& options) {
  options.add_options()("backends", po::value<std::string>(),
                        "the backends file (default: $SPARE_BACKENDS, else "
                        "~/.config/spare/backends.ini)");
}

}  // namespace spare::launcher
