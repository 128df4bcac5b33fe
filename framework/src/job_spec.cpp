// Reading a job file. Boost.Program_options parses the syntax; the keys are
// then checked against the schema of [job], [checkpoint] and the kernel's own
// section, so every message can name the file, line, key and expectation.
#include "spare/job_spec.hpp"

#include <fmt/format.h>
#include <boost/program_options/options_description.hpp>
#include <boost/program_options/parsers.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

#include "spare/error.hpp"
#include "spare/version.hpp"

namespace spare {

const std::vector<ParamSpec>& job_section_params() {
  static const std::vector<ParamSpec> params = [] {
    std::vector<ParamSpec> p;
    p.push_back(ParamSpec::text("kernel", "the kernel to run (`spare kernels` lists them)", {}));
    p.push_back(ParamSpec::text("name", "the job's name; default: the job file's name", ""));
    p.push_back(ParamSpec::integer("steps", "steps to run in all", {}, {.min = 1}));
    ParamSpec ranks = ParamSpec::integer("ranks", "MPI ranks; auto: one per core of this machine",
                                         0, {.min = 1, .max = kMaxJobRanks});
    ranks.keywords = {{"auto", std::int64_t{0}}};
    p.push_back(ranks);
    p.push_back(
        ParamSpec::text("output", "directory for checkpoints and results; default: NAME.out", ""));
    p.push_back(ParamSpec::real("progress_interval", "seconds between progress reports", 1.0,
                                {.min = 0, .min_open = true}, "s"));
    p.push_back(ParamSpec::choice("device",
                                  "where each rank computes: auto = a GPU of its node when it has "
                                  "a usable one, else the CPU; cuda = a GPU or an error",
                                  {"auto", "cpu", "cuda"}, "auto"));
    return p;
  }();
  return params;
}

const std::vector<ParamSpec>& checkpoint_section_params() {
  static const std::vector<ParamSpec> params = [] {
    std::vector<ParamSpec> p;
    p.push_back(
        ParamSpec::integer("interval_steps", "checkpoint every N steps; 0: off", 0, {.min = 0}));
    p.push_back(ParamSpec::real("interval_seconds", "checkpoint every T seconds; 0: off", 60.0,
                                {.min = 0}, "s"));
    p.push_back(ParamSpec::integer("keep", "complete checkpoints kept on disk", 2, {.min = 1}));
    return p;
  }();
  return params;
}

const std::vector<ParamSpec>& placement_section_params() {
  static const std::vector<ParamSpec> params = [] {
    std::vector<ParamSpec> p;
    p.push_back(ParamSpec::text("failover",
                                "backends the job may run on, in order of preference (A, B, ...): "
                                "`spare submit` without --to picks among them",
                                ""));
    p.push_back(ParamSpec::text("move_when_waiting",
                                "a job queued this long (90s, 10min, 2h) moves to the next backend "
                                "of failover that can start it; 0: never",
                                "0"));
    return p;
  }();
  return params;
}

std::optional<double> parse_duration(const std::string& text) {
  static const std::pair<const char*, double> units[] = {
      {"", 1}, {"s", 1}, {"min", 60}, {"h", 3600}, {"d", 86400}};
  if (text.empty() || text.find_first_not_of("0123456789.") == 0 ||
      text.find_first_of("xX") != std::string::npos) {
    return std::nullopt;  // a number first, in decimal
  }
  std::size_t used = 0;
  double number = 0;
  try {
    number = std::stod(text, &used);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  if (!std::isfinite(number) || number < 0) return std::nullopt;
  std::string unit = text.substr(used);
  unit.erase(0, unit.find_first_not_of(' '));
  for (const auto& [name, seconds] : units) {
    if (unit == name) return number * seconds;
  }
  return std::nullopt;
}

namespace {

/// [placement] failover as names: "lab, cluster" -> {"lab", "cluster"}.
std::vector<std::string> parse_failover(const std::string& text, const std::string& source) {
  std::vector<std::string> names;
  if (text.find_first_not_of(" \t") == std::string::npos) return names;
  for (std::size_t start = 0;;) {
    const std::size_t comma = text.find(',', start);
    std::string name = text.substr(start, comma == std::string::npos ? comma : comma - start);
    name.erase(0, name.find_first_not_of(" \t"));
    name.erase(name.find_last_not_of(" \t") + 1);
    const bool word = !name.empty() && name.find_first_not_of(
                                           "abcdefghijklmnopqrstuvwxyz"
                                           "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                           "0123456789_-.") == std::string::npos;
    if (!word || std::find(names.begin(), names.end(), name) != names.end()) {
      throw JobError(
          fmt::format("{}: [placement] failover = '{}': expected backends' names, each "
                      "once, separated by commas (lab, cluster)",
                      source, text));
    }
    names.push_back(name);
    if (comma == std::string::npos) return names;
    start = comma + 1;
  }
}

/// One `key = value` with where it came from, for messages.
struct Entry {
  std::string key;  // "section.name"
  std::string value;
  std::string origin;          // "job.ini:12" or "--set heat2d.nx=64"
  std::filesystem::path base;  // where a relative file path starts: absolute
};

/// Line numbers of keys, by "section.name", in file order.
std::multimap<std::string, int> locate_keys(const std::string& text) {
  std::multimap<std::string, int> lines;
  std::istringstream in(text);
  std::string line;
  std::string section;
  for (int number = 1; std::getline(in, line); ++number) {
    line = line.substr(0, line.find('#'));
    const auto first = line.find_first_not_of(" \t");
    if (first == std::string::npos) continue;
    if (line[first] == '[') {
      const auto close = line.find(']', first);
      section = line.substr(first + 1, close == std::string::npos ? close : close - first - 1);
      continue;
    }
    const auto equals = line.find('=');
    if (equals == std::string::npos) continue;
    std::string key = line.substr(first, equals - first);
    key.erase(key.find_last_not_of(" \t") + 1);
    lines.emplace(section.empty() ? key : section + "." + key, number);
  }
  return lines;
}

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j)
    row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

const ParamSpec* find_spec(const std::vector<ParamSpec>& specs, const std::string& name) {
  for (const ParamSpec& spec : specs) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

std::string names_of(const std::vector<ParamSpec>& specs) {
  std::vector<std::string> names;
  for (const ParamSpec& spec : specs)
    names.push_back(spec.name);
  return fmt::format("{}", fmt::join(names, ", "));
}

std::string suggestion(const std::vector<ParamSpec>& specs, const std::string& name) {
  for (const ParamSpec& spec : specs) {
    if (edit_distance(spec.name, name) <= 2) return fmt::format("did you mean '{}'? ", spec.name);
  }
  return {};
}

std::vector<Entry> read_entries(std::istream& in, const std::string& source,
                                const std::filesystem::path& base) {
  const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  std::istringstream stream(text);
  boost::program_options::parsed_options parsed(nullptr);
  try {
    boost::program_options::options_description none;
    parsed = boost::program_options::parse_config_file(stream, none, /*allow_unregistered=*/true);
  } catch (const std::exception& e) {
    throw JobError(fmt::format("{}: {}", source, e.what()));
  }
  const auto lines = locate_keys(text);
  std::map<std::string, int> seen;
  std::vector<Entry> entries;
  for (const auto& option : parsed.options) {
    const std::string& key = option.string_key;
    const int occurrence = seen[key]++;
    auto [first, last] = lines.equal_range(key);
    std::optional<int> line;
    for (int i = 0; first != last; ++first, ++i) {
      if (i == occurrence) line = first->second;
    }
    const std::string origin = line ? fmt::format("{}:{}", source, *line) : source;
    if (occurrence > 0) {
      throw JobError(fmt::format("{}: key '{}' is given more than once", origin, key));
    }
    entries.push_back({key, option.value.empty() ? "" : option.value.front(), origin, base});
  }
  return entries;
}

Entry parse_override(const std::string& text) {
  const auto equals = text.find('=');
  const std::string origin = "--set " + text;
  if (equals == std::string::npos || equals == 0) {
    throw JobError(fmt::format("{}: expected SECTION.KEY=VALUE, e.g. heat2d.nx=1024", origin));
  }
  return {text.substr(0, equals), text.substr(equals + 1), origin, std::filesystem::current_path()};
}

/// A file parameter's path made absolute from the entry's base, checked to name
/// a regular file: the job file written next to the results reads back the same
/// from any directory, and a mistyped path stops the job before it starts.
std::string resolve_input_file(const std::string& section, const std::string& name,
                               const Entry& entry, const std::string& path) {
  if (path.empty()) return path;  // not given
  const std::filesystem::path absolute = (entry.base / path).lexically_normal();
  std::error_code error;
  const auto status = std::filesystem::status(absolute, error);
  std::string problem;
  if (status.type() == std::filesystem::file_type::not_found) {
    problem = "no such file";
  } else if (error) {
    problem = error.message();
  } else if (status.type() != std::filesystem::file_type::regular) {
    problem = "not a regular file";
  }
  if (!problem.empty()) {
    const std::string shown =
        absolute.string() == path ? path : fmt::format("{} ({})", path, absolute.string());
    throw JobError(fmt::format("{}: [{}] {}: {}: {}; expected the path of an existing file",
                               entry.origin, section, name, shown, problem));
  }
  return absolute.string();
}

/// The values of one section, checked against its schema.
class SectionValues {
 public:
  SectionValues(std::string section, const std::vector<ParamSpec>& specs)
      : section_(std::move(section)), specs_(specs) {}

  const std::string& section() const { return section_; }
  const std::vector<ParamSpec>& specs() const { return specs_; }

  void set(const std::string& name, const Entry& entry) {
    const ParamSpec* spec = find_spec(specs_, name);
    if (spec == nullptr) {
      throw JobError(fmt::format("{}: unknown key '{}' in [{}]; {}[{}] takes: {}", entry.origin,
                                 name, section_, suggestion(specs_, name), section_,
                                 names_of(specs_)));
    }
    ParamValue value;
    try {
      value = parse_param(*spec, entry.value);
    } catch (const std::invalid_argument& e) {
      throw JobError(fmt::format("{}: [{}] {}: {}", entry.origin, section_, name, e.what()));
    }
    if (spec->type == ParamType::file) {
      value = resolve_input_file(section_, name, entry, std::get<std::string>(value));
    }
    values_.set(name, std::move(value));
  }

  /// Fills in defaults; throws for a required key that is missing.
  ParamSet finish(const std::string& source) && {
    for (const ParamSpec& spec : specs_) {
      if (values_.contains(spec.name)) continue;
      if (!spec.default_value) {
        throw JobError(fmt::format("{}: [{}] {} is missing: expected {}", source, section_,
                                   spec.name, describe_expected(spec)));
      }
      values_.set(spec.name, *spec.default_value);
    }
    return std::move(values_);
  }

 private:
  std::string section_;
  const std::vector<ParamSpec>& specs_;
  ParamSet values_;
};

std::string locate_kernel_key(const std::vector<Entry>& entries, const std::string& source) {
  for (const Entry& entry : entries) {
    if (entry.key == "job.kernel") return entry.origin;
  }
  return source;
}

}  // namespace

JobSpec parse_job_spec(std::istream& in, const std::string& source,
                       const std::vector<std::string>& overrides, const KernelRegistry& registry,
                       const std::filesystem::path& base_dir) {
  std::vector<Entry> entries =
      read_entries(in, source, std::filesystem::absolute(base_dir.empty() ? "." : base_dir));
  for (const std::string& text : overrides) {
    Entry entry = parse_override(text);
    std::erase_if(entries, [&](const Entry& e) { return e.key == entry.key; });
    entries.push_back(std::move(entry));
  }

  for (const Entry& entry : entries) {
    if (entry.key.find('.') != std::string::npos) continue;
    std::string home = "its section";
    if (find_spec(job_section_params(), entry.key)) home = "[job]";
    if (find_spec(checkpoint_section_params(), entry.key)) home = "[checkpoint]";
    throw JobError(fmt::format("{}: '{}' is outside any section; it belongs under {}", entry.origin,
                               entry.key, home));
  }

  std::string kernel_name;
  for (const Entry& entry : entries) {
    if (entry.key == "job.kernel") kernel_name = entry.value;
  }
  kernel_name.erase(0, kernel_name.find_first_not_of(" \t"));
  kernel_name.erase(kernel_name.find_last_not_of(" \t") + 1);
  if (kernel_name.empty()) {
    throw JobError(fmt::format(
        "{}: [job] kernel is missing: expected the name of a kernel (`spare kernels` lists them)",
        source));
  }
  const KernelInfo* kernel = registry.find(kernel_name);
  if (kernel == nullptr) {
    try {
      registry.at(kernel_name);
    } catch (const JobError& e) {
      throw JobError(
          fmt::format("{}: [job] kernel: {}", locate_kernel_key(entries, source), e.what()));
    }
  }

  std::vector<SectionValues> sections{{"job", job_section_params()},
                                      {"checkpoint", checkpoint_section_params()},
                                      {"placement", placement_section_params()},
                                      {kernel->name, kernel->params}};
  for (const Entry& entry : entries) {
    const auto dot = entry.key.find('.');
    const std::string section = entry.key.substr(0, dot);
    const std::string name = entry.key.substr(dot + 1);
    auto it = std::find_if(sections.begin(), sections.end(),
                           [&](const SectionValues& s) { return s.section() == section; });
    if (it == sections.end()) {
      throw JobError(
          fmt::format("{}: unknown section [{}]; a {} job has [job], [checkpoint], "
                      "[placement] and [{}]",
                      entry.origin, section, kernel->name, kernel->name));
    }
    it->set(name, entry);
  }

  const ParamSet job = std::move(sections[0]).finish(source);
  const ParamSet checkpoint = std::move(sections[1]).finish(source);
  const ParamSet placement = std::move(sections[2]).finish(source);
  JobSpec spec;
  spec.source = source;
  spec.kernel = kernel->name;
  spec.params = std::move(sections[3]).finish(source);
  spec.name = job.text("name");
  if (spec.name.empty()) spec.name = std::filesystem::path(source).stem().string();
  spec.steps = job.integer("steps");
  spec.ranks = job.integer("ranks");
  spec.output = job.text("output");
  if (spec.output.empty()) spec.output = spec.name + ".out";
  spec.progress_interval = job.real("progress_interval");
  spec.device = parse_device_request(job.text("device"));
  spec.checkpoint.interval_steps = checkpoint.integer("interval_steps");
  spec.checkpoint.interval_seconds = checkpoint.real("interval_seconds");
  spec.checkpoint.keep = checkpoint.integer("keep");
  spec.placement.failover = parse_failover(placement.text("failover"), source);
  const std::string waiting = placement.text("move_when_waiting");
  const std::optional<double> seconds = parse_duration(waiting);
  if (!seconds) {
    throw JobError(
        fmt::format("{}: [placement] move_when_waiting = '{}': expected a duration: "
                    "seconds, or a number with s, min, h or d (10min); 0: never",
                    source, waiting));
  }
  spec.placement.move_when_waiting = *seconds;
  if (*seconds > 0 && spec.placement.failover.size() < 2) {
    throw JobError(
        fmt::format("{}: [placement] move_when_waiting = {} needs failover to name at "
                    "least two backends, where the job waits and where it moves",
                    source, waiting));
  }
  return spec;
}

JobSpec load_job_spec(const std::filesystem::path& file, const std::vector<std::string>& overrides,
                      const KernelRegistry& registry) {
  std::ifstream in(file);
  if (!in) {
    throw JobError(
        fmt::format("{}: cannot read the job file: {}", file.string(),
                    std::filesystem::exists(file) ? "permission denied" : "no such file"));
  }
  return parse_job_spec(in, file.string(), overrides, registry, file.parent_path());
}

std::vector<std::pair<std::string, std::filesystem::path>> input_files(
    const JobSpec& spec, const KernelRegistry& registry) {
  std::vector<std::pair<std::string, std::filesystem::path>> files;
  for (const ParamSpec& param : registry.at(spec.kernel).params) {
    if (param.type != ParamType::file || !spec.params.contains(param.name)) continue;
    const std::string& path = spec.params.text(param.name);
    if (!path.empty()) files.emplace_back(spec.kernel + "." + param.name, path);
  }
  return files;
}

namespace {

/// `value` as a job file writes it, refused if it would not read back the same:
/// a job file takes '#' anywhere as the start of a comment and trims values.
std::string ini_value(const std::string& key, const std::string& value) {
  const bool trimmed = value.empty() || (value.front() != ' ' && value.front() != '\t' &&
                                         value.back() != ' ' && value.back() != '\t');
  if (value.find_first_of("#\n\r") != std::string::npos || !trimmed) {
    throw JobError(fmt::format(
        "{} = '{}': a job file cannot hold this value (it reads '#' as the start of a comment, "
        "ends values at a line break and trims spaces at either end); choose a name or path "
        "without them",
        key, value));
  }
  return value;
}

}  // namespace

std::string JobSpec::to_ini() const {
  std::string text = fmt::format(
      "# The job as run by Spare {}: every key, defaults included.\n"
      "[job]\n"
      "name = {}\nkernel = {}\nsteps = {}\nranks = {}\noutput = {}\nprogress_interval = {}\n"
      "device = {}\n\n"
      "[checkpoint]\n"
      "interval_steps = {}\ninterval_seconds = {}\nkeep = {}\n\n{}[{}]\n",
      kVersion, ini_value("[job] name", name), kernel, steps,
      ranks == 0 ? std::string("auto") : std::to_string(ranks),
      ini_value("[job] output", output.string()), format_param(progress_interval),
      to_string(device), checkpoint.interval_steps, format_param(checkpoint.interval_seconds),
      checkpoint.keep,
      // A job file has no empty value: without failover, no [placement] (its defaults).
      placement.failover.empty()
          ? std::string()
          : fmt::format("[placement]\nfailover = {}\nmove_when_waiting = {}\n\n",
                        fmt::join(placement.failover, ", "),
                        format_param(placement.move_when_waiting)),
      kernel);
  for (const auto& [key, value] : params.values()) {
    text += fmt::format("{} = {}\n", key,
                        ini_value(fmt::format("[{}] {}", kernel, key), format_param(value)));
  }
  return text;
}

}  // namespace spare
