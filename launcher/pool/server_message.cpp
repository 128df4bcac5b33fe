// ServerRequest's and ServerReply's helpers.
#include "server_message.hpp"

#include <strings.h>

#include <system_error>

#include <fmt/format.h>

#include "request_error.hpp"  // RequestError

namespace spare::pool {

std::string_view method_name(HttpMethod method) {
  switch (method) {
    case HttpMethod::get:
      return "GET";
    case HttpMethod::post:
      return "POST";
    case HttpMethod::put:
      return "PUT";
    case HttpMethod::del:
      return "DELETE";
  }
  return "?";
}

std::string ServerRequest::header(std::string_view name) const {
  for (const auto& [field, value] : headers) {
    if (field.size() == name.size() && ::strncasecmp(field.data(), name.data(), name.size()) == 0) {
      return value;
    }
  }
  return {};
}

nlohmann::json ServerRequest::json() const {
  nlohmann::json parsed;
  try {
    parsed = nlohmann::json::parse(body);
  } catch (const nlohmann::json::exception& error) {
    // parse_error, and out_of_range for a number beyond a double (1e400).
    throw RequestError(400, fmt::format("{} {}: the body is not JSON: {}", method_name(method),
                                        path, error.what()));
  }
  if (!parsed.is_object()) {
    throw RequestError(400, fmt::format("{} {}: the body must be a JSON object, not {}",
                                        method_name(method), path, parsed.type_name()));
  }
  return parsed;
}

ServerReply ServerReply::json(int status, const nlohmann::json& body) {
  ServerReply reply;
  reply.status = status;
  reply.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return reply;
}

ServerReply ServerReply::error(int status, const std::string& message) {
  return json(status, {{"error", message}});
}

ServerReply ServerReply::file_of(const std::filesystem::path& file) {
  std::error_code failure;
  if (!std::filesystem::is_regular_file(file, failure)) {
    throw RequestError(404, fmt::format("no file {}", file.filename().string()));
  }
  ServerReply reply;
  reply.content_type = "application/octet-stream";
  reply.file = file;
  return reply;
}

}  // namespace spare::pool
