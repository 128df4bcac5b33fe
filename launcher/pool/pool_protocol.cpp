// The pool protocol's routes and its version.
#include "pool_protocol.hpp"

#include <regex>

#include "request_error.hpp"
#include "spare/error.hpp"

namespace spare::pool::protocol {

namespace {

struct Placeholder {
  std::string_view name;
  std::string_view capture;
};

constexpr Placeholder kPlaceholders[] = {
    {"{id}", R"((\d{1,18}))"},
    {"{step}", R"((step-\d{1,18}))"},
    {"{file}", R"(([A-Za-z0-9._-]+))"},
    {"{sha256}", R"(([0-9a-f]{64}))"},
};

/// The placeholder at `at` in `text`, if one begins there.
const Placeholder* placeholder_at(std::string_view text, std::size_t at) {
  for (const Placeholder& p : kPlaceholders) {
    if (text.substr(at, p.name.size()) == p.name) return &p;
  }
  return nullptr;
}

/// Characters of a path template that mean something in a pattern.
bool is_regex_special(char c) {
  return std::string_view(R"(\^$.|?*+()[]{})").find(c) != std::string_view::npos;
}

}  // namespace

std::string Route::pattern() const {
  std::string out;
  for (std::size_t at = 0; at < path_template.size();) {
    if (const Placeholder* p = placeholder_at(path_template, at)) {
      out += p->capture;
      at += p->name.size();
      continue;
    }
    if (is_regex_special(path_template[at])) out += '\\';
    out += path_template[at++];
  }
  return out;
}

std::string Route::fill(std::initializer_list<std::string> parts) const {
  std::size_t wanted = 0;
  for (std::size_t at = 0; at < path_template.size(); ++at)
    wanted += placeholder_at(path_template, at) != nullptr ? 1 : 0;
  if (wanted != parts.size()) {
    throw Error(ExitCode::internal, fmt::format("route {} takes {} parts, given {}", path_template,
                                                wanted, parts.size()));
  }
  std::string out;
  const std::string* next = parts.begin();
  for (std::size_t at = 0; at < path_template.size();) {
    if (const Placeholder* p = placeholder_at(path_template, at)) {
      out += *next++;
      at += p->name.size();
    } else {
      out += path_template[at++];
    }
  }
  return out;
}

std::string unknown_route_message(const std::string& path) {
  static const std::regex versioned(R"(/api/v(\d{1,9})(/.*)?)");
  std::smatch match;
  const std::string speaks =
      fmt::format("this pool speaks Spare's pool protocol v{} ({}/...)", kVersion, kPrefix);
  if (std::regex_match(path, match, versioned)) {
    if (match[1] == std::to_string(kVersion)) {
      return fmt::format("no such route: {} (see docs/architecture.md for the protocol's routes)",
                         path);
    }
    return fmt::format("{}; {} is of protocol v{}: use a Spare that speaks v{}", speaks, path,
                       match[1].str(), kVersion);
  }
  return fmt::format("{}; {} is of a Spare from before versioned routes: use a newer one", speaks,
                     path);
}

void serve(HttpsServer& server, const Route& route, RouteHandler handler, RouteOptions options) {
  server.route(route.method, route.pattern(), std::move(handler), std::move(options));
}

void serve_protocol(HttpsServer& server) {
  server.add_reply_header(std::string(kVersionHeader), std::to_string(kVersion));
  for (const HttpMethod method :
       {HttpMethod::get, HttpMethod::post, HttpMethod::put, HttpMethod::del}) {
    server.route(method, "/api/.*", [](ServerRequest& request) -> ServerReply {
      throw RequestError(404, unknown_route_message(request.path));
    });
  }
}

std::string version_mismatch(const std::string& url, const std::string& reply_version) {
  if (reply_version == std::to_string(kVersion)) return {};
  if (reply_version.empty()) {
    return fmt::format(
        "{} does not speak Spare's pool protocol v{} (its reply names no protocol: a Spare from "
        "before versioned routes, or not a Spare server)",
        url, kVersion);
  }
  return fmt::format("{} speaks Spare's pool protocol v{}, this spare v{}: use the same version",
                     url, reply_version, kVersion);
}

}  // namespace spare::pool::protocol
