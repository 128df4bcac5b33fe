// What a group's head can make a volunteer start: the daemon command it
// sends to the volunteer's agent (checked_daemon_command) and the environment
// its mpirun hands each rank through the daemon (worker_environment, in the
// worker guard). The input cut at NUL bytes is both: the words, as mpirun
// hands them to its launch agent, and the NAME=VALUE entries received.
//
// Invariants: only LaunchRefused escapes. An accepted argv is the orted
// program followed by `-mca NAME VALUE` triples, each one the launch policy
// passes (judge_mca_parameter) and NAME an identifier; none names a program,
// a library or a parameter file, and every directory Open MPI creates files
// in is inside the volunteer's temporary directory (lists kept here, apart
// from the policy); no value holds shell syntax; tree spawning is set off
// exactly once, at the end. A worker's environment is NAME=VALUE entries
// named by identifiers, no loader variable among them, every MCA setting one
// the policy passes, and the volunteer's own settings (PATH, HOME, TMPDIR,
// the job's directory, its GPUs, the worker's command) each there once, with
// the volunteer's value.
#include <algorithm>
#include <array>
#include <filesystem>
#include <string_view>

#include "daemon_command.hpp"
#include "fuzz_support.hpp"
#include "launch_policy.hpp"
#include "rank_environment.hpp"

namespace {

constexpr std::string_view kOrted = "/usr/bin/orted";
constexpr std::string_view kTempDir = "/tmp/volunteer";

/// Open MPI parameters that name something to run or load, or a directory
/// to take it from: none may reach a volunteer's daemon, whatever the policy
/// says about other names.
constexpr std::array<std::string_view, 12> kNeverPassed = {"plm_rsh_agent",
                                                           "orte_fork_agent",
                                                           "orte_launch_agent",
                                                           "initial_wdir",
                                                           "mca_base_component_path",
                                                           "mca_base_param_files",
                                                           "mca_base_envar_file_prefix",
                                                           "opal_plugin_path",
                                                           "plm_rsh_args",
                                                           "orte_daemon_bootstrap",
                                                           "pmix_mca_mca_base_component_path",
                                                           "opal_cuda_support_lib"};

/// Open MPI 4.1's parameters that name a directory its daemon or ranks create
/// files in.
constexpr std::array<std::string_view, 7> kPlaces = {"orte_tmpdir_base",
                                                     "orte_local_tmpdir_base",
                                                     "orte_remote_tmpdir_base",
                                                     "orte_top_session_dir",
                                                     "orte_jobfam_session_dir",
                                                     "btl_vader_backing_directory",
                                                     "shmem_mmap_backing_file_base_dir"};

bool inside_temp_dir(std::string_view value) {
  const std::filesystem::path path = std::filesystem::path(value).lexically_normal();
  const std::string text = path.string();
  return text == kTempDir || (text.starts_with(kTempDir) && text.size() > kTempDir.size() &&
                              text[kTempDir.size()] == '/');
}

bool identifier(std::string_view name) {
  return !name.empty() && name.find_first_not_of(
                              "abcdefghijklmnopqrstuvwxyz"
                              "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                              "0123456789_") == std::string_view::npos;
}

void check_worker_environment(const std::vector<std::string>& received,
                              const spare::pool::LaunchPlaces& places) {
  spare::pool::GuardSettings settings;
  settings.worker = "/opt/spare/bin/spare-worker";
  settings.job_dir = "/var/lib/spare/jobs/7";
  settings.refusal_log = "/var/lib/spare/refusals.log";
  settings.gpus = "0";
  settings.places = places;
  std::vector<std::string> environment;
  try {
    environment = spare::pool::worker_environment(received, settings);
  } catch (const spare::pool::LaunchRefused&) {
    return;
  }
  const std::array<std::string, 8> own = {"PATH=/usr/local/bin:/usr/bin:/bin",
                                          "HOME=" + settings.job_dir,
                                          "TMPDIR=" + places.temp_dir,
                                          "SPARE_JOB_DIR=" + settings.job_dir,
                                          "CUDA_VISIBLE_DEVICES=" + settings.gpus,
                                          "OMPI_MCA_initial_wdir=" + settings.job_dir,
                                          "OMPI_COMMAND=spare-worker",
                                          "OMPI_ARGV=--job job.ini"};
  for (const std::string& entry : environment) {
    const std::size_t equals = entry.find('=');
    spare::fuzz::require(equals != std::string::npos && identifier(entry.substr(0, equals)),
                         "a worker's environment is NAME=VALUE entries", entry);
    const std::string name = entry.substr(0, equals);
    const std::string value = entry.substr(equals + 1);
    spare::fuzz::require(!name.starts_with("LD_") && !name.starts_with("OPAL_"),
                         "no loader or OPAL variable reaches a worker", entry);
    const bool own_setting = std::find(own.begin(), own.end(), entry) != own.end();
    if (name.starts_with("OMPI_MCA_") && !own_setting) {
      const std::string parameter = name.substr(9);
      spare::fuzz::require(
          spare::pool::judge_mca_parameter(parameter, value, places).verdict ==
                  spare::pool::McaVerdict::pass &&
              std::find(kNeverPassed.begin(), kNeverPassed.end(), parameter) == kNeverPassed.end(),
          "every MCA setting a worker gets is one the launch policy passes", entry);
    }
  }
  for (const std::string& setting : own) {
    const std::string name = setting.substr(0, setting.find('=') + 1);
    const auto named = std::count_if(environment.begin(), environment.end(),
                                     [&](const std::string& e) { return e.starts_with(name); });
    spare::fuzz::require(named == 1 && std::find(environment.begin(), environment.end(), setting) !=
                                           environment.end(),
                         "the volunteer's own settings reach the worker once, with its values",
                         setting);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::vector<std::string> words = spare::fuzz::split_at_nul(spare::fuzz::bytes(data, size));
  const spare::pool::LaunchPlaces places{std::string(kTempDir)};
  check_worker_environment(words, places);
  std::vector<std::string> argv;
  try {
    argv = spare::pool::checked_daemon_command(words, std::string(kOrted), places);
  } catch (const spare::pool::LaunchRefused&) {
    return 0;
  }
  std::string_view program = words.front();
  program.remove_prefix(std::min(program.find_first_not_of(' '), program.size()));
  program.remove_suffix(program.size() - (program.find_last_not_of(' ') + 1));
  spare::fuzz::require(program == "orted", "a daemon command is accepted only for orted",
                       words.front());
  spare::fuzz::require(!argv.empty() && argv.front() == kOrted,
                       "an accepted daemon command starts with the orted program");
  spare::fuzz::require((argv.size() - 1) % 3 == 0 && argv.size() >= 4,
                       "an accepted daemon command is -mca NAME VALUE triples");
  std::size_t tree_spawn = 0;
  for (std::size_t i = 1; i + 2 < argv.size(); i += 3) {
    const std::string& name = argv[i + 1];
    const std::string& value = argv[i + 2];
    spare::fuzz::require(argv[i] == "-mca", "each triple of an accepted command starts with -mca",
                         argv[i]);
    spare::fuzz::require(spare::pool::judge_mca_parameter(name, value, places).verdict ==
                                 spare::pool::McaVerdict::pass ||
                             (name == "plm_rsh_no_tree_spawn" && i + 3 == argv.size()),
                         "every MCA parameter passed is one the launch policy passes",
                         name + " = " + value);
    spare::fuzz::require(identifier(name), "every MCA parameter passed is named by an identifier",
                         name);
    spare::fuzz::require(
        std::find(kNeverPassed.begin(), kNeverPassed.end(), name) == kNeverPassed.end(),
        "no parameter naming a program or a place to load code from is passed", name);
    spare::fuzz::require(
        value.find_first_of("\"'`$\\\n;|&<>") == std::string::npos || name.ends_with("_uri"),
        "no value passed holds shell syntax", name + " = " + value);
    const bool names_a_place = std::find(kPlaces.begin(), kPlaces.end(), name) != kPlaces.end();
    spare::fuzz::require(!names_a_place || inside_temp_dir(value),
                         "every directory passed is inside the volunteer's temporary directory",
                         name + " = " + value);
    if (name == "plm_rsh_no_tree_spawn") {
      ++tree_spawn;
      spare::fuzz::require(value == "1", "tree spawning is off", value);
    }
  }
  spare::fuzz::require(tree_spawn == 1 && argv[argv.size() - 2] == "plm_rsh_no_tree_spawn",
                       "tree spawning is set off once, last");
  return 0;
}
