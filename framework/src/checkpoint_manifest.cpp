// Manifests as JSON. The manifest carries an XXH3-128 of its own canonical
// form (compact, keys sorted), so a damaged manifest is refused, not believed.
#include "spare/checkpoint_manifest.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <stdexcept>

#include "spare/atomic_file.hpp"
#include "spare/checked_math.hpp"
#include "spare/error.hpp"
#include "spare/output_layout.hpp"
#include "spare/version.hpp"

namespace spare {

using nlohmann::json;

namespace {

constexpr const char* kSelfDigestKey = "manifest_xxh3_128";

Digest self_digest(const json& manifest_without_digest) {
  const std::string canonical = manifest_without_digest.dump();
  return digest_bytes(canonical.data(), canonical.size());
}

// JSON has no NaN or infinity (nlohmann writes them as null, which reads back
// as no number): a non-finite double is written as the hex of its bits, so a
// checkpoint whose residual or sum went NaN restores, bit for bit.
json real_to_json(double value) {
  if (std::isfinite(value)) return value;
  return fmt::format("0x{:016x}", std::bit_cast<std::uint64_t>(value));
}

json reals_to_json(const std::vector<double>& values) {
  json array = json::array();
  for (const double value : values)
    array.push_back(real_to_json(value));
  return array;
}

json reals_to_json(const std::map<std::string, double>& values) {
  json object = json::object();
  for (const auto& [name, value] : values)
    object[name] = real_to_json(value);
  return object;
}

json param_to_json(const ParamValue& value) {
  return std::visit([](const auto& v) { return json(v); }, value);
}

}  // namespace

json params_to_json(const ParamSet& params) {
  json object = json::object();
  for (const auto& [name, value] : params.values())
    object[name] = param_to_json(value);
  return object;
}

ParamSet params_from_json(const json& object) {
  ParamSet params;
  for (const auto& [name, value] : object.items()) {
    if (value.is_boolean()) {
      params.set(name, value.get<bool>());
    } else if (value.is_number_integer()) {
      params.set(name, value.get<std::int64_t>());
    } else if (value.is_number_float()) {
      params.set(name, value.get<double>());
    } else if (value.is_string()) {
      params.set(name, value.get<std::string>());
    } else {
      throw CheckpointError("parameter '" + name + "' has a value of unknown type");
    }
  }
  return params;
}

RunDescription describe_run(const JobSpec& spec, const KernelRegistry& registry) {
  RunDescription run{kVersion, spec.name, spec.kernel, spec.params,
                     0,        0.0,       {},          registry.at(spec.kernel).revision};
  for (const auto& [key, path] : input_files(spec, registry)) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      throw Error(ExitCode::run_failed,
                  fmt::format("{}: cannot read input {}: {}", spec.source, key, path.string()));
    }
    DigestStream digest;
    std::vector<char> buffer(1 << 20);
    while (in.read(buffer.data(), static_cast<std::streamsize>(buffer.size())) || in.gcount() > 0)
      digest.update(buffer.data(), static_cast<std::size_t>(in.gcount()));
    if (in.bad()) {
      throw Error(ExitCode::run_failed,
                  fmt::format("{}: cannot read input {}: {}", spec.source, key, path.string()));
    }
    run.params.set(key.substr(spec.kernel.size() + 1), "xxh3-128:" + digest.finish().hex());
  }
  return run;
}

std::optional<std::string> describe_job_mismatch(const RunDescription& found,
                                                 const RunDescription& wanted) {
  if (found.kernel != wanted.kernel) {
    return fmt::format("it holds a {} job, this job runs {}", found.kernel, wanted.kernel);
  }
  if (found.kernel_revision != wanted.kernel_revision) {
    return fmt::format(
        "it was computed by revision {} of {}'s arithmetic, this Spare has revision {}, whose "
        "results would not continue its bits",
        found.kernel_revision, found.kernel, wanted.kernel_revision);
  }
  std::set<std::string> names;
  for (const auto& [name, value] : found.params.values())
    names.insert(name);
  for (const auto& [name, value] : wanted.params.values())
    names.insert(name);
  for (const std::string& name : names) {
    const auto text = [&](const ParamSet& set) {
      return set.contains(name) ? format_param(set.at(name)) : std::string("unset");
    };
    const bool same = found.params.contains(name) && wanted.params.contains(name) &&
                      found.params.at(name) == wanted.params.at(name);
    if (!same) {
      return fmt::format("[{}] {} is {} there and {} here", wanted.kernel, name, text(found.params),
                         text(wanted.params));
    }
  }
  return std::nullopt;
}

std::optional<Index> checked_data_bytes(DType dtype, const std::vector<Index>& extents) {
  std::optional<Index> bytes = static_cast<Index>(dtype_size(dtype));
  for (Index extent : extents) {
    if (bytes) bytes = extent < 0 ? std::nullopt : checked_mul(*bytes, extent);
  }
  return bytes;
}

const DatasetRecord* Manifest::find_dataset(const std::string& name) const {
  for (const DatasetRecord& d : datasets) {
    if (d.name == name) return &d;
  }
  return nullptr;
}

std::uint64_t Manifest::data_bytes() const {
  std::uint64_t bytes = 0;
  for (const ShardRecord& shard : shards) {
    for (const BlockRecord& block : shard.blocks) {
      const DatasetRecord* dataset = find_dataset(block.dataset);
      if (dataset != nullptr) {
        bytes += static_cast<std::uint64_t>(block.box.volume()) * dtype_size(dataset->dtype);
      }
    }
  }
  return bytes;
}

namespace {

// An exact sum is stored as its words, with its rounded value for people.
json scalar_to_json(const Scalar& s) {
  json out = {{"name", s.name}};
  if (const auto* sum = std::get_if<ExactSum>(&s.value)) {
    std::vector<std::int64_t> words(ExactSum::kWords);
    sum->to_words(words.data());
    out["type"] = "exact_sum";
    out["value"] = real_to_json(sum->value());
    out["words"] = words;
  } else if (const auto* integer = std::get_if<std::int64_t>(&s.value)) {
    out["type"] = "i64";
    out["value"] = *integer;
  } else {
    out["type"] = "f64";
    out["value"] = real_to_json(std::get<double>(s.value));
  }
  return out;
}

constexpr std::int64_t kInt64Min = std::numeric_limits<std::int64_t>::min();
constexpr std::int64_t kInt64Max = std::numeric_limits<std::int64_t>::max();

/// One JSON value of a manifest and where it lies in it ("shards[2].blocks[0].count"):
/// every refusal names the manifest, the member, what was found and what was expected.
/// Manifests come from untrusted volunteers, so nothing is taken on trust: not a
/// type, a length, a count or the range of a number (nlohmann's get<int> wraps).
/// The place is kept as the keys and indices that lead to the value, and spelt
/// out only for a refusal: a manifest of many shards is read without a string
/// built for each of its members.
class Node {
 public:
  Node(const json& value, const std::string& source) : value_(&value), source_(&source) {}

  const json& value() const { return *value_; }

  [[noreturn]] void refuse(const std::string& found, const std::string& expected) const {
    throw CheckpointError(
        fmt::format("{}: {} is {}, expected {}", *source_, where(), found, expected));
  }

  bool has(const std::string& key) const { return value_->is_object() && value_->contains(key); }

  Node at(const std::string& key) const {
    if (!value_->is_object()) refuse(kind(), "an object");
    const auto it = value_->find(key);
    if (it == value_->end()) {
      throw CheckpointError(
          fmt::format("{}: {} is missing", *source_, child(*value_, &key).where()));
    }
    return child(*it, &it.key());
  }

  /// Calls `fn` with each entry of an array of `least` to `most` of them.
  template <class Fn>
  void each(std::size_t least, std::size_t most, Fn&& fn) const {
    if (!value_->is_array()) refuse(kind(), "an array");
    const std::size_t n = value_->size();
    if (n < least || n > most) {
      refuse(fmt::format("an array of {} entries", n),
             least == most ? fmt::format("{} entries", least)
                           : fmt::format("{} to {} entries", least, most));
    }
    for (std::size_t i = 0; i < n; ++i)
      fn(child((*value_)[i], nullptr, i));
  }

  /// Calls `fn` with the key and value of each member of an object used as a
  /// map (parameters, diagnostics): at most `most` of them, each key a name.
  template <class Fn>
  void each_entry(std::size_t most, Fn&& fn) const {
    if (!value_->is_object()) refuse(kind(), "an object");
    if (value_->size() > most) {
      refuse(fmt::format("an object of {} members", value_->size()),
             fmt::format("at most {}", most));
    }
    for (auto it = value_->begin(); it != value_->end(); ++it) {
      const std::string& key = it.key();
      if (key.empty() || key.size() > kMaxNameLength) {
        refuse(fmt::format("an object with a key of {} characters", key.size()),
               fmt::format("keys of 1 to {}", kMaxNameLength));
      }
      fn(key, child(*it, &key));
    }
  }

  std::string text(std::size_t most) const {
    if (!value_->is_string()) refuse(kind(), "a string");
    const auto& text = value_->get_ref<const std::string&>();
    if (text.size() > most) {
      refuse(fmt::format("a string of {} characters", text.size()),
             fmt::format("at most {}", most));
    }
    return text;
  }

  /// A name: 1 to kMaxNameLength characters.
  std::string name() const {
    std::string text = this->text(kMaxNameLength);
    if (text.empty()) refuse("empty", "a name");
    return text;
  }

  std::int64_t integer(std::int64_t least, std::int64_t most) const {
    if (!value_->is_number_integer()) refuse(kind(), "an integer");
    const bool too_large =
        value_->is_number_unsigned() && value_->get<std::uint64_t>() > std::uint64_t{kInt64Max};
    const std::int64_t v = too_large ? kInt64Max : value_->get<std::int64_t>();
    if (too_large || v < least || v > most) {
      refuse(value_->dump(), fmt::format("an integer from {} to {}", least, most));
    }
    return v;
  }

  /// A number, or the bits of a non-finite one as real_to_json writes them.
  double real() const {
    if (value_->is_number()) return value_->get<double>();
    constexpr const char* kExpected = "a number, or a non-finite one's bits (0x and 16 hex digits)";
    if (!value_->is_string()) refuse(kind(), kExpected);
    const std::string& text = value_->get_ref<const std::string&>();
    std::uint64_t bits = 0;
    const char* last = text.data() + text.size();
    const bool hex = text.size() == 18 && text.starts_with("0x") &&
                     std::from_chars(text.data() + 2, last, bits, 16).ptr == last;
    const double value = std::bit_cast<double>(bits);
    if (!hex || std::isfinite(value)) refuse("'" + text + "'", kExpected);
    return value;
  }

  bool boolean() const {
    if (!value_->is_boolean()) refuse(kind(), "true or false");
    return value_->get<bool>();
  }

  /// 1 to kMaxDims integers, each at least `least`: an offset, a count or a shape.
  std::vector<Index> indices(Index least) const {
    std::vector<Index> out;
    each(1, kMaxDims, [&](const Node& item) { out.push_back(item.integer(least, kInt64Max)); });
    return out;
  }

  std::string kind() const { return fmt::format("of type {}", value_->type_name()); }

 private:
  // A step from a value to one it holds: a member's key (in the JSON, which
  // outlives every Node of it) or an array's index.
  struct Step {
    const std::string* key;
    std::size_t index;
  };
  static constexpr std::size_t kMaxSteps = 8;  // the parsers below go 6 deep at most

  Node child(const json& value, const std::string* key, std::size_t index = 0) const {
    Node node = *this;
    node.value_ = &value;
    if (depth_ == kMaxSteps) throw std::logic_error("a manifest member nested too deep");
    node.steps_[node.depth_++] = {key, index};
    return node;
  }

  std::string where() const {
    if (depth_ == 0) return "the manifest";
    std::string text;
    for (std::size_t i = 0; i < depth_; ++i) {
      const Step& step = steps_[i];
      if (step.key == nullptr) {
        text += fmt::format("[{}]", step.index);
      } else {
        text += (i == 0 ? "" : ".") + *step.key;
      }
    }
    return text;
  }

  const json* value_;
  const std::string* source_;
  std::array<Step, kMaxSteps> steps_{};
  std::size_t depth_ = 0;
};

Scalar scalar_from_json(const Node& s) {
  Scalar scalar{s.at("name").name(), std::int64_t{0}};
  const Node type = s.at("type");
  const std::string name = type.text(kMaxNameLength);
  if (name == "i64") {
    scalar.value = s.at("value").integer(kInt64Min, kInt64Max);
  } else if (name == "f64") {
    scalar.value = s.at("value").real();
  } else if (name == "exact_sum") {
    // Normalized digits are below 2^32 in magnitude and the flags 0 or 1; within
    // these bounds from_words' carries cannot overflow.
    std::vector<std::int64_t> words;
    s.at("words").each(ExactSum::kWords, ExactSum::kWords, [&](const Node& word) {
      const bool flag = words.size() >= static_cast<std::size_t>(ExactSum::kWords - 3);
      const std::int64_t bound = flag ? 1 : std::int64_t{1} << 32;
      words.push_back(word.integer(flag ? 0 : -bound, bound));
    });
    scalar.value = ExactSum::from_words(words.data());
  } else {
    type.refuse("'" + name + "'", "i64, f64 or exact_sum");
  }
  return scalar;
}

/// The parameters, once they are within the manifest's bounds and of the types
/// params_from_json takes.
ParamSet parameters_from_json(const Node& parameters) {
  parameters.each_entry(kMaxEntries, [](const std::string& /*name*/, const Node& value) {
    const json& v = value.value();
    if (v.is_string()) {
      value.text(kMaxTextLength);
    } else if (v.is_number_integer()) {
      value.integer(kInt64Min, kInt64Max);
    } else if (!v.is_boolean() && !v.is_number_float()) {
      value.refuse(value.kind(), "a boolean, number or string");
    }
  });
  return params_from_json(parameters.value());
}

DatasetRecord dataset_from_json(const Node& d) {
  DatasetRecord record;
  record.name = d.at("name").name();
  const Node dtype = d.at("dtype");
  const std::string dtype_text = dtype.text(kMaxNameLength);
  try {
    record.dtype = dtype_from_name(dtype_text);
  } catch (const CheckpointError&) {
    dtype.refuse("'" + dtype_text + "'", "f32, f64, i32, i64 or u64");
  }
  const Node shape = d.at("shape");
  record.grid.shape = shape.indices(1);
  // Every size derived from the shape (points, bytes, a block's bytes) then fits.
  if (!checked_data_bytes(record.dtype, record.grid.shape)) {
    shape.refuse(fmt::format("[{}] of {}", fmt::join(record.grid.shape, ", "), dtype_text),
                 "a shape whose bytes fit in 63 bits");
  }
  const std::size_t ndim = record.grid.shape.size();
  d.at("axes").each(
      ndim, ndim, [&](const Node& axis) { record.grid.axes.push_back(axis.text(kMaxNameLength)); });
  d.at("origin").each(ndim, ndim,
                      [&](const Node& origin) { record.grid.origin.push_back(origin.real()); });
  d.at("spacing").each(ndim, ndim,
                       [&](const Node& spacing) { record.grid.spacing.push_back(spacing.real()); });
  record.grid.split_dims = static_cast<int>(d.at("split_dims").integer(0, kMaxDims));
  record.grid.points = d.at("points").boolean();
  record.description = d.at("description").text(kMaxTextLength);
  record.units = d.at("units").text(kMaxTextLength);
  return record;
}

ShardRecord shard_from_node(const Node& s) {
  ShardRecord shard;
  shard.rank = static_cast<int>(s.at("rank").integer(0, kMaxRanks - 1));
  // The writer names each shard by its rank; nothing else (no path, no other
  // rank's name) is a shard of this rank.
  const Node file = s.at("file");
  shard.file = file.text(kMaxNameLength);
  if (shard.file != shard_file_name(shard.rank)) {
    file.refuse("'" + shard.file + "'",
                fmt::format("'{}', rank {}'s shard", shard_file_name(shard.rank), shard.rank));
  }
  shard.bytes = static_cast<std::uint64_t>(s.at("bytes").integer(0, kInt64Max));
  s.at("blocks").each(0, kMaxDatasets, [&](const Node& b) {
    BlockRecord block;
    const Node dataset = b.at("dataset");
    block.dataset = dataset.name();
    // A shard file holds one HDF5 dataset of each name, so one block of it.
    if (std::any_of(shard.blocks.begin(), shard.blocks.end(),
                    [&](const BlockRecord& other) { return other.dataset == block.dataset; })) {
      dataset.refuse(fmt::format("'{}' again", block.dataset), "one block per dataset in a shard");
    }
    const Node count = b.at("count");
    const std::vector<Index> offsets = b.at("offset").indices(0);
    const std::vector<Index> counts = count.indices(1);  // a rank's block is never empty
    if (counts.size() != offsets.size()) {
      count.refuse(fmt::format("{} long", counts.size()),
                   fmt::format("as long as the offset, {}", offsets.size()));
    }
    for (std::size_t d = 0; d < counts.size(); ++d) {
      if (!checked_add(offsets[d], counts[d])) {
        count.refuse(
            fmt::format("[{}] at offset [{}]", fmt::join(counts, ", "), fmt::join(offsets, ", ")),
            "a block that ends within 63 bits");
      }
    }
    block.box = Box::from_offset_count(offsets, counts);
    const Node digest = b.at("xxh3_128");
    const std::string hex = digest.text(kMaxNameLength);
    try {
      block.digest = Digest::from_hex(hex);
    } catch (const std::invalid_argument&) {
      digest.refuse("'" + hex + "'", "32 lower-case hex digits");
    }
    shard.blocks.push_back(std::move(block));
  });
  return shard;
}

/// Runs `parse`, turning what nlohmann throws into a CheckpointError naming
/// `source`. Running out of memory is no fault of the manifest's: it goes on.
template <class Parse>
auto parsing(const std::string& source, Parse&& parse) {
  try {
    return parse();
  } catch (const CheckpointError&) {
    throw;
  } catch (const std::bad_alloc&) {
    throw;
  } catch (const std::exception& e) {
    throw CheckpointError(fmt::format("{}: malformed manifest: {}", source, e.what()));
  }
}

/// N of a format "spare-checkpoint-N", if `format` is one.
std::optional<long> format_version(std::string_view format) {
  constexpr std::string_view family = "spare-checkpoint-";
  if (!format.starts_with(family)) return std::nullopt;
  const std::string_view digits = format.substr(family.size());
  long version = 0;
  const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), version);
  if (error != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  return version;
}

/// Refuses a manifest in another format than the one this Spare writes. A
/// later version of it is not damage: a newer Spare reads it, so it is kept.
void check_format(const std::string& format, const std::string& source) {
  if (format == Manifest::kFormat) return;
  const std::optional<long> version = format_version(format);
  if (version && *version > *format_version(Manifest::kFormat)) {
    throw CheckpointError(fmt::format("{}: format '{}' is newer than {}, which this Spare ({}) "
                                      "reads: restore it with a newer Spare",
                                      source, format, Manifest::kFormat, kVersion),
                          CheckpointFault::unsupported);
  }
  throw CheckpointError(
      fmt::format("{}: format '{}' is not {}", source, format, Manifest::kFormat));
}

}  // namespace

json shard_to_json(const ShardRecord& s) {
  json blocks = json::array();
  for (const BlockRecord& b : s.blocks) {
    blocks.push_back({{"dataset", b.dataset},
                      {"offset", b.box.offset()},
                      {"count", b.box.count()},
                      {"xxh3_128", b.digest.hex()}});
  }
  return {{"file", s.file}, {"rank", s.rank}, {"bytes", s.bytes}, {"blocks", blocks}};
}

ShardRecord shard_from_json(const json& s, const std::string& source) {
  return parsing(source, [&] { return shard_from_node(Node(s, source)); });
}

json manifest_to_json(const Manifest& m) {
  json scalars = json::array();
  for (const Scalar& s : m.scalars)
    scalars.push_back(scalar_to_json(s));
  json datasets = json::array();
  for (const DatasetRecord& d : m.datasets) {
    datasets.push_back({{"name", d.name},
                        {"dtype", dtype_name(d.dtype)},
                        {"shape", d.grid.shape},
                        {"axes", d.grid.axes},
                        {"origin", reals_to_json(d.grid.origin)},
                        {"spacing", reals_to_json(d.grid.spacing)},
                        {"split_dims", d.grid.split_dims},
                        {"points", d.grid.points},
                        {"description", d.description},
                        {"units", d.units}});
  }
  json shards = json::array();
  for (const ShardRecord& s : m.shards)
    shards.push_back(shard_to_json(s));
  return {{"format", Manifest::kFormat},
          {"spare_version", m.run.spare_version},
          {"job_name", m.run.job_name},
          {"kernel", m.run.kernel},
          {"kernel_revision", m.run.kernel_revision},
          {"parameters", params_to_json(m.run.params)},
          {"step", m.run.step},
          {"time", real_to_json(m.run.time)},
          {"diagnostics", reals_to_json(m.run.diagnostics)},
          {"nranks", m.nranks},
          {"scalars", scalars},
          {"datasets", datasets},
          {"shards", shards}};
}

Manifest manifest_from_json(const json& j, const std::string& source) {
  return parsing(source, [&] {
    const Node root(j, source);
    check_format(root.at("format").text(kMaxNameLength), source);
    Manifest m;
    m.run.spare_version = root.at("spare_version").text(kMaxNameLength);
    m.run.job_name = root.at("job_name").text(kMaxTextLength);
    m.run.kernel = root.at("kernel").name();
    m.run.kernel_revision =
        root.has("kernel_revision")
            ? static_cast<int>(
                  root.at("kernel_revision").integer(1, std::numeric_limits<int>::max()))
            : 1;
    m.run.params = parameters_from_json(root.at("parameters"));
    m.run.step = root.at("step").integer(0, kInt64Max);
    m.run.time = root.at("time").real();
    m.nranks = static_cast<int>(root.at("nranks").integer(1, kMaxRanks));
    root.at("scalars").each(0, kMaxEntries,
                            [&](const Node& s) { m.scalars.push_back(scalar_from_json(s)); });
    root.at("diagnostics").each_entry(kMaxEntries, [&](const std::string& name, const Node& value) {
      m.run.diagnostics[name] = value.real();
    });
    root.at("datasets").each(0, kMaxDatasets, [&](const Node& d) {
      m.datasets.push_back(dataset_from_json(d));
      if (m.find_dataset(m.datasets.back().name) != &m.datasets.back()) {
        d.at("name").refuse(fmt::format("'{}' again", m.datasets.back().name),
                            "one dataset of each name");
      }
    });
    // One shard per rank at most; with one block per dataset in a shard, a
    // dataset has at most nranks blocks.
    const Node shards = root.at("shards");
    std::vector<bool> seen(static_cast<std::size_t>(m.nranks), false);
    std::size_t blocks = 0;
    shards.each(0, static_cast<std::size_t>(m.nranks), [&](const Node& s) {
      ShardRecord shard = shard_from_node(s);
      if (shard.rank >= m.nranks) {
        s.at("rank").refuse(std::to_string(shard.rank), fmt::format("0 to {}", m.nranks - 1));
      }
      if (seen[static_cast<std::size_t>(shard.rank)]) {
        s.at("rank").refuse(fmt::format("{} again", shard.rank), "one shard per rank");
      }
      seen[static_cast<std::size_t>(shard.rank)] = true;
      blocks += shard.blocks.size();
      if (blocks > kMaxBlocks) {
        shards.refuse(fmt::format("more than {} blocks in all", kMaxBlocks),
                      fmt::format("at most {}", kMaxBlocks));
      }
      m.shards.push_back(std::move(shard));
    });
    return m;
  });
}

namespace {

/// A block and the shard that holds it, for messages.
struct PlacedBlock {
  const BlockRecord* block;
  const ShardRecord* shard;
};

/// Checks that `blocks` cover `dataset` exactly once.
///
/// The blocks' boundaries, with the dataset's ends, cut each dimension at a
/// sorted set of distinct coordinates; together these cuts split the dataset
/// into a grid of cells, each of which lies wholly inside or wholly outside
/// every block. The blocks cover the dataset exactly once if and only if every
/// cell lies in exactly one block: each block marks the cells it spans, a cell
/// marked twice is an overlap, a cell left unmarked a gap. Every cell is marked
/// at most once before an overlap stops the check, so the work is the sort of
/// the cuts, O(n log n), plus the number of cells.
///
/// Spare's blocks form a process grid (decomposition.cpp): p0 x p1 x p2 blocks
/// make p0 x p1 x p2 cells, one per block. Any n blocks can make up to about
/// (2n)^3 cells, so a layout of more than kCellsPerBlock cells per block is
/// refused before any cell is allocated: the check costs at most a few bytes
/// and steps per block, whatever a manifest claims. The slack above one cell
/// per block admits tilings close to a grid (a row of blocks cut differently),
/// checked exactly like the grids.
void check_dataset_coverage(const DatasetRecord& dataset, const std::vector<PlacedBlock>& blocks,
                            const std::string& source) {
  const std::vector<Index>& shape = dataset.grid.shape;
  const auto ndim = static_cast<int>(shape.size());
  const Index whole = Box::whole(shape).volume();
  const auto n = static_cast<Index>(blocks.size());
  std::array<std::vector<Index>, kMaxDims> cuts;
  Index cells = 1;
  for (int d = 0; d < ndim; ++d) {
    cuts[d] = {0, shape[d]};
    for (const PlacedBlock& placed : blocks) {
      cuts[d].push_back(placed.block->box.lo[d]);
      cuts[d].push_back(placed.block->box.hi[d]);
    }
    std::sort(cuts[d].begin(), cuts[d].end());
    cuts[d].erase(std::unique(cuts[d].begin(), cuts[d].end()), cuts[d].end());
    const std::optional<Index> product = checked_mul(cells, static_cast<Index>(cuts[d].size()) - 1);
    if (!product || *product > kCellsPerBlock * std::max<Index>(n, 1)) {
      throw CheckpointError(fmt::format(
          "{}: dataset '{}': its {} blocks cut it into more than {} cells, {} per block; the "
          "blocks of a checkpoint form a process grid, one cell per block",
          source, dataset.name, n, kCellsPerBlock * std::max<Index>(n, 1), kCellsPerBlock));
    }
    cells = *product;
  }
  // The cells in C order; a missing dimension is one cell wide.
  std::array<Index, kMaxDims> stride{0, 0, 0}, extent{1, 1, 1};
  for (int d = ndim - 1; d >= 0; --d) {
    extent[d] = static_cast<Index>(cuts[d].size()) - 1;
    stride[d] = d + 1 < ndim ? stride[d + 1] * extent[d + 1] : 1;
  }
  const auto cut_index = [&](int d, Index coordinate) {
    return std::lower_bound(cuts[d].begin(), cuts[d].end(), coordinate) - cuts[d].begin();
  };
  std::vector<std::uint32_t> owner(static_cast<std::size_t>(cells), 0);  // 1 + block index
  Index covered = 0;
  for (std::size_t k = 0; k < blocks.size(); ++k) {
    const Box& box = blocks[k].block->box;
    std::array<Index, kMaxDims> lo{0, 0, 0}, hi{1, 1, 1};
    for (int d = 0; d < ndim; ++d) {
      lo[d] = cut_index(d, box.lo[d]);
      hi[d] = cut_index(d, box.hi[d]);
    }
    for (Index a = lo[0]; a < hi[0]; ++a) {
      for (Index b = lo[1]; b < hi[1]; ++b) {
        for (Index c = lo[2]; c < hi[2]; ++c) {
          std::uint32_t& cell =
              owner[static_cast<std::size_t>(a * stride[0] + b * stride[1] + c * stride[2])];
          if (cell != 0) {
            const PlacedBlock& other = blocks[cell - 1];
            throw CheckpointError(
                fmt::format("{}: dataset '{}' has overlapping blocks at {} ({} and {})", source,
                            dataset.name, box.intersect(other.block->box).to_string(),
                            other.shard->file, blocks[k].shard->file));
          }
          cell = static_cast<std::uint32_t>(k + 1);
        }
      }
    }
    covered += box.volume();  // no overlap, inside the shape: the sum stays below the whole
  }
  if (covered != whole) {
    const auto gap =
        static_cast<Index>(std::find(owner.begin(), owner.end(), std::uint32_t{0}) - owner.begin());
    Box hole;
    hole.ndim = ndim;
    for (int d = 0; d < ndim; ++d) {
      const auto at = static_cast<std::size_t>(gap / stride[d] % extent[d]);
      hole.lo[d] = cuts[d][at];
      hole.hi[d] = cuts[d][at + 1];
    }
    throw CheckpointError(fmt::format(
        "{}: dataset '{}' is not covered: its blocks hold {} of its {} points; none holds {}",
        source, dataset.name, covered, whole, hole.to_string()));
  }
}

}  // namespace

void check_coverage(const Manifest& m, const std::string& source) {
  struct DatasetBlocks {
    const DatasetRecord* dataset;
    std::vector<PlacedBlock> blocks;
  };
  std::map<std::string, DatasetBlocks> blocks;
  for (const DatasetRecord& dataset : m.datasets) {
    // A manifest built in memory has not been through manifest_from_json's checks.
    const std::vector<Index>& shape = dataset.grid.shape;
    if (shape.empty() || shape.size() > kMaxDims || !checked_data_bytes(dataset.dtype, shape)) {
      throw CheckpointError(
          fmt::format("{}: dataset '{}' has shape [{}], expected 1 to {} extents "
                      "whose bytes fit in 63 bits",
                      source, dataset.name, fmt::join(shape, ", "), kMaxDims));
    }
    blocks.try_emplace(dataset.name, DatasetBlocks{&dataset, {}});
  }
  std::size_t total = 0;
  for (const ShardRecord& shard : m.shards) {
    total += shard.blocks.size();
    if (total > kMaxBlocks) {
      throw CheckpointError(fmt::format("{}: more than {} blocks, expected at most {}", source,
                                        kMaxBlocks, kMaxBlocks));
    }
    for (const BlockRecord& block : shard.blocks) {
      const auto it = blocks.find(block.dataset);
      if (it == blocks.end()) {
        throw CheckpointError(
            fmt::format("{}: {} holds a block of '{}', which is not a dataset "
                        "of this checkpoint",
                        source, shard.file, block.dataset));
      }
      const std::vector<Index>& shape = it->second.dataset->grid.shape;
      // Inside the shape first: only then is the block's volume known to fit.
      if (block.box.ndim != static_cast<int>(shape.size()) ||
          !Box::whole(shape).contains(block.box) || block.box.empty()) {
        throw CheckpointError(fmt::format("{}: {} holds block {} of '{}', outside its shape [{}]",
                                          source, shard.file, block.box.to_string(), block.dataset,
                                          fmt::join(shape, ", ")));
      }
      it->second.blocks.push_back({&block, &shard});
    }
  }
  for (const auto& [name, entry] : blocks)
    check_dataset_coverage(*entry.dataset, entry.blocks, source);
}

std::optional<std::string> manifest_mismatch(const Manifest& m, const ExpectedCheckpoint& e) {
  if (m.run.step != e.step) {
    return fmt::format("its manifest is of step {}, its directory of step {}", m.run.step, e.step);
  }
  if (m.run.step < 0 || m.run.step > e.last_step) {
    return fmt::format("step {} is beyond the job's steps, 0 to {}", m.run.step, e.last_step);
  }
  if (const std::optional<std::string> why = describe_job_mismatch(m.run, e.run)) {
    return "it is another job's checkpoint: " + *why;
  }
  if (m.nranks < e.min_ranks || m.nranks > e.max_ranks) {
    return fmt::format("it was written by {} ranks, the job runs on {} to {}", m.nranks,
                       e.min_ranks, e.max_ranks);
  }
  const auto text = [](DType dtype, const std::vector<Index>& shape) {
    return fmt::format("{} [{}]", dtype_name(dtype), fmt::join(shape, ", "));
  };
  for (const DatasetShape& wanted : e.datasets) {
    const DatasetRecord* found = m.find_dataset(wanted.name);
    if (found == nullptr) {
      return fmt::format("it has no dataset '{}', the job's plan declares it as {}", wanted.name,
                         text(wanted.dtype, wanted.shape));
    }
    if (found->dtype != wanted.dtype || found->grid.shape != wanted.shape) {
      return fmt::format("its dataset '{}' is {}, the job's plan declares {}", wanted.name,
                         text(found->dtype, found->grid.shape), text(wanted.dtype, wanted.shape));
    }
  }
  for (const DatasetRecord& found : m.datasets) {
    const bool planned = std::any_of(e.datasets.begin(), e.datasets.end(),
                                     [&](const DatasetShape& d) { return d.name == found.name; });
    if (!planned) {
      return fmt::format("its dataset '{}' is not one the job's plan declares", found.name);
    }
  }
  return std::nullopt;
}

namespace {

/// Counts what a JSON text holds without building it: the containers' depth,
/// and values and keys together. nlohmann's parser callback could count while
/// it builds, but it rescans a container's members after each nested object,
/// which is quadratic in a long array of shards.
class JsonBounds : public json::json_sax_t {
 public:
  // The deepest member of a manifest, a block's offset, is 6 containers deep;
  // a manifest of kMaxBlocks blocks of kMaxRanks shards has about 1.5M values and keys.
  static constexpr int kMaxDepth = 8;
  static constexpr std::size_t kMaxValues = std::size_t{1} << 21;

  explicit JsonBounds(const std::string& source) : source_(source) {}

  bool null() override { return count(); }
  bool boolean(bool /*value*/) override { return count(); }
  bool number_integer(number_integer_t /*value*/) override { return count(); }
  bool number_unsigned(number_unsigned_t /*value*/) override { return count(); }
  bool number_float(number_float_t /*value*/, const string_t& /*text*/) override { return count(); }
  bool string(string_t& /*value*/) override { return count(); }
  bool binary(binary_t& /*value*/) override { return count(); }
  bool key(string_t& /*value*/) override { return count(); }
  bool start_object(std::size_t /*elements*/) override { return open(); }
  bool start_array(std::size_t /*elements*/) override { return open(); }
  bool end_object() override { return close(); }
  bool end_array() override { return close(); }
  bool parse_error(std::size_t /*position*/, const std::string& /*token*/,
                   const nlohmann::detail::exception& /*error*/) override {
    return false;  // json::parse, next, says it is no JSON
  }

 private:
  bool count() {
    if (++values_ <= kMaxValues) return true;
    throw CheckpointError(fmt::format("{}: more than {} JSON values, expected at most {}", source_,
                                      kMaxValues, kMaxValues));
  }
  bool open() {
    if (++depth_ > kMaxDepth) {
      throw CheckpointError(
          fmt::format("{}: JSON nested {} deep, expected at most {}", source_, depth_, kMaxDepth));
    }
    return count();
  }
  bool close() {
    --depth_;
    return true;
  }

  const std::string& source_;
  int depth_ = 0;
  std::size_t values_ = 0;
};

/// Throws CheckpointError if `text` holds JSON nested deeper or with more values
/// than a manifest within the bounds has: no text, whatever its shape, then
/// costs more to parse than such a manifest.
void check_json_bounds(const std::string& text, const std::string& source) {
  JsonBounds bounds(source);
  json::sax_parse(text, &bounds);
}

/// The manifest's bytes, never more than one beyond what a manifest may have:
/// a larger file is refused before it costs memory. A manifest that is not
/// there leaves the checkpoint incomplete; one that cannot be read may be whole.
std::string read_manifest_text(const std::filesystem::path& checkpoint_dir,
                               const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) {
    throw CheckpointError(
        fmt::format("{}: no {}: the checkpoint is incomplete (its writer "
                    "stopped before committing it)",
                    checkpoint_dir.string(), kManifestName));
  }
  const auto unreadable = [&](const char* call, int error) {
    return CheckpointError(
        fmt::format("{}: cannot {} it: {}", path.string(), call, std::strerror(error)),
        CheckpointFault::unreadable);
  };
  if (fd < 0) throw unreadable("open", errno);
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat info {};
  if (::fstat(fd, &info) != 0) throw unreadable("stat", errno);
  std::string text(
      static_cast<std::size_t>(std::min<std::uintmax_t>(info.st_size, kMaxManifestBytes + 1)),
      '\0');
  std::size_t filled = 0;
  while (filled < text.size()) {
    const ssize_t n = ::read(fd, text.data() + filled, text.size() - filled);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw unreadable("read", errno);
    if (n == 0) break;
    filled += static_cast<std::size_t>(n);
  }
  text.resize(filled);
  return text;
}

}  // namespace

void commit_manifest(const std::filesystem::path& checkpoint_dir, const Manifest& manifest) {
  json j = manifest_to_json(manifest);
  j[kSelfDigestKey] = self_digest(j).hex();
  write_file_atomically(checkpoint_dir / kManifestName, j.dump(1) + "\n");
}

Manifest read_manifest(const std::filesystem::path& checkpoint_dir, std::string* bytes) {
  const std::filesystem::path path = checkpoint_dir / kManifestName;
  std::string text = read_manifest_text(checkpoint_dir, path);
  if (text.size() > kMaxManifestBytes) {
    throw CheckpointError(fmt::format("{}: more than {} bytes, expected at most {}", path.string(),
                                      kMaxManifestBytes, kMaxManifestBytes));
  }
  check_json_bounds(text, path.string());
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  const auto not_a_manifest = [&] {
    return CheckpointError(
        fmt::format("{}: not a manifest (damaged or truncated JSON)", path.string()));
  };
  if (j.is_discarded() || !j.is_object()) throw not_a_manifest();
  // Before the digest: a newer format may digest itself otherwise, or not at all.
  if (j.contains("format") && j["format"].is_string()) {
    check_format(j["format"].get<std::string>(), path.string());
  }
  if (!j.contains(kSelfDigestKey) || !j[kSelfDigestKey].is_string()) throw not_a_manifest();
  const std::string recorded = j[kSelfDigestKey].get<std::string>();
  j.erase(kSelfDigestKey);
  if (self_digest(j).hex() != recorded) {
    throw CheckpointError(
        fmt::format("{}: the manifest's contents do not match its digest "
                    "(damaged)",
                    path.string()));
  }
  Manifest manifest = manifest_from_json(j, path.string());
  check_coverage(manifest, path.string());
  if (bytes != nullptr) *bytes = std::move(text);
  return manifest;
}

}  // namespace spare
