// Typed, validated parameters: the schema of a job file's keys and the values
// read against it. Kernels declare their parameters with the same schema.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace spare {

/// `file`: the path of an input file (HDF5) that the job reads; a string value,
/// empty when not given. Job files resolve it to an absolute path (job_spec.hpp).
enum class ParamType { integer, real, boolean, string, choice, file };

using ParamValue = std::variant<std::int64_t, double, bool, std::string>;

/// Bounds of an integer or real parameter; open bounds exclude the limit itself.
struct ParamRange {
  std::optional<double> min;
  std::optional<double> max;
  bool min_open = false;
  bool max_open = false;
};

struct ParamSpec {
  std::string name;
  ParamType type = ParamType::string;
  std::string description;
  std::optional<ParamValue> default_value;  // none: the key is required
  ParamRange range;
  std::vector<std::string> choices;  // for ParamType::choice
  std::string unit;                  // shown in listings, e.g. "s" or "m^2/s"
  /// Words accepted in place of a value, e.g. {"auto", 0} for `ranks = auto`.
  std::vector<std::pair<std::string, ParamValue>> keywords;

  static ParamSpec integer(std::string name, std::string description,
                           std::optional<std::int64_t> default_value, ParamRange range = {});
  static ParamSpec real(std::string name, std::string description,
                        std::optional<double> default_value, ParamRange range = {},
                        std::string unit = {});
  static ParamSpec boolean(std::string name, std::string description, bool default_value);
  static ParamSpec text(std::string name, std::string description,
                        std::optional<std::string> default_value);
  static ParamSpec choice(std::string name, std::string description,
                          std::vector<std::string> choices, std::string default_value);
  /// An input file; optional: the default, an empty path, means "not given".
  static ParamSpec input_file(std::string name, std::string description);
};

/// Parses `text` against `spec`. Throws std::invalid_argument whose message is
/// what was expected, e.g. "expected an integer >= 3, found '-5'".
ParamValue parse_param(const ParamSpec& spec, std::string_view text);

/// "an integer >= 3 and <= 65536", "one of: call, put", ... for messages and listings.
std::string describe_expected(const ParamSpec& spec);
std::string type_name(ParamType type);
/// The type called `name` by type_name; throws std::invalid_argument otherwise.
ParamType param_type_from_name(const std::string& name);

/// Text that parse_param reads back to the same value (reals with 17 digits).
std::string format_param(const ParamValue& value);

/// A set of parameter values by name, all validated against their specs.
class ParamSet {
 public:
  void set(const std::string& name, ParamValue value) { values_[name] = std::move(value); }
  bool contains(const std::string& name) const { return values_.count(name) != 0; }
  const ParamValue& at(const std::string& name) const;

  std::int64_t integer(const std::string& name) const;
  double real(const std::string& name) const;
  bool boolean(const std::string& name) const;
  const std::string& text(const std::string& name) const;  // string, choice and file parameters

  const std::map<std::string, ParamValue>& values() const { return values_; }
  bool operator==(const ParamSet&) const = default;

 private:
  std::map<std::string, ParamValue> values_;
};

}  // namespace spare
