// Reading a kernel's input datasets: checked, then read block by block.
#include "spare/input_file.hpp"

#include <fmt/format.h>

#include "spare/error.hpp"
#include "spare/h5.hpp"

namespace spare {

namespace {

std::string describe_expected(const InputDataset& input) {
  const std::string shape = fmt::format("{}", fmt::join(input.shape, ", "));
  return fmt::format("a {}D {} dataset '{}' of shape {}[{}]", input.shape.size(),
                     dtype_name(input.dtype), input.dataset,
                     input.shape_names.empty() ? "" : input.shape_names + " = ", shape);
}

/// The dataset, opened and checked; JobError otherwise.
h5::Dataset open_checked(const InputDataset& input) {
  const std::string where = fmt::format("{} {}", input.key, input.file.string());
  const h5::File file = [&] {
    try {
      return h5::File::open_read_only(input.file);
    } catch (const h5::H5Error& e) {
      throw JobError(
          fmt::format("{}: not readable as an HDF5 file ({}); expected an HDF5 file "
                      "holding {}",
                      where, e.what(), describe_expected(input)));
    }
  }();
  h5::Dataset dataset = [&] {
    try {
      return file.open_dataset(input.dataset);
    } catch (const h5::H5Error&) {
      throw JobError(fmt::format("{}: has no dataset '{}'; expected {}", where, input.dataset,
                                 describe_expected(input)));
    }
  }();
  std::string found;
  try {
    const std::vector<Index> dims = dataset.dims();
    const DType dtype = dataset.dtype();
    if (dims != input.shape || dtype != input.dtype) {
      found = fmt::format("{} of shape [{}]", dtype_name(dtype), fmt::join(dims, ", "));
    }
  } catch (const h5::H5Error&) {
    found = "elements of a type Spare does not read";  // strings, compounds, ...
  }
  if (!found.empty()) {
    throw JobError(fmt::format("{}: dataset '{}' holds {}; expected {}", where, input.dataset,
                               found, describe_expected(input)));
  }
  return dataset;
}

}  // namespace

void check_input_dataset(const InputDataset& input) {
  open_checked(input);
}

void read_input_block(const InputDataset& input, FieldBase& field) {
  const h5::Dataset dataset = open_checked(input);
  const Box& block = field.interior();
  std::vector<Index> storage(static_cast<std::size_t>(field.ndim()));
  for (int d = 0; d < field.ndim(); ++d)
    storage[static_cast<std::size_t>(d)] = field.storage_extent(d);
  h5::Dataspace memory(storage);
  memory.select(
      Box::from_offset_count(std::vector<Index>(storage.size(), field.halo()), block.count()));
  h5::Dataspace file(input.shape);
  try {
    dataset.read(field.raw_data(), field.dtype(), memory, file.select(block));
  } catch (const h5::H5Error& e) {
    throw Error(ExitCode::run_failed,
                fmt::format("{} {}: dataset '{}' could not be read: {}", input.key,
                            input.file.string(), input.dataset, e.what()));
  }
}

}  // namespace spare
