// Submitting a checked job to a pool: what `spare submit --pool` and the pool
// backend (launcher/backends/pool_backend.cpp) both do.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "https_client.hpp"
#include "spare/job_spec.hpp"
#include "spare/kernel_registry.hpp"

namespace spare::launcher {

/// The JSON of a 2xx reply; otherwise throws with `what` and the pool's
/// message (UsageError for a refused token or role, Error otherwise).
nlohmann::json checked(const pool::HttpResponse& response, const std::string& what);

/// Sends the job's input files the pool does not have yet (by SHA-256), then
/// the job; returns the pool's job number. Throws Error with the pool's message.
std::int64_t submit_to_pool(pool::HttpsClient& client, const JobSpec& spec,
                            const std::string& source, const KernelRegistry& kernels,
                            std::optional<std::int64_t> resume_step = std::nullopt);

}  // namespace spare::launcher
