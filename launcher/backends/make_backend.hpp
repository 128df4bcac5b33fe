// The backend a backends.ini section describes.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>

#include "backend.hpp"
#include "backends_file.hpp"

namespace spare::launcher {

/// `client_directory`: where the client's state is (a local backend's jobs go there).
std::unique_ptr<Backend> make_backend(const BackendSection& section,
                                      const std::filesystem::path& client_directory);

/// Runs `request` on `section`'s backend; an Error it throws comes out with
/// "backend 'NAME' (TYPE): " before its message, and the same exit code.
template <class Request>
decltype(auto) in_backend(const BackendSection& section, Request&& request);

/// The message prefix of in_backend.
std::string backend_label(const BackendSection& section);

}  // namespace spare::launcher

#include "spare/error.hpp"

namespace spare::launcher {

template <class Request>
decltype(auto) in_backend(const BackendSection& section, Request&& request) {
  try {
    return request();
  } catch (const Error& e) {
    throw Error(e.code(), backend_label(section) + ": " + e.what());
  }
}

}  // namespace spare::launcher
