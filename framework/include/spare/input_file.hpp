// A job's input files (ParamType::file parameters): a kernel checks that a
// dataset in one has the type and shape it needs, and each rank reads its own
// block of it at its global offsets. Kernels see no HDF5.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "spare/box.hpp"
#include "spare/dtype.hpp"
#include "spare/field.hpp"

namespace spare {

/// A dataset a kernel reads from an input file, and what it must hold.
struct InputDataset {
  std::string key;  // the file parameter, for messages, e.g. "initial_file"
  std::filesystem::path file;
  std::string dataset;  // a path in the file, e.g. "temperature" or "fields/u"
  DType dtype = DType::f64;
  std::vector<Index> shape;
  std::string shape_names;  // how the kernel names the shape, e.g. "[ny, nx]"; optional
};

/// Throws JobError, naming the key, the file, the dataset, what it holds and
/// what was expected, unless the file is HDF5 and the dataset holds `dtype` of `shape`.
/// Cheap (metadata only): kernels call it when they are built, so a job whose
/// input does not fit is refused when it is planned, before any rank starts.
void check_input_dataset(const InputDataset& input);

/// Reads this rank's block of `input` into the interior of `field` (whose
/// global shape is input.shape and element type input.dtype), halo untouched.
/// Checks the dataset first, as check_input_dataset does.
void read_input_block(const InputDataset& input, FieldBase& field);

}  // namespace spare
