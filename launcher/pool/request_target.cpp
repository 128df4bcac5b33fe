// Decoding of request targets for HttpsServer.
#include "request_target.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "request_error.hpp"  // RequestError

namespace spare::pool::detail {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// A target is echoed in messages: a bounded, printable excerpt of it.
std::string excerpt(std::string_view text) {
  constexpr std::size_t limit = 200;
  std::string shown;
  for (const char c : text.substr(0, limit)) {
    const auto byte = static_cast<unsigned char>(c);
    shown += byte >= 0x20 && byte < 0x7f ? c : '?';
  }
  if (text.size() > limit) shown += "...";
  return shown;
}

std::string decoded_or_refuse(std::string_view part, bool plus_is_space, std::string_view target,
                              const char* what) {
  std::optional<std::string> decoded = percent_decode(part, plus_is_space);
  if (!decoded) {
    throw RequestError(400, fmt::format("the request target \"{}\" has a bad %-escape in its {}",
                                        excerpt(target), what));
  }
  if (decoded->find('\0') != std::string::npos) {
    throw RequestError(400, fmt::format("the request target \"{}\" has a NUL byte in its {}",
                                        excerpt(target), what));
  }
  return std::move(*decoded);
}

}  // namespace

std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      const int high = hex_value(text[i + 1]);
      const int low = hex_value(text[i + 2]);
      if (high < 0 || low < 0) return std::nullopt;
      out += static_cast<char>(high * 16 + low);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

RequestTarget parse_request_target(std::string_view target) {
  if (target.empty() || target.front() != '/') {
    throw RequestError(
        400, fmt::format("the request target \"{}\" does not start with '/'", excerpt(target)));
  }
  const std::size_t question = target.find('?');
  // Routes are std::regex patterns, which libstdc++ matches recursively, a
  // frame per character: a long path would overflow a handler's stack.
  if (std::min(question, target.size()) > kMaxPathBytes) {
    throw RequestError(414, fmt::format("the request's path is longer than {} bytes: \"{}\"",
                                        kMaxPathBytes, excerpt(target)));
  }
  RequestTarget parsed;
  parsed.path = decoded_or_refuse(target.substr(0, question), false, target, "path");
  if (question == std::string_view::npos) return parsed;

  std::string_view rest = target.substr(question + 1);
  while (!rest.empty()) {
    const std::size_t amp = rest.find('&');
    const std::string_view item = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    if (item.empty()) continue;  // "a=1&&b=2": an empty piece says nothing
    const std::size_t equals = item.find('=');
    std::string name = decoded_or_refuse(item.substr(0, equals), true, target, "query");
    if (name.empty()) {
      throw RequestError(400, fmt::format("the request target \"{}\" has a query parameter "
                                          "without a name",
                                          excerpt(target)));
    }
    std::string value = equals == std::string_view::npos
                            ? std::string()
                            : decoded_or_refuse(item.substr(equals + 1), true, target, "query");
    parsed.query[std::move(name)] = std::move(value);
  }
  return parsed;
}

}  // namespace spare::pool::detail
