// What a route handler throws to answer a client's mistake, and the pieces of
// authentication the pool's servers share.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace spare::pool {

/// A client's mistake: handlers throw it, the server answers `status` with its message.
class RequestError : public std::runtime_error {
 public:
  using Headers = std::vector<std::pair<std::string, std::string>>;
  /// `headers` go with the answer (a redirect's Location, a Retry-After).
  RequestError(int status, const std::string& what, Headers headers = {})
      : std::runtime_error(what), status_(status), headers_(std::move(headers)) {}
  int status() const { return status_; }
  const Headers& headers() const { return headers_; }

 private:
  int status_;
  Headers headers_;
};

/// The header a volunteer's agent sends to the coordinator with each request:
/// "ID:KEY", the id and key the coordinator gave it when it registered.
inline constexpr const char* kVolunteerHeader = "X-Spare-Volunteer";

/// Whether two secrets are equal, in a time that depends on neither's content or length.
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace spare::pool
