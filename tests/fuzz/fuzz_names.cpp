// Names that arrive in request paths and command lines and become paths or
// sizes: a request's target (decoded before any route sees it), a
// checkpoint's directory and file (the pool's vault, a volunteer's partner
// copies), an input's content address, and `spare volunteer
// --memory/--input-cache` sizes. Input: words cut at NUL bytes.
//
// Invariants: only the checkers' own errors escape; a decoded target's path
// starts with '/', holds no NUL, is at most kMaxPathBytes long (a longer one
// is a 414, before any route's regex sees it) and reads back the same from
// its own %-encoding, and so does its query; a name accepted is a plain file
// name, accepted exactly when it has the documented form (checked here
// without a regex, so the checker's regex is compared to another reading of
// the same rule), and joined under its root it stays there; an accepted size
// is at least one byte (0 would mean "all of it" to the agent).
#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>
#include <string_view>

#include "byte_size.hpp"
#include "checkpoint_vault.hpp"
#include "fuzz_support.hpp"
#include "input_store.hpp"
#include "request_error.hpp"
#include "request_target.hpp"
#include "spare/error.hpp"

namespace {

namespace fs = std::filesystem;

bool digits(std::string_view text, std::size_t min, std::size_t max) {
  return text.size() >= min && text.size() <= max &&
         text.find_first_not_of("0123456789") == std::string_view::npos;
}

/// `prefix`, then a number written in at least `min` digits (zero-padded to
/// them, so one number has one name) and at most `max`, then `suffix`.
bool numbered_form(std::string_view name, std::string_view prefix, std::size_t min, std::size_t max,
                   std::string_view suffix) {
  if (name.size() < prefix.size() + suffix.size() || !name.starts_with(prefix) ||
      !name.ends_with(suffix)) {
    return false;
  }
  const std::string_view number =
      name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
  return digits(number, min, max) && (number.size() == min || number.front() != '0');
}

bool step_dir_form(std::string_view name) {
  return numbered_form(name, "step-", 12, 18, "");
}

bool checkpoint_file_form(std::string_view name) {
  return name == "MANIFEST.json" || numbered_form(name, "shard-", 5, 9, ".h5");
}

bool content_address_form(std::string_view name) {
  return name.size() == 64 && name.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

const fs::path& scratch() {
  static const fs::path dir = [] {
    std::string pattern = (fs::temp_directory_path() / "spare-fuzz-names-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) spare::fuzz::violated("cannot create a directory");
    std::atexit([] {
      std::error_code ignored;
      fs::remove_all(scratch(), ignored);
    });
    return fs::path(pattern);
  }();
  return dir;
}

void check_checkpoint_names(const std::string& step_dir, const std::string& file) {
  static const spare::pool::CheckpointVault vault(scratch() / "jobs");
  bool accepted = true;
  fs::path path;
  try {
    spare::pool::check_checkpoint_file_name(step_dir, file);
    path = vault.file_path(7, step_dir, file);
  } catch (const spare::pool::RequestError& e) {
    spare::fuzz::require(e.status() == 400, "a refused checkpoint name is a 400", e.what());
    accepted = false;
  }
  const std::string shown = fmt::format("step_dir '{}', file '{}'", step_dir, file);
  spare::fuzz::require(accepted == (step_dir_form(step_dir) && checkpoint_file_form(file)),
                       "a checkpoint name is accepted exactly when it has its form", shown);
  if (!accepted) return;
  spare::fuzz::require(spare::fuzz::plain_file_name(step_dir) && spare::fuzz::plain_file_name(file),
                       "an accepted checkpoint name is plain file names", shown);
  spare::fuzz::require(path == vault.checkpoints(7) / step_dir / file &&
                           path.lexically_normal().parent_path().parent_path() ==
                               vault.checkpoints(7).lexically_normal(),
                       "an accepted checkpoint file stays in its job's checkpoints", path.string());
}

void check_content_address(const std::string& hex) {
  static const spare::pool::InputStore store(scratch() / "inputs");
  bool accepted = true;
  fs::path path;
  try {
    spare::pool::check_content_address(hex);
    path = store.path(hex);
  } catch (const spare::pool::RequestError& e) {
    spare::fuzz::require(e.status() == 400, "a refused content address is a 400", e.what());
    accepted = false;
  }
  spare::fuzz::require(accepted == content_address_form(hex),
                       "a content address is accepted exactly when it is 64 lowercase hex digits",
                       hex);
  if (!accepted) return;
  spare::fuzz::require(
      spare::fuzz::plain_file_name(hex) &&
          path.lexically_normal() == (scratch() / "inputs" / hex).lexically_normal(),
      "an accepted input stays in the store", path.string());
}

/// `text` with `special` bytes %-encoded: what must be, so never longer than
/// the target it was decoded from.
std::string percent_encoded(const std::string& text, std::string_view special) {
  std::string out;
  for (const char c : text) {
    if (special.find(c) == std::string_view::npos) {
      out += c;
    } else {
      out += fmt::format("%{:02X}", static_cast<unsigned char>(c));
    }
  }
  return out;
}

void check_request_target(const std::string& target) {
  namespace detail = spare::pool::detail;
  detail::RequestTarget parsed;
  try {
    parsed = detail::parse_request_target(target);
  } catch (const spare::pool::RequestError& e) {
    const bool long_path = target.starts_with('/') &&
                           std::min(target.find('?'), target.size()) > detail::kMaxPathBytes;
    spare::fuzz::require(e.status() == (long_path ? 414 : 400),
                         "a refused request target is a 400, or a 414 for a path too long",
                         e.what());
    return;
  }
  spare::fuzz::require(
      parsed.path.starts_with('/') && parsed.path.find('\0') == std::string::npos &&
          parsed.path.size() <= detail::kMaxPathBytes,
      "a decoded path starts with '/', holds no NUL and is not too long", parsed.path);
  std::string encoded = percent_encoded(parsed.path, "%?");
  std::string separator = "?";
  for (const auto& [name, value] : parsed.query) {
    spare::fuzz::require(!name.empty() && name.find('\0') == std::string::npos &&
                             value.find('\0') == std::string::npos,
                         "a decoded query has names and no NUL", name);
    encoded += separator + percent_encoded(name, "%&=+") + "=" + percent_encoded(value, "%&=+");
    separator = "&";
  }
  detail::RequestTarget again;
  try {
    again = detail::parse_request_target(encoded);
  } catch (const spare::pool::RequestError& e) {
    spare::fuzz::violated("the %-encoding of a decoded target parses", e.what());
  }
  spare::fuzz::require(again.path == parsed.path && again.query == parsed.query,
                       "a decoded target reads back the same from its %-encoding", encoded);
}

void check_byte_size(const std::string& text) {
  std::int64_t bytes = 0;
  try {
    bytes = spare::pool::parse_byte_size(text);
  } catch (const spare::UsageError&) {
    return;
  }
  spare::fuzz::require(bytes >= 1, "an accepted size is at least one byte",
                       fmt::format("'{}' -> {}", text, bytes));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::vector<std::string> words = spare::fuzz::split_at_nul(spare::fuzz::bytes(data, size));
  for (const std::string& word : words) {
    check_request_target(word);
    check_checkpoint_names(word, "MANIFEST.json");
    check_checkpoint_names("step-000000001000", word);
    check_content_address(word);
    check_byte_size(word);
  }
  if (words.size() >= 2) check_checkpoint_names(words[0], words[1]);
  return 0;
}
