// The request line's target, split and decoded: "/a%20b?x=1&y" -> path "/a b",
// query {x: "1", y: ""}. Handlers and routes only ever see the decoded form.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace spare::pool::detail {

struct RequestTarget {
  std::string path;
  std::map<std::string, std::string> query;
};

/// Splits an origin-form target ("/path?query") and decodes both parts; throws
/// RequestError (400) saying what is wrong: not starting with '/', a bad %XX
/// escape, a NUL byte, a query parameter without a name.
RequestTarget parse_request_target(std::string_view target);

/// %XX decoded (and '+' as a space where `plus_is_space`: in a query); nullopt
/// for a '%' not followed by two hex digits.
std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space);

}  // namespace spare::pool::detail
