// Reading backends.ini: sections, keys with their lines, each type's keys.
#include "backends_file.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>

#include "job_handle.hpp"
#include "spare/error.hpp"

namespace spare::launcher {

namespace fs = std::filesystem;

namespace {

struct TypeKeys {
  BackendType type;
  const char* name;
  std::vector<std::string> required;
  std::vector<std::string> optional;
};

const std::vector<TypeKeys>& type_keys() {
  static const std::vector<TypeKeys> table{
      {BackendType::local, "local", {}, {}},
      {BackendType::pool, "pool", {"url", "token_file", "fingerprint"}, {}},
      {BackendType::slurm,
       "slurm",
       {"partition", "workdir"},
       {"account", "time", "qos", "gres", "ntasks", "signal_lead", "sbatch_options", "spare",
        "poll_seconds"}},
  };
  return table;
}

const TypeKeys& keys_of(BackendType type) {
  for (const TypeKeys& keys : type_keys()) {
    if (keys.type == type) return keys;
  }
  throw Error(ExitCode::internal, "a backend type without keys");
}

std::string trimmed(const std::string& text) {
  const auto first = text.find_first_not_of(" \t\r");
  if (first == std::string::npos) return {};
  const auto last = text.find_last_not_of(" \t\r");
  return text.substr(first, last - first + 1);
}

fs::path home_directory() {
  const char* home = std::getenv("HOME");
  if (home == nullptr || *home == '\0') {
    throw UsageError("$HOME is not set: cannot find ~/.config/spare or expand '~/'");
  }
  return home;
}

struct RawSection {
  std::string name;
  int line = 0;
  std::map<std::string, BackendSetting> settings;
};

std::vector<RawSection> read_sections(const fs::path& file) {
  std::ifstream in(file);
  if (!in) throw UsageError(fmt::format("cannot read {}", file.string()));
  std::vector<RawSection> sections;
  std::string text;
  for (int number = 1; std::getline(in, text); ++number) {
    const std::string line = trimmed(text.substr(0, text.find('#')));
    if (line.empty()) continue;
    const std::string where = fmt::format("{}:{}", file.string(), number);
    if (line.front() == '[') {
      const std::string name = line.back() == ']' ? line.substr(1, line.size() - 2) : std::string();
      if (!is_backend_name(name)) {
        throw UsageError(fmt::format(
            "{}: expected a section [NAME] of letters, digits, '-', '_' or '.', found '{}'", where,
            line));
      }
      for (const RawSection& seen : sections) {
        if (seen.name == name) {
          throw UsageError(fmt::format("{}: [{}] again (first at line {}): one section a backend",
                                       where, name, seen.line));
        }
      }
      sections.push_back({name, number, {}});
      continue;
    }
    const auto equals = line.find('=');
    if (equals == std::string::npos) {
      throw UsageError(fmt::format("{}: expected KEY = VALUE or [NAME], found '{}'", where, line));
    }
    if (sections.empty()) {
      throw UsageError(
          fmt::format("{}: '{}' comes before any [NAME]: each key belongs to a backend's section",
                      where, line));
    }
    const std::string key = trimmed(line.substr(0, equals));
    RawSection& section = sections.back();
    if (auto [it, added] =
            section.settings.emplace(key, BackendSetting{trimmed(line.substr(equals + 1)), number});
        !added) {
      throw UsageError(fmt::format("{}: [{}] {} again (first at line {})", where, section.name, key,
                                   it->second.line));
    }
  }
  return sections;
}

BackendSection checked_section(RawSection raw, const fs::path& file) {
  const std::string where = fmt::format("{}:{}: [{}]", file.string(), raw.line, raw.name);
  std::vector<std::string> type_names;
  for (const TypeKeys& keys : type_keys())
    type_names.push_back(keys.name);
  const auto type_setting = raw.settings.find("type");
  if (type_setting == raw.settings.end()) {
    throw UsageError(
        fmt::format("{}: no type: expected type = {}", where, fmt::join(type_names, " | ")));
  }
  const auto type = std::find_if(type_keys().begin(), type_keys().end(), [&](const TypeKeys& k) {
    return type_setting->second.value == k.name;
  });
  if (type == type_keys().end()) {
    throw UsageError(fmt::format("{}:{}: [{}] type: expected {}, found '{}'", file.string(),
                                 type_setting->second.line, raw.name, fmt::join(type_names, " | "),
                                 type_setting->second.value));
  }
  for (const auto& [key, setting] : raw.settings) {
    const bool known = key == "type" ||
                       std::count(type->required.begin(), type->required.end(), key) > 0 ||
                       std::count(type->optional.begin(), type->optional.end(), key) > 0;
    if (!known) {
      std::vector<std::string> takes = type->required;
      takes.insert(takes.end(), type->optional.begin(), type->optional.end());
      throw UsageError(fmt::format(
          "{}:{}: [{}] unknown key '{}' for a {} backend; it takes: {}", file.string(),
          setting.line, raw.name, key, type->name,
          takes.empty() ? std::string("type only") : fmt::format("{}", fmt::join(takes, ", "))));
    }
    if (setting.value.empty()) {
      throw UsageError(
          fmt::format("{}:{}: [{}] {}: no value", file.string(), setting.line, raw.name, key));
    }
  }
  for (const std::string& key : type->required) {
    if (!raw.settings.count(key)) {
      throw UsageError(fmt::format("{}: a {} backend needs {} (it takes: {})", where, type->name,
                                   key, fmt::join(type->required, ", ")));
    }
  }
  return BackendSection(raw.name, type->type, file, raw.line, std::move(raw.settings));
}

}  // namespace

const char* to_string(BackendType type) {
  return keys_of(type).name;
}

BackendSection::BackendSection(std::string name, BackendType type, fs::path file, int line,
                               std::map<std::string, BackendSetting> settings)
    : name_(std::move(name)),
      type_(type),
      file_(std::move(file)),
      line_(line),
      settings_(std::move(settings)) {}

std::string BackendSection::where() const {
  return fmt::format("{}:{}: [{}]", file_.string(), line_, name_);
}

std::string BackendSection::required(const std::string& key) const {
  if (auto value = optional(key)) return *value;
  throw UsageError(fmt::format("{}: a {} backend needs {}", where(), to_string(type_), key));
}

std::optional<std::string> BackendSection::optional(const std::string& key) const {
  const auto it = settings_.find(key);
  if (it == settings_.end()) return std::nullopt;
  return it->second.value;
}

std::optional<fs::path> BackendSection::path(const std::string& key) const {
  const std::optional<std::string> value = optional(key);
  if (!value) return std::nullopt;
  if (value->rfind("~/", 0) == 0) return home_directory() / value->substr(2);
  const fs::path given(*value);
  return given.is_absolute() ? given : fs::absolute(file_).parent_path() / given;
}

std::int64_t BackendSection::integer(const std::string& key, std::int64_t fallback,
                                     std::int64_t minimum, std::int64_t maximum) const {
  const auto it = settings_.find(key);
  if (it == settings_.end()) return fallback;
  try {
    std::size_t used = 0;
    const std::int64_t value = std::stoll(it->second.value, &used);
    if (used == it->second.value.size() && value >= minimum && value <= maximum) return value;
  } catch (const std::exception&) {
  }
  throw UsageError(fmt::format("{}:{}: [{}] {}: expected a whole number from {} to {}, found '{}'",
                               file_.string(), it->second.line, name_, key, minimum, maximum,
                               it->second.value));
}

BackendsFileChoice choose_backends_file(const std::optional<std::string>& explicit_file) {
  if (explicit_file) return {*explicit_file, true};
  if (const char* value = std::getenv("SPARE_BACKENDS"); value != nullptr && *value != '\0') {
    return {value, true};
  }
  const char* config = std::getenv("XDG_CONFIG_HOME");
  const fs::path root =
      config != nullptr && *config != '\0' ? fs::path(config) : home_directory() / ".config";
  return {root / "spare" / "backends.ini", false};
}

std::vector<BackendSection> load_backends(const BackendsFileChoice& choice) {
  if (!choice.named && !fs::exists(choice.file)) {
    return {BackendSection("local", BackendType::local, choice.file, 0, {})};
  }
  if (!fs::is_regular_file(choice.file)) {
    throw UsageError(
        fmt::format("{}: no such backends file (name the places to run in it: see `spare "
                    "backends --help`)",
                    choice.file.string()));
  }
  std::vector<BackendSection> backends;
  for (RawSection& raw : read_sections(choice.file)) {
    backends.push_back(checked_section(std::move(raw), choice.file));
  }
  if (backends.empty()) {
    throw UsageError(
        fmt::format("{}: no backend in it: expected sections such as [laptop] with "
                    "type = local",
                    choice.file.string()));
  }
  return backends;
}

const BackendSection& find_backend(const std::vector<BackendSection>& backends,
                                   const std::string& name, const fs::path& file) {
  std::vector<std::string> names;
  for (const BackendSection& backend : backends) {
    if (backend.name() == name) return backend;
    names.push_back(backend.name());
  }
  throw UsageError(fmt::format("unknown backend '{}': {} names {}", name, file.string(),
                               fmt::join(names, ", ")));
}

}  // namespace spare::launcher
