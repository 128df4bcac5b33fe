// Kernels described as data: what a worker tells the launcher about the
// kernels compiled into it (`spare-worker --describe`), so the launcher can
// check job files for kernels it was not built with.
#pragma once

#include <nlohmann/json.hpp>

#include "spare/kernel_registry.hpp"

namespace spare {

nlohmann::json registry_to_json(const KernelRegistry& registry);

/// {"heat2d": 1, "nbody": 2, ...}: each kernel's KernelInfo::revision. Machines
/// that compute one job together must agree on it for the job's bits to be one.
nlohmann::json kernel_revisions(const KernelRegistry& registry);

/// A registry of the kernels' names, parameters and datasets; they cannot be
/// built (KernelInfo::create is empty). Throws std::runtime_error on bad JSON.
KernelRegistry registry_from_json(const nlohmann::json& json);

}  // namespace spare
