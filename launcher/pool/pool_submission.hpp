// Submitting a checked job to a pool: what `spare submit --pool` and the pool
// backend (launcher/backends/pool_backend.cpp) both do.
#pragma once

#include <cstdint>
#include <string>

#include "https_client.hpp"
#include "spare/job_spec.hpp"
#include "spare/kernel_registry.hpp"

namespace spare::launcher {

/// Sends the job's input files the pool does not have yet (by SHA-256), then
/// the job; returns the pool's job number. Throws Error with the pool's message.
std::int64_t submit_to_pool(pool::HttpsClient& client, const JobSpec& spec,
                            const std::string& source, const KernelRegistry& kernels);

}  // namespace spare::launcher
