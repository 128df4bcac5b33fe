// Out-of-line parts of the error types.
#include "spare/error.hpp"

#include <cstring>

namespace spare {

SystemError::SystemError(const std::string& what, int errno_value)
    : Error(ExitCode::internal, what + ": " + std::strerror(errno_value)),
      errno_value_(errno_value) {}

}  // namespace spare
