// What HttpsServer hands a route handler (ServerRequest) and what the
// handler answers (ServerReply): plain values, with no trace of the transport.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace spare::pool {

enum class HttpMethod { get, post, put, del };

/// "GET", "POST", "PUT", "DELETE".
std::string_view method_name(HttpMethod method);

struct ServerRequest {
  HttpMethod method = HttpMethod::get;
  std::string path;                          // percent-decoded, without the query
  std::vector<std::string> matches;          // the route pattern's captures; [0] is the whole path
  std::map<std::string, std::string> query;  // decoded ?a=b&c=d (a repeated name: the last)
  std::string bearer_token;                  // from "Authorization: Bearer T"
  std::string remote_address;
  int remote_port = 0;
  /// Every header as received, in order (names as the client spelled them).
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;  // routes with an in-memory body
  /// Streamed routes: the complete body, in a file of the server's spool
  /// directory. The handler may rename it away; what is left there when the
  /// handler returns is removed.
  std::filesystem::path body_file;

  /// The first header of that name (case-insensitive), or "" if there is none.
  std::string header(std::string_view name) const;
  /// The body as a JSON object, or throws RequestError (400) saying why.
  nlohmann::json json() const;
};

struct ServerReply {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  /// Non-empty: the body is this file, streamed from disk in slabs (never
  /// wholly in memory). The server opens it when the handler returns.
  std::filesystem::path file;
  std::vector<std::pair<std::string, std::string>> headers;

  /// A JSON body; invalid UTF-8 (a file name in a message, say) is replaced
  /// rather than failing the answer.
  static ServerReply json(int status, const nlohmann::json& body);
  /// {"error": message}.
  static ServerReply error(int status, const std::string& message);
  /// The file's bytes (application/octet-stream); RequestError 404 if it is not there.
  static ServerReply file_of(const std::filesystem::path& file);
};

}  // namespace spare::pool
