// HDF5 RAII handles with checked calls.
#include "spare/h5.hpp"

#include <fmt/format.h>

#include <cstdio>

namespace spare::h5 {

namespace {

// HDF5 prints its error stack to stderr by default; Spare reports it once,
// in the exception, so the automatic printing is switched off.
void silence_hdf5_once() {
  static const bool silenced = [] {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    return true;
  }();
  (void)silenced;
}

/// Where the failure recorded by an error stack's innermost entry lies.
ErrorOrigin origin_of(hid_t major, hid_t minor) {
  if (major == H5I_INVALID_HID) return ErrorOrigin::library;  // it recorded nothing
  if (major == H5E_RESOURCE) return ErrorOrigin::memory;
  // The file drivers' failed system calls: their text carries errno.
  const bool failed_call = minor == H5E_READERROR || minor == H5E_WRITEERROR ||
                           minor == H5E_SEEKERROR || minor == H5E_CLOSEERROR ||
                           minor == H5E_CANTOPENFILE || minor == H5E_CANTCLOSEFILE ||
                           minor == H5E_CANTLOCKFILE || minor == H5E_CANTUNLOCKFILE;
  if (minor == H5E_SYSERRSTR ||
      (failed_call && (major == H5E_IO || major == H5E_VFL || major == H5E_FILE))) {
    return ErrorOrigin::system;
  }
#ifdef H5E_ID
  const hid_t identifiers = H5E_ID;  // HDF5 1.12 and later
#else
  const hid_t identifiers = H5E_ATOM;
#endif
  if (major == H5E_FUNC || major == H5E_INTERNAL || major == H5E_PLIST || major == H5E_PLUGIN ||
      major == H5E_CONTEXT || major == H5E_ERROR || major == identifiers) {
    return ErrorOrigin::library;
  }
  return ErrorOrigin::file_contents;
}

/// The error stack as one line, outermost call first, and its innermost entry.
struct ErrorStack {
  std::string text;
  hid_t major = H5I_INVALID_HID;
  hid_t minor = H5I_INVALID_HID;
};

herr_t collect_error(unsigned /*n*/, const H5E_error2_t* error, void* data) {
  auto* stack = static_cast<ErrorStack*>(data);
  if (error->desc != nullptr && error->desc[0] != '\0') {
    if (!stack->text.empty()) stack->text += "; ";
    for (const char* c = error->desc; *c != '\0'; ++c)
      stack->text += *c == '\n' ? ' ' : *c;  // the drivers' texts hold a ctime() line
  }
  // Walked downward, each entry is deeper than the one before.
  stack->major = error->maj_num;
  stack->minor = error->min_num;
  return 0;
}

[[noreturn]] void throw_h5(const std::string& what) {
  ErrorStack stack;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, collect_error, &stack);
  H5Eclear2(H5E_DEFAULT);
  throw H5Error(stack.text.empty() ? what : what + ": " + stack.text,
                origin_of(stack.major, stack.minor));
}

template <class T>
T checked(T result, const std::string& what) {
  if (result < 0) throw_h5(what);
  return result;
}

hid_t memory_type(DType type) {
  switch (type) {
    case DType::f32:
      return H5T_NATIVE_FLOAT;
    case DType::f64:
      return H5T_NATIVE_DOUBLE;
    case DType::i32:
      return H5T_NATIVE_INT32;
    case DType::i64:
      return H5T_NATIVE_INT64;
    case DType::u64:
      return H5T_NATIVE_UINT64;
  }
  return H5I_INVALID_HID;
}

// Files are little-endian whatever wrote them, so digests of the bytes agree.
hid_t file_type(DType type) {
  switch (type) {
    case DType::f32:
      return H5T_IEEE_F32LE;
    case DType::f64:
      return H5T_IEEE_F64LE;
    case DType::i32:
      return H5T_STD_I32LE;
    case DType::i64:
      return H5T_STD_I64LE;
    case DType::u64:
      return H5T_STD_U64LE;
  }
  return H5I_INVALID_HID;
}

std::vector<hsize_t> to_hsize(const std::vector<Index>& values) {
  return {values.begin(), values.end()};
}

Id string_type() {
  Id type(checked(H5Tcopy(H5T_C_S1), "H5Tcopy"));
  checked(H5Tset_size(type.get(), H5T_VARIABLE), "H5Tset_size");
  checked(H5Tset_cset(type.get(), H5T_CSET_UTF8), "H5Tset_cset");
  return type;
}

}  // namespace

Id::Id(const Id& other) : id_(other.id_) {
  if (id_ >= 0) H5Iinc_ref(id_);
}

Id& Id::operator=(const Id& other) {
  if (this != &other) {
    Id copy(other);
    std::swap(id_, copy.id_);
  }
  return *this;
}

Id::Id(Id&& other) noexcept : id_(other.id_) {
  other.id_ = H5I_INVALID_HID;
}

Id& Id::operator=(Id&& other) noexcept {
  std::swap(id_, other.id_);
  return *this;
}

Id::~Id() {
  if (id_ >= 0 && H5Idec_ref(id_) < 0) {
    std::fprintf(stderr, "spare: warning: failed to release HDF5 object %lld\n",
                 static_cast<long long>(id_));
  }
}

Dataspace::Dataspace(const std::vector<Index>& dims)
    : Id(checked(H5Screate_simple(static_cast<int>(dims.size()), to_hsize(dims).data(), nullptr),
                 "H5Screate_simple")) {}

std::vector<Index> Dataspace::dims() const {
  const int ndim = checked(H5Sget_simple_extent_ndims(get()), "H5Sget_simple_extent_ndims");
  std::vector<hsize_t> dims(ndim);
  checked(H5Sget_simple_extent_dims(get(), dims.data(), nullptr), "H5Sget_simple_extent_dims");
  return {dims.begin(), dims.end()};
}

Dataspace& Dataspace::select(const Box& box) {
  const auto start = to_hsize(box.offset());
  const auto count = to_hsize(box.count());
  checked(H5Sselect_hyperslab(get(), H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr),
          "H5Sselect_hyperslab " + box.to_string());
  return *this;
}

namespace {

template <class T>
void write_attribute_data(Location& location, const std::string& name, hid_t type, const Id& space,
                          const T* data) {
  if (location.has_attribute(name)) {
    checked(H5Adelete(location.get(), name.c_str()), "H5Adelete " + name);
  }
  Id attribute(
      checked(H5Acreate2(location.get(), name.c_str(), type, space.get(), H5P_DEFAULT, H5P_DEFAULT),
              fmt::format("creating attribute '{}' on {}", name, location.describe())));
  checked(H5Awrite(attribute.get(), type, data),
          fmt::format("writing attribute '{}' on {}", name, location.describe()));
}

Id open_attribute(const Location& location, const std::string& name) {
  return Id(checked(H5Aopen(location.get(), name.c_str(), H5P_DEFAULT),
                    fmt::format("{} has no attribute '{}'", location.describe(), name)));
}

template <class T>
std::vector<T> read_attribute_array(const Location& location, const std::string& name, hid_t type) {
  Id attribute = open_attribute(location, name);
  Id space(checked(H5Aget_space(attribute.get()), "H5Aget_space"));
  const hssize_t n =
      checked(H5Sget_simple_extent_npoints(space.get()), "H5Sget_simple_extent_npoints");
  std::vector<T> values(static_cast<std::size_t>(n));
  checked(H5Aread(attribute.get(), type, values.data()),
          fmt::format("reading attribute '{}' of {}", name, location.describe()));
  return values;
}

}  // namespace

void Location::write_attribute(const std::string& name, const std::string& value) {
  Id type = string_type();
  Id space(checked(H5Screate(H5S_SCALAR), "H5Screate"));
  const char* text = value.c_str();
  write_attribute_data(*this, name, type.get(), space, &text);
}

void Location::write_attribute(const std::string& name, std::int64_t value) {
  Id space(checked(H5Screate(H5S_SCALAR), "H5Screate"));
  write_attribute_data(*this, name, H5T_NATIVE_INT64, space, &value);
}

void Location::write_attribute(const std::string& name, double value) {
  Id space(checked(H5Screate(H5S_SCALAR), "H5Screate"));
  write_attribute_data(*this, name, H5T_NATIVE_DOUBLE, space, &value);
}

void Location::write_attribute(const std::string& name, const std::vector<std::int64_t>& values) {
  Dataspace space(std::vector<Index>{static_cast<Index>(values.size())});
  write_attribute_data(*this, name, H5T_NATIVE_INT64, space, values.data());
}

void Location::write_attribute(const std::string& name, const std::vector<double>& values) {
  Dataspace space(std::vector<Index>{static_cast<Index>(values.size())});
  write_attribute_data(*this, name, H5T_NATIVE_DOUBLE, space, values.data());
}

bool Location::has_attribute(const std::string& name) const {
  return checked(H5Aexists(get(), name.c_str()), "H5Aexists " + name) > 0;
}

std::string Location::read_string_attribute(const std::string& name) const {
  Id attribute = open_attribute(*this, name);
  Id stored(checked(H5Aget_type(attribute.get()), "H5Aget_type"));
  if (checked(H5Tis_variable_str(stored.get()), "H5Tis_variable_str") <= 0) {
    throw H5Error(
        fmt::format("attribute '{}' of {} is not a variable-length string", name, describe()),
        ErrorOrigin::file_contents);
  }
  Id type = string_type();
  char* text = nullptr;
  checked(H5Aread(attribute.get(), type.get(), &text),
          fmt::format("reading attribute '{}' of {}", name, describe()));
  std::string value = text != nullptr ? text : "";
  H5free_memory(text);
  return value;
}

std::int64_t Location::read_int_attribute(const std::string& name) const {
  return read_attribute_array<std::int64_t>(*this, name, H5T_NATIVE_INT64).at(0);
}

double Location::read_double_attribute(const std::string& name) const {
  return read_attribute_array<double>(*this, name, H5T_NATIVE_DOUBLE).at(0);
}

std::vector<std::int64_t> Location::read_int_array_attribute(const std::string& name) const {
  return read_attribute_array<std::int64_t>(*this, name, H5T_NATIVE_INT64);
}

std::vector<double> Location::read_double_array_attribute(const std::string& name) const {
  return read_attribute_array<double>(*this, name, H5T_NATIVE_DOUBLE);
}

Group Group::create_group(const std::string& name) {
  const std::string where = describe() + ":/" + name;
  return Group(checked(H5Gcreate2(get(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                       "creating group " + where),
               where);
}

Group Group::open_group(const std::string& name) const {
  const std::string where = describe() + ":/" + name;
  return Group(checked(H5Gopen2(get(), name.c_str(), H5P_DEFAULT), "opening group " + where),
               where);
}

Dataset Group::create_dataset(const std::string& name, DType dtype,
                              const std::vector<Index>& dims) {
  const std::string where = describe() + ":/" + name;
  Dataspace space(dims);
  return Dataset(checked(H5Dcreate2(get(), name.c_str(), file_type(dtype), space.get(), H5P_DEFAULT,
                                    H5P_DEFAULT, H5P_DEFAULT),
                         "creating dataset " + where),
                 where);
}

Dataset Group::open_dataset(const std::string& name) const {
  const std::string where = describe() + ":/" + name;
  return Dataset(checked(H5Dopen2(get(), name.c_str(), H5P_DEFAULT), "opening dataset " + where),
                 where);
}

bool Group::has_link(const std::string& name) const {
  return checked(H5Lexists(get(), name.c_str(), H5P_DEFAULT), "H5Lexists " + name) > 0;
}

File::File(hid_t id, std::filesystem::path path)
    : Group(id, path.string()), path_(std::move(path)) {}

File File::create(const std::filesystem::path& path) {
  silence_hdf5_once();
  return File(checked(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT),
                      "creating HDF5 file " + path.string()),
              path);
}

File File::open_read_only(const std::filesystem::path& path) {
  silence_hdf5_once();
  return File(checked(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT),
                      "opening HDF5 file " + path.string()),
              path);
}

void File::close() {
  checked(H5Fflush(get(), H5F_SCOPE_GLOBAL), "flushing " + path_.string());
  *this = File(H5I_INVALID_HID, path_);
}

DType Dataset::dtype() const {
  Id type(checked(H5Dget_type(get()), "H5Dget_type " + describe()));
  const H5T_class_t type_class = H5Tget_class(type.get());
  const std::size_t size = H5Tget_size(type.get());
  if (type_class == H5T_FLOAT && size == 4) return DType::f32;
  if (type_class == H5T_FLOAT && size == 8) return DType::f64;
  if (type_class == H5T_INTEGER) {
    const bool is_signed = H5Tget_sign(type.get()) == H5T_SGN_2;
    if (size == 4 && is_signed) return DType::i32;
    if (size == 8) return is_signed ? DType::i64 : DType::u64;
  }
  throw H5Error(describe() + " has an element type Spare does not use", ErrorOrigin::file_contents);
}

std::vector<Index> Dataset::dims() const {
  Dataspace space(Id(checked(H5Dget_space(get()), "H5Dget_space " + describe())));
  return space.dims();
}

void Dataset::write(const void* data, DType memory, const Dataspace& memory_space,
                    const Dataspace& file_space) {
  checked(
      H5Dwrite(get(), memory_type(memory), memory_space.get(), file_space.get(), H5P_DEFAULT, data),
      "writing " + describe());
}

void Dataset::read(void* data, DType memory, const Dataspace& memory_space,
                   const Dataspace& file_space) const {
  checked(
      H5Dread(get(), memory_type(memory), memory_space.get(), file_space.get(), H5P_DEFAULT, data),
      "reading " + describe());
}

}  // namespace spare::h5
