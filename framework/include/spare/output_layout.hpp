// Where a job's files live under its output directory:
//
//   OUTPUT/
//   ├── job.ini                              the job as run: every key, resolved
//   ├── checkpoints/
//   │   ├── step-000000001000/
//   │   │   ├── shard-00000.h5               rank 0's block of every dataset
//   │   │   ├── shard-00001.h5               ... one shard per rank that wrote
//   │   │   └── MANIFEST.json                written last, atomically: complete
//   │   ├── step-000000002000/               no MANIFEST.json: interrupted, never used
//   │   ├── step-000000001500.corrupt/       failed verification, kept for inspection
//   │   └── .trash-step-000000000500/        an old checkpoint being deleted
//   ├── result.h5                            the final state as one plain HDF5 file
//   └── result.xdmf                          its description for ParaView
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace spare {

struct OutputLayout {
  std::filesystem::path root;

  std::filesystem::path job_file() const { return root / "job.ini"; }
  std::filesystem::path checkpoints() const { return root / "checkpoints"; }
  std::filesystem::path result_h5() const { return root / "result.h5"; }
  std::filesystem::path result_xdmf() const { return root / "result.xdmf"; }
};

inline constexpr const char* kManifestName = "MANIFEST.json";
inline constexpr const char* kQuarantineSuffix = ".corrupt";
/// Old checkpoints are renamed to this prefix, then deleted in the background.
inline constexpr const char* kTrashPrefix = ".trash-";

/// "step-000000001000": zero-padded so names sort by step.
std::string checkpoint_dir_name(std::int64_t step);
/// "shard-00003.h5"
std::string shard_file_name(int rank);

}  // namespace spare
