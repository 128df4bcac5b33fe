// Parsing and describing typed parameter values.
#include "spare/params.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>

namespace spare {

ParamSpec ParamSpec::integer(std::string name, std::string description,
                             std::optional<std::int64_t> default_value, ParamRange range) {
  ParamSpec spec{std::move(name), ParamType::integer, std::move(description), {}, range};
  if (default_value) spec.default_value = *default_value;
  return spec;
}

ParamSpec ParamSpec::real(std::string name, std::string description,
                          std::optional<double> default_value, ParamRange range, std::string unit) {
  ParamSpec spec{std::move(name), ParamType::real, std::move(description), {}, range};
  if (default_value) spec.default_value = *default_value;
  spec.unit = std::move(unit);
  return spec;
}

ParamSpec ParamSpec::boolean(std::string name, std::string description, bool default_value) {
  return ParamSpec{std::move(name), ParamType::boolean, std::move(description), default_value};
}

ParamSpec ParamSpec::text(std::string name, std::string description,
                          std::optional<std::string> default_value) {
  ParamSpec spec{std::move(name), ParamType::string, std::move(description)};
  if (default_value) spec.default_value = std::move(*default_value);
  return spec;
}

ParamSpec ParamSpec::choice(std::string name, std::string description,
                            std::vector<std::string> choices, std::string default_value) {
  ParamSpec spec{std::move(name), ParamType::choice, std::move(description),
                 std::move(default_value)};
  spec.choices = std::move(choices);
  return spec;
}

ParamSpec ParamSpec::input_file(std::string name, std::string description) {
  return ParamSpec{std::move(name), ParamType::file, std::move(description), std::string()};
}

std::string type_name(ParamType type) {
  switch (type) {
    case ParamType::integer:
      return "integer";
    case ParamType::real:
      return "real";
    case ParamType::boolean:
      return "boolean";
    case ParamType::string:
      return "string";
    case ParamType::choice:
      return "choice";
    case ParamType::file:
      return "file";
  }
  return "?";
}

namespace {

std::string trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(" \t\r\n");
  return std::string(text.substr(first, last - first + 1));
}

std::string format_bound(double value, ParamType type) {
  if (type == ParamType::integer) return fmt::format("{}", static_cast<std::int64_t>(value));
  return fmt::format("{}", value);
}

std::string describe_range(const ParamSpec& spec) {
  const ParamRange& r = spec.range;
  std::string text;
  if (r.min)
    text += fmt::format(" {} {}", r.min_open ? ">" : ">=", format_bound(*r.min, spec.type));
  if (r.min && r.max) text += " and";
  if (r.max)
    text += fmt::format(" {} {}", r.max_open ? "<" : "<=", format_bound(*r.max, spec.type));
  return text;
}

bool in_range(const ParamRange& r, double value) {
  if (r.min && (r.min_open ? value <= *r.min : value < *r.min)) return false;
  if (r.max && (r.max_open ? value >= *r.max : value > *r.max)) return false;
  return true;
}

[[noreturn]] void reject(const ParamSpec& spec, std::string_view found,
                         std::string_view note = {}) {
  throw std::invalid_argument(fmt::format("expected {}, found '{}'{}{}", describe_expected(spec),
                                          found, note.empty() ? "" : "; ", note));
}

/// Why `text` is not an integer, where a person may have meant one: "1e9" reads
/// as a number elsewhere, and a value beyond int64 must not wrap into a small one.
std::string integer_note(const std::string& text) {
  const char* last = text.data() + text.size();
  std::int64_t integer = 0;
  const auto digits = std::from_chars(text.data(), last, integer);
  if (digits.ec == std::errc::result_out_of_range && digits.ptr == last) {
    return "more than a 64-bit integer holds";
  }
  double value = 0;
  const auto number = std::from_chars(text.data(), last, value);
  constexpr double kTwoTo63 = 9223372036854775808.0;
  if (number.ec != std::errc() || number.ptr != last || value != std::floor(value) ||
      std::fabs(value) >= kTwoTo63) {
    return {};
  }
  return fmt::format("integers are written in digits: {}", static_cast<std::int64_t>(value));
}

}  // namespace

std::string describe_expected(const ParamSpec& spec) {
  std::string text;
  switch (spec.type) {
    case ParamType::integer:
      text = "an integer" + describe_range(spec);
      break;
    case ParamType::real:
      text = "a number" + describe_range(spec);
      break;
    case ParamType::boolean:
      text = "true or false";
      break;
    case ParamType::string:
      text = "a non-empty string";
      break;
    case ParamType::choice:
      text = fmt::format("one of: {}", fmt::join(spec.choices, ", "));
      break;
    case ParamType::file:
      text = "the path of an existing file (a relative one starts from the job file's directory)";
      break;
  }
  for (const auto& [word, value] : spec.keywords) {
    text += fmt::format(", or '{}'", word);
  }
  return text;
}

ParamType param_type_from_name(const std::string& name) {
  for (ParamType type : {ParamType::integer, ParamType::real, ParamType::boolean, ParamType::string,
                         ParamType::choice, ParamType::file}) {
    if (type_name(type) == name) return type;
  }
  throw std::invalid_argument("unknown parameter type '" + name + "'");
}

ParamValue parse_param(const ParamSpec& spec, std::string_view raw) {
  const std::string text = trim(raw);
  for (const auto& [word, value] : spec.keywords) {
    if (text == word) return value;
  }
  const char* first = text.data();
  const char* last = text.data() + text.size();
  switch (spec.type) {
    case ParamType::integer: {
      std::int64_t value = 0;
      auto [end, ec] = std::from_chars(first, last, value);
      if (text.empty() || ec != std::errc() || end != last) {
        reject(spec, text, integer_note(text));
      }
      if (!in_range(spec.range, static_cast<double>(value))) reject(spec, text);
      return value;
    }
    case ParamType::real: {
      double value = 0;
      auto [end, ec] = std::from_chars(first, last, value);
      if (text.empty() || ec != std::errc() || end != last || !std::isfinite(value)) {
        reject(spec, text);
      }
      if (!in_range(spec.range, value)) reject(spec, text);
      return value;
    }
    case ParamType::boolean: {
      std::string lower = text;
      std::transform(lower.begin(), lower.end(), lower.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      if (lower == "true" || lower == "yes" || lower == "on" || lower == "1") return true;
      if (lower == "false" || lower == "no" || lower == "off" || lower == "0") return false;
      reject(spec, text);
    }
    case ParamType::string:
      if (text.empty()) reject(spec, text);
      return text;
    case ParamType::choice:
      if (std::find(spec.choices.begin(), spec.choices.end(), text) == spec.choices.end()) {
        reject(spec, text);
      }
      return text;
    case ParamType::file:
      // Empty means not given. Whether the file exists depends on the directory
      // a relative path is taken from: load_job_spec checks it.
      return text;
  }
  reject(spec, text);
}

std::string format_param(const ParamValue& value) {
  struct Formatter {
    std::string operator()(std::int64_t v) const { return fmt::format("{}", v); }
    // {} prints the shortest text that reads back to the same double.
    std::string operator()(double v) const { return fmt::format("{}", v); }
    std::string operator()(bool v) const { return v ? "true" : "false"; }
    std::string operator()(const std::string& v) const { return v; }
  };
  return std::visit(Formatter{}, value);
}

const ParamValue& ParamSet::at(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) throw std::logic_error("no parameter named '" + name + "'");
  return it->second;
}

namespace {
template <class T>
const T& get_as(const ParamSet& set, const std::string& name) {
  const ParamValue& value = set.at(name);
  if (!std::holds_alternative<T>(value)) {
    throw std::logic_error("parameter '" + name + "' read with the wrong type");
  }
  return std::get<T>(value);
}
}  // namespace

std::int64_t ParamSet::integer(const std::string& name) const {
  return get_as<std::int64_t>(*this, name);
}
double ParamSet::real(const std::string& name) const {
  return get_as<double>(*this, name);
}
bool ParamSet::boolean(const std::string& name) const {
  return get_as<bool>(*this, name);
}
const std::string& ParamSet::text(const std::string& name) const {
  return get_as<std::string>(*this, name);
}

}  // namespace spare
