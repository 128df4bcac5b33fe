// What a piece of test code throws: a spare::Error's message, a CheckpointError's
// message and fault.
#pragma once

#include <optional>
#include <string>

#include "spare/error.hpp"

namespace spare::testing {

/// The message `fn` throws as a spare::Error, or "(no error)" if it throws none.
template <class Fn>
std::string error_of(Fn&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

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

/// The fault of the CheckpointError `fn` throws, or nothing if it throws none.
template <class Fn>
std::optional<CheckpointFault> checkpoint_fault_of(Fn&& fn) {
  try {
    fn();
  } catch (const CheckpointError& e) {
    return e.fault();
  }
  return std::nullopt;
}

}  // namespace spare::testing
