// Job handles: "BACKEND:ID".
#include "job_handle.hpp"

#include <algorithm>

namespace spare::launcher {

namespace {

bool is_name_character(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.';
}

bool is_word(std::string_view text) {
  return !text.empty() && text.size() <= 64 &&
         std::all_of(text.begin(), text.end(), is_name_character);
}

}  // namespace

bool is_backend_name(std::string_view name) {
  return is_word(name);
}

std::optional<JobHandle> parse_job_handle(std::string_view text) {
  const auto colon = text.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  const std::string_view backend = text.substr(0, colon);
  const std::string_view id = text.substr(colon + 1);
  if (!is_word(backend) || !is_word(id)) return std::nullopt;
  return JobHandle{std::string(backend), std::string(id)};
}

}  // namespace spare::launcher
