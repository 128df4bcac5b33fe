// Manifests as JSON. The manifest carries an XXH3-128 of its own canonical
// form (compact, keys sorted), so a damaged manifest is refused, not believed.
#include "spare/checkpoint_manifest.hpp"

#include <fmt/format.h>

#include <fstream>
#include <map>
#include <set>

#include "spare/atomic_file.hpp"
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
    out["value"] = sum->value();
    out["words"] = words;
  } else if (const auto* integer = std::get_if<std::int64_t>(&s.value)) {
    out["type"] = "i64";
    out["value"] = *integer;
  } else {
    out["type"] = "f64";
    out["value"] = std::get<double>(s.value);
  }
  return out;
}

Scalar scalar_from_json(const json& s) {
  Scalar scalar{s.at("name").get<std::string>(), std::int64_t{0}};
  const std::string type = s.at("type").get<std::string>();
  if (type == "i64") {
    scalar.value = s.at("value").get<std::int64_t>();
  } else if (type == "f64") {
    scalar.value = s.at("value").get<double>();
  } else if (type == "exact_sum") {
    const auto words = s.at("words").get<std::vector<std::int64_t>>();
    if (words.size() != static_cast<std::size_t>(ExactSum::kWords)) {
      throw CheckpointError("scalar '" + scalar.name + "' has the wrong number of words");
    }
    scalar.value = ExactSum::from_words(words.data());
  } else {
    throw CheckpointError("scalar '" + scalar.name + "' has unknown type '" + type + "'");
  }
  return scalar;
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
  ShardRecord shard;
  shard.file = s.at("file").get<std::string>();
  shard.rank = s.at("rank").get<int>();
  shard.bytes = s.at("bytes").get<std::uint64_t>();
  if (shard.file.empty() || shard.file.find('/') != std::string::npos) {
    throw CheckpointError(
        fmt::format("{}: shard file name '{}' is not a plain file name", source, shard.file));
  }
  for (const json& b : s.at("blocks")) {
    BlockRecord block;
    block.dataset = b.at("dataset").get<std::string>();
    block.box = Box::from_offset_count(b.at("offset").get<std::vector<Index>>(),
                                       b.at("count").get<std::vector<Index>>());
    block.digest = Digest::from_hex(b.at("xxh3_128").get<std::string>());
    shard.blocks.push_back(std::move(block));
  }
  return shard;
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
                        {"origin", d.grid.origin},
                        {"spacing", d.grid.spacing},
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
          {"time", m.run.time},
          {"diagnostics", m.run.diagnostics},
          {"nranks", m.nranks},
          {"scalars", scalars},
          {"datasets", datasets},
          {"shards", shards}};
}

Manifest manifest_from_json(const json& j, const std::string& source) {
  try {
    if (j.at("format").get<std::string>() != Manifest::kFormat) {
      throw CheckpointError(fmt::format("{}: format '{}' is not {}", source,
                                        j.at("format").get<std::string>(), Manifest::kFormat));
    }
    Manifest m;
    m.run.spare_version = j.at("spare_version").get<std::string>();
    m.run.job_name = j.at("job_name").get<std::string>();
    m.run.kernel = j.at("kernel").get<std::string>();
    m.run.kernel_revision = j.value("kernel_revision", 1);
    m.run.params = params_from_json(j.at("parameters"));
    m.run.step = j.at("step").get<std::int64_t>();
    m.run.time = j.at("time").get<double>();
    m.nranks = j.at("nranks").get<int>();
    for (const json& s : j.at("scalars"))
      m.scalars.push_back(scalar_from_json(s));
    m.run.diagnostics = j.at("diagnostics").get<std::map<std::string, double>>();
    for (const json& d : j.at("datasets")) {
      DatasetRecord record;
      record.name = d.at("name").get<std::string>();
      record.dtype = dtype_from_name(d.at("dtype").get<std::string>());
      record.grid.shape = d.at("shape").get<std::vector<Index>>();
      record.grid.axes = d.at("axes").get<std::vector<std::string>>();
      record.grid.origin = d.at("origin").get<std::vector<double>>();
      record.grid.spacing = d.at("spacing").get<std::vector<double>>();
      record.grid.split_dims = d.at("split_dims").get<int>();
      record.grid.points = d.at("points").get<bool>();
      record.description = d.at("description").get<std::string>();
      record.units = d.at("units").get<std::string>();
      m.datasets.push_back(std::move(record));
    }
    for (const json& s : j.at("shards"))
      m.shards.push_back(shard_from_json(s, source));
    return m;
  } catch (const CheckpointError&) {
    throw;
  } catch (const std::exception& e) {
    throw CheckpointError(fmt::format("{}: malformed manifest: {}", source, e.what()));
  }
}

void check_coverage(const Manifest& m, const std::string& source) {
  std::map<std::string, std::vector<const BlockRecord*>> blocks;
  for (const ShardRecord& shard : m.shards) {
    for (const BlockRecord& block : shard.blocks) {
      const DatasetRecord* dataset = m.find_dataset(block.dataset);
      if (dataset == nullptr) {
        throw CheckpointError(
            fmt::format("{}: {} holds a block of '{}', which is not a dataset "
                        "of this checkpoint",
                        source, shard.file, block.dataset));
      }
      if (!Box::whole(dataset->grid.shape).contains(block.box) || block.box.empty()) {
        throw CheckpointError(fmt::format("{}: {} holds block {} of '{}', outside its shape [{}]",
                                          source, shard.file, block.box.to_string(), block.dataset,
                                          fmt::join(dataset->grid.shape, ", ")));
      }
      blocks[block.dataset].push_back(&block);
    }
  }
  for (const DatasetRecord& dataset : m.datasets) {
    const auto& list = blocks[dataset.name];
    Index covered = 0;
    for (std::size_t i = 0; i < list.size(); ++i) {
      covered += list[i]->box.volume();
      for (std::size_t k = 0; k < i; ++k) {
        const Box overlap = list[i]->box.intersect(list[k]->box);
        if (!overlap.empty()) {
          throw CheckpointError(fmt::format("{}: dataset '{}' has overlapping blocks at {}", source,
                                            dataset.name, overlap.to_string()));
        }
      }
    }
    const Index whole = Box::whole(dataset.grid.shape).volume();
    if (covered != whole) {
      throw CheckpointError(
          fmt::format("{}: dataset '{}' is not covered: its blocks hold {} of its {} points",
                      source, dataset.name, covered, whole));
    }
  }
}

void commit_manifest(const std::filesystem::path& checkpoint_dir, const Manifest& manifest) {
  json j = manifest_to_json(manifest);
  j[kSelfDigestKey] = self_digest(j).hex();
  write_file_atomically(checkpoint_dir / kManifestName, j.dump(1) + "\n");
}

Manifest read_manifest(const std::filesystem::path& checkpoint_dir) {
  const std::filesystem::path path = checkpoint_dir / kManifestName;
  std::ifstream in(path);
  if (!in) {
    throw CheckpointError(
        fmt::format("{}: no {}: the checkpoint is incomplete (its writer "
                    "stopped before committing it)",
                    checkpoint_dir.string(), kManifestName));
  }
  json j = json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object() || !j.contains(kSelfDigestKey) ||
      !j[kSelfDigestKey].is_string()) {
    throw CheckpointError(
        fmt::format("{}: not a manifest (damaged or truncated JSON)", path.string()));
  }
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
  return manifest;
}

}  // namespace spare
