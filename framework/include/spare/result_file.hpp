// The result of a job: a checkpoint merged into one plain HDF5 file (each
// dataset at its global shape, attributes that describe the run) and an XDMF
// sidecar that ParaView opens. `spare ckpt merge` writes the same files.
#pragma once

#include <filesystem>
#include <string>

#include "spare/checkpoint_reader.hpp"
#include "spare/h5.hpp"

namespace spare {

/// Verifies every block while copying it. Writes to temporary names and
/// renames, so an existing result is replaced only by a complete one. The
/// XDMF file is written only if a dataset is on a 2D or 3D grid (returns
/// whether it was); an old one at that path is removed otherwise.
bool write_result(const CheckpointReader& checkpoint, const std::filesystem::path& h5_path,
                  const std::filesystem::path& xdmf_path);

/// Whether `manifest` has datasets XDMF can describe.
bool has_xdmf_grid(const Manifest& manifest);

/// The XDMF 3 document describing `manifest`'s grid datasets in `h5_file_name`.
std::string xdmf_document(const Manifest& manifest, const std::string& h5_file_name);

/// Attributes that make a file self-describing (version, kernel, parameters,
/// step, time; per dataset its axes, origin, spacing, units).
void write_run_attributes(h5::Group& root, const RunDescription& run);
void write_dataset_attributes(h5::Dataset& dataset, const DatasetRecord& record);

}  // namespace spare
