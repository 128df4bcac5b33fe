// Element type names and sizes.
#include "spare/dtype.hpp"

#include "spare/error.hpp"

namespace spare {

std::size_t dtype_size(DType type) {
  switch (type) {
    case DType::f32:
      return 4;
    case DType::i32:
      return 4;
    case DType::f64:
      return 8;
    case DType::i64:
      return 8;
    case DType::u64:
      return 8;
  }
  return 0;
}

std::string dtype_name(DType type) {
  switch (type) {
    case DType::f32:
      return "f32";
    case DType::f64:
      return "f64";
    case DType::i32:
      return "i32";
    case DType::i64:
      return "i64";
    case DType::u64:
      return "u64";
  }
  return "?";
}

DType dtype_from_name(const std::string& name) {
  for (DType type : {DType::f32, DType::f64, DType::i32, DType::i64, DType::u64}) {
    if (dtype_name(type) == name) return type;
  }
  throw CheckpointError("unknown element type '" + name + "'");
}

}  // namespace spare
