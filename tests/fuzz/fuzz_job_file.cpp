// A job file's bytes through parse_job_spec with the built-in kernels, as
// `spare run` reads a scientist's file and the coordinator a submitted one.
// Input: the job file, then NUL-separated `--set` overrides.
//
// Invariants: only spare::Error escapes; a job that parses and can be
// written (to_ini; a value a job file cannot hold is refused there, by
// design) reads back from what was written to the same JobSpec, and writing
// that gives the same text.
#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "fuzz_support.hpp"
#include "spare/error.hpp"
#include "spare/job_spec.hpp"
#include "spare/kernels/builtin.hpp"

namespace {

namespace fs = std::filesystem;

const spare::KernelRegistry& registry() {
  static const spare::KernelRegistry kernels = spare::kernels::builtin_registry();
  return kernels;
}

/// The job file's directory: it holds an input file (initial.h5, as in
/// examples/heat2d-from-file), so that file parameters can resolve.
const fs::path& base_dir() {
  static const fs::path dir = [] {
    std::string pattern = (fs::temp_directory_path() / "spare-fuzz-job-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) spare::fuzz::violated("cannot create a directory");
    const fs::path made(pattern);
    std::ofstream(made / "initial.h5") << "not HDF5: parse_job_spec only checks it is a file\n";
    std::atexit([] {
      std::error_code ignored;
      fs::remove_all(base_dir(), ignored);
    });
    return made;
  }();
  return dir;
}

/// Every field of the spec, exactly (reals as the shortest text that reads
/// back to the same double), for comparing and for the message.
std::string describe(const spare::JobSpec& spec) {
  std::string text = fmt::format(
      "source={} name={} kernel={} steps={} ranks={} output={} progress_interval={} device={} "
      "interval_steps={} interval_seconds={} keep={}",
      spec.source, spec.name, spec.kernel, spec.steps, spec.ranks, spec.output.string(),
      spec.progress_interval, spare::to_string(spec.device), spec.checkpoint.interval_steps,
      spec.checkpoint.interval_seconds, spec.checkpoint.keep);
  for (const auto& [key, value] : spec.params.values()) {
    text += fmt::format(" {}=({}){}", key, value.index(), spare::format_param(value));
  }
  return text;
}

std::optional<spare::JobSpec> parse(const std::string& text,
                                    const std::vector<std::string>& overrides) {
  std::istringstream in(text);
  try {
    return spare::parse_job_spec(in, "fuzz.ini", overrides, registry(), base_dir());
  } catch (const spare::Error&) {
    return std::nullopt;  // refused with a message: what a bad job file should get
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<std::string> words = spare::fuzz::split_at_nul(spare::fuzz::bytes(data, size));
  const std::string file = std::move(words.front());
  words.erase(words.begin());

  const std::optional<spare::JobSpec> spec = parse(file, words);
  if (!spec) return 0;

  std::string written;
  try {
    written = spec->to_ini();
  } catch (const spare::JobError&) {
    return 0;  // a value the file format cannot hold, refused before anything is created
  }
  std::optional<spare::JobSpec> again;
  try {
    std::istringstream in(written);
    again = spare::parse_job_spec(in, "fuzz.ini", {}, registry(), base_dir());
  } catch (const spare::Error& e) {
    spare::fuzz::violated("to_ini of a parsed job parses", e.what() + ("\nwritten:\n" + written));
  }
  spare::fuzz::require(
      describe(*again) == describe(*spec) && again->params == spec->params,
      "to_ini of a parsed job reads back to the same JobSpec",
      "first:  " + describe(*spec) + "\nagain:  " + describe(*again) + "\nwritten:\n" + written);
  spare::fuzz::require(again->to_ini() == written, "to_ini of the read-back job is the same text",
                       written);
  return 0;
}
