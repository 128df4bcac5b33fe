// What the fuzz targets share: a broken invariant is reported as a crash
// (libFuzzer keeps the input as crash-*), and inputs split into words.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace spare::fuzz {

/// An invariant of the parser does not hold for this input: say which, then
/// abort, so that libFuzzer saves the input and the run fails.
[[noreturn]] inline void violated(std::string_view invariant, std::string_view detail = {}) {
  std::fprintf(stderr, "\nINVARIANT VIOLATED: %.*s\n", static_cast<int>(invariant.size()),
               invariant.data());
  if (!detail.empty()) {
    std::fprintf(stderr, "%.*s\n", static_cast<int>(detail.size()), detail.data());
  }
  std::abort();
}

inline void require(bool holds, std::string_view invariant, std::string_view detail = {}) {
  if (!holds) violated(invariant, detail);
}

inline std::string_view bytes(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

/// The input cut at NUL bytes: words (of a command line, a path) can never
/// hold a NUL, so the fuzzer controls every byte of every word.
inline std::vector<std::string> split_at_nul(std::string_view input) {
  std::vector<std::string> words;
  std::size_t start = 0;
  while (true) {
    const std::size_t end = input.find('\0', start);
    words.emplace_back(input.substr(start, end == std::string_view::npos ? end : end - start));
    if (end == std::string_view::npos) return words;
    start = end + 1;
  }
}

/// A name that cannot lead out of the directory it is joined to.
inline bool plain_file_name(std::string_view name) {
  return !name.empty() && name != "." && name != ".." &&
         name.find_first_of(std::string_view("/\0", 2)) == std::string_view::npos;
}

}  // namespace spare::fuzz
