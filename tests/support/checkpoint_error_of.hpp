// The message a piece of test code throws as a CheckpointError.
#pragma once

#include <string>

#include "spare/error.hpp"

namespace spare::testing {

/// The message `fn` throws as a CheckpointError, or "" if it throws none.
template <class Fn>
std::string checkpoint_error_of(Fn&& fn) {
  try {
    fn();
  } catch (const CheckpointError& e) {
    return e.what();
  }
  return {};
}

}  // namespace spare::testing
