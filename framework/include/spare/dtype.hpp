// Element types of datasets, as they are named in manifests and mapped to HDF5.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace spare {

enum class DType { f32, f64, i32, i64, u64 };

std::size_t dtype_size(DType type);
std::string dtype_name(DType type);              // "f64", ...
DType dtype_from_name(const std::string& name);  // throws CheckpointError on an unknown name

template <class T>
constexpr DType dtype_of();
template <>
constexpr DType dtype_of<float>() {
  return DType::f32;
}
template <>
constexpr DType dtype_of<double>() {
  return DType::f64;
}
template <>
constexpr DType dtype_of<std::int32_t>() {
  return DType::i32;
}
template <>
constexpr DType dtype_of<std::int64_t>() {
  return DType::i64;
}
template <>
constexpr DType dtype_of<std::uint64_t>() {
  return DType::u64;
}

}  // namespace spare
