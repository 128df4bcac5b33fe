// backends.ini: the places a scientist can run, one section each, checked
// key by key against its type's keys (errors name file:line, section, key and
// what was expected):
//
//   [laptop]                      [lab]                       [cluster]
//   type = local                  type = pool                 type = slurm
//                                 url = https://pool:7350     partition = debug
//                                 token_file = ~/lab.token    workdir = /scratch/spare
//                                 fingerprint = sha256:...    account, time, qos, gres, ...
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace spare::launcher {

enum class BackendType { local, pool, slurm };

const char* to_string(BackendType type);

struct BackendSetting {
  std::string value;
  int line = 0;
};

/// One section of backends.ini, its keys checked against its type.
class BackendSection {
 public:
  BackendSection(std::string name, BackendType type, std::filesystem::path file, int line,
                 std::map<std::string, BackendSetting> settings);

  const std::string& name() const { return name_; }
  BackendType type() const { return type_; }
  /// "FILE:LINE: [NAME]", the start of every message about this section.
  std::string where() const;

  /// The key's value; throws UsageError naming the section and what it is for.
  std::string required(const std::string& key) const;
  std::optional<std::string> optional(const std::string& key) const;
  /// A path: "~/" is the home directory; relative paths start from the file's directory.
  std::optional<std::filesystem::path> path(const std::string& key) const;
  /// A whole number in [minimum, maximum], or `fallback` when the key is absent.
  std::int64_t integer(const std::string& key, std::int64_t fallback, std::int64_t minimum,
                       std::int64_t maximum) const;

 private:
  std::string name_;
  BackendType type_;
  std::filesystem::path file_;
  int line_;
  std::map<std::string, BackendSetting> settings_;
};

/// The file `spare` reads: `explicit_file` (--backends), else $SPARE_BACKENDS,
/// else $XDG_CONFIG_HOME/spare/backends.ini (~/.config/spare/backends.ini).
/// `explicit` says whether the scientist named it (then it must exist).
struct BackendsFileChoice {
  std::filesystem::path file;
  bool named = false;
};
BackendsFileChoice choose_backends_file(const std::optional<std::string>& explicit_file);

/// Reads and checks every section. A file that is not there, when not named,
/// means one backend: [local] type = local.
std::vector<BackendSection> load_backends(const BackendsFileChoice& choice);

/// `name`'s section; throws UsageError listing the names there are.
const BackendSection& find_backend(const std::vector<BackendSection>& backends,
                                   const std::string& name, const std::filesystem::path& file);

}  // namespace spare::launcher
