// The request line's target, split and decoded: "/a%20b?x=1&y" -> path "/a b",
// query {x: "1", y: ""}. Handlers and routes only ever see the decoded form.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace spare::pool::detail {

struct RequestTarget {
  std::string path;
  std::map<std::string, std::string> query;
};

/// The longest path a request may have: every path of the pool's API is far
/// shorter, and routes match paths with std::regex, whose depth of recursion
/// grows with the path (tests/fuzz/findings/route_regex_depth.cpp).
inline constexpr std::size_t kMaxPathBytes = 1024;

/// Splits an origin-form target ("/path?query") and decodes both parts; throws
/// RequestError saying what is wrong: 414 for a path over kMaxPathBytes, 400
/// for one not starting with '/', a bad %XX escape, a NUL byte, a query
/// parameter without a name.
RequestTarget parse_request_target(std::string_view target);

/// %XX decoded (and '+' as a space where `plus_is_space`: in a query); nullopt
/// for a '%' not followed by two hex digits.
std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space);

}  // namespace spare::pool::detail
