// A checkpoint manifest's JSON through what read_manifest does after its
// self-digest check (the digest catches damage, not forgery: a volunteer
// uploading a manifest to the pool can compute it): manifest_from_json, then
// check_coverage.
//
// Invariants: only CheckpointError escapes; a manifest that parses names its
// shards by plain file names and round-trips through manifest_to_json, as a
// JSON value and as the text commit_manifest writes; one that also passes
// the coverage check covers every dataset exactly, so its data bytes are
// those of its datasets' shapes.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <optional>

#include "fuzz_support.hpp"
#include "spare/checkpoint_manifest.hpp"
#include "spare/error.hpp"

namespace {

using nlohmann::json;

constexpr const char* kSource = "fuzz/MANIFEST.json";

std::optional<spare::Manifest> parse(const json& j) {
  try {
    return spare::manifest_from_json(j, kSource);
  } catch (const spare::CheckpointError&) {
    return std::nullopt;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  json j = json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return 0;  // read_manifest refuses it before parsing
  j.erase("manifest_xxh3_128");

  const std::optional<spare::Manifest> manifest = parse(j);
  if (!manifest) return 0;
  for (const spare::ShardRecord& shard : manifest->shards) {
    spare::fuzz::require(spare::fuzz::plain_file_name(shard.file),
                         "a parsed manifest's shard files are plain file names",
                         json(shard.file).dump(-1, ' ', false, json::error_handler_t::replace));
  }

  const json written = spare::manifest_to_json(*manifest);
  const std::optional<spare::Manifest> again = parse(written);
  spare::fuzz::require(again.has_value(), "manifest_to_json of a parsed manifest parses");
  spare::fuzz::require(spare::manifest_to_json(*again) == written,
                       "manifest_to_json of a parsed manifest reads back to the same manifest");

  // What commit_manifest writes and read_manifest reads back.
  std::string text;
  try {
    text = written.dump(1);
  } catch (const json::exception& e) {
    spare::fuzz::violated("a parsed manifest can be written as text", e.what());
  }
  const json reread = json::parse(text, nullptr, /*allow_exceptions=*/false);
  const std::optional<spare::Manifest> from_text =
      reread.is_discarded() ? std::nullopt : parse(reread);
  spare::fuzz::require(from_text.has_value(), "the text of a parsed manifest parses", text);
  spare::fuzz::require(spare::manifest_to_json(*from_text) == written,
                       "the text of a parsed manifest reads back to the same manifest", text);

  try {
    spare::check_coverage(*manifest, kSource);
  } catch (const spare::CheckpointError&) {
    return 0;
  }
  std::uint64_t whole = 0;
  for (const spare::DatasetRecord& dataset : manifest->datasets) {
    whole += static_cast<std::uint64_t>(spare::Box::whole(dataset.grid.shape).volume()) *
             spare::dtype_size(dataset.dtype);
  }
  spare::fuzz::require(
      manifest->data_bytes() == whole,
      "a covered manifest's blocks hold exactly its datasets' bytes",
      fmt::format("blocks {} bytes, datasets {} bytes", manifest->data_bytes(), whole));
  return 0;
}
