// HDF5 as RAII values. A copy adds a reference, a move leaves the source
// empty, destructors never throw. Every failing call throws H5Error with the
// HDF5 error stack, the call and the file or object it was about, and where
// the failure lies (the file's contents, or the system or library under it).
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "spare/box.hpp"
#include "spare/dtype.hpp"
#include "spare/error.hpp"

namespace spare::h5 {

/// Where a failure HDF5 reports lies, from the innermost entry of its error
/// stack, where it was detected (the entries above repeat it in their terms:
/// a failed read surfaces as "unable to locate file signature").
enum class ErrorOrigin {
  file_contents,  // the bytes of the file: a structure or value HDF5 cannot decode
  system,         // the system under HDF5: a failed open, read, seek or lock (errno in the text)
  memory,         // HDF5 could not allocate memory
  library,        // HDF5 itself: initialisation, identifiers, property lists, plugins
};

class H5Error : public Error {
 public:
  H5Error(const std::string& message, ErrorOrigin origin)
      : Error(ExitCode::internal, message), origin_(origin) {}
  ErrorOrigin origin() const noexcept { return origin_; }

 private:
  ErrorOrigin origin_;
};

/// A reference-counted HDF5 identifier of any kind.
class Id {
 public:
  Id() = default;
  explicit Id(hid_t id) : id_(id) {}  // takes ownership of one reference
  Id(const Id& other);
  Id& operator=(const Id& other);
  Id(Id&& other) noexcept;
  Id& operator=(Id&& other) noexcept;
  ~Id();

  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }

 private:
  hid_t id_ = H5I_INVALID_HID;
};

/// A selection of a dataspace: the whole extent, or a box within it.
class Dataspace : public Id {
 public:
  explicit Dataspace(const std::vector<Index>& dims);
  explicit Dataspace(Id id) : Id(std::move(id)) {}
  std::vector<Index> dims() const;
  /// Selects `box` (relative to this space's origin) for the next read or write.
  Dataspace& select(const Box& box);
};

class Dataset;

/// A file or an object in it that carries attributes (the root group, a dataset).
class Location : public Id {
 public:
  using Id::Id;
  const std::string& describe() const { return description_; }

  void write_attribute(const std::string& name, const std::string& value);
  void write_attribute(const std::string& name, std::int64_t value);
  void write_attribute(const std::string& name, double value);
  void write_attribute(const std::string& name, const std::vector<std::int64_t>& values);
  void write_attribute(const std::string& name, const std::vector<double>& values);

  bool has_attribute(const std::string& name) const;
  std::string read_string_attribute(const std::string& name) const;
  std::int64_t read_int_attribute(const std::string& name) const;
  double read_double_attribute(const std::string& name) const;
  std::vector<std::int64_t> read_int_array_attribute(const std::string& name) const;
  std::vector<double> read_double_array_attribute(const std::string& name) const;

 protected:
  Location(hid_t id, std::string description) : Id(id), description_(std::move(description)) {}
  std::string description_;  // "FILE" or "FILE:/dataset", for messages
};

class Group : public Location {
 public:
  using Location::Location;
  friend class File;
  Group create_group(const std::string& name);
  Group open_group(const std::string& name) const;
  Dataset create_dataset(const std::string& name, DType dtype, const std::vector<Index>& dims);
  Dataset open_dataset(const std::string& name) const;
  bool has_link(const std::string& name) const;
};

class File : public Group {
 public:
  /// Creates (truncating) a file.
  static File create(const std::filesystem::path& path);
  static File open_read_only(const std::filesystem::path& path);

  const std::filesystem::path& path() const { return path_; }
  /// Flushes HDF5's buffers and closes the file now, so that it can be fsynced.
  void close();

 private:
  File(hid_t id, std::filesystem::path path);
  std::filesystem::path path_;
};

class Dataset : public Location {
 public:
  friend class Group;
  DType dtype() const;
  std::vector<Index> dims() const;

  /// Writes the part of memory `memory` selects into the part of the file `file` selects.
  void write(const void* data, DType memory_type, const Dataspace& memory, const Dataspace& file);
  void read(void* data, DType memory_type, const Dataspace& memory, const Dataspace& file) const;

 private:
  Dataset(hid_t id, std::string description) : Location(id, std::move(description)) {}
};

}  // namespace spare::h5
