// What a scientist does with a pool: `spare submit`, `status`, `logs`,
// `cancel` and `fetch`. Each talks HTTPS to the coordinator with a token and
// pins its certificate.
#include <unistd.h>

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <iostream>
#include <thread>

#include "command_line.hpp"
#include "commands.hpp"
#include "https_client.hpp"
#include "pool_messages.hpp"
#include "pool_protocol.hpp"
#include "pool_submission.hpp"
#include "spare/error.hpp"
#include "spare/job_spec.hpp"
#include "spare/machine.hpp"
#include "tls_identity.hpp"
#include "worker_program.hpp"

namespace spare::launcher {

namespace {

using nlohmann::json;

void add_pool_options(po::options_description& options) {
  options.add_options()(
      "pool", po::value<std::string>(),
      "the pool's URL, https://HOST:PORT, or every replica's joined by commas (or $SPARE_POOL)")(
      "token", po::value<std::string>(), "your token for the pool (or $SPARE_TOKEN)")(
      "fingerprint", po::value<std::string>(),
      "the pool's certificate fingerprint (or $SPARE_FINGERPRINT)");
}

pool::HttpsClient pool_client(const po::variables_map& vm, const std::string& command) {
  // One at a time, so that the first missing setting is the one reported.
  const std::string url = option_or_environment(vm, "pool", "SPARE_POOL", command);
  const std::string token = option_or_environment(vm, "token", "SPARE_TOKEN", command);
  const std::string fingerprint = pool::normalize_fingerprint(
      option_or_environment(vm, "fingerprint", "SPARE_FINGERPRINT", command));
  pool::HttpsClient client(url, fingerprint, token, 30.0);
  // A pool of replicas electing a new leader answers again within seconds;
  // one that has none for longer (etcd without quorum) is said to be so.
  client.set_failover_wait(15.0);
  return client;
}

std::int64_t job_id(const po::variables_map& vm, const std::string& command) {
  if (!vm.count("job"))
    throw UsageError(command + ": which JOB? (the number `spare submit` printed)");
  const std::string text = vm["job"].as<std::string>();
  try {
    std::size_t used = 0;
    const std::int64_t id = std::stoll(text, &used);
    if (used == text.size() && id > 0) return id;
  } catch (const std::exception&) {
  }
  throw UsageError(fmt::format("{}: '{}' is not a job number", command, text));
}

std::string clock_time(double seconds) {
  const std::time_t t = static_cast<std::time_t>(seconds);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S", std::localtime(&t));
  return text;
}

/// The newest of the job's segments of work: steps, who ran them, and the
/// validation digest of the checkpoint that ends each.
void print_segments(const json& j) {
  constexpr std::size_t kShown = 5;
  const json segments = j.value("segments", json::array());
  const std::size_t total = j.value("segments_total", segments.size());
  if (total == 0) return;
  fmt::print("  segments of work {}{}\n", total,
             total > std::min(kShown, segments.size())
                 ? fmt::format(" (the newest {})", std::min(kShown, segments.size()))
                 : std::string());
  for (std::size_t i = segments.size() > kShown ? segments.size() - kShown : 0; i < segments.size();
       ++i) {
    const json& segment = segments[i];
    std::vector<std::string> shares;
    for (const json& share : segment.value("shares", json::array())) {
      const int ranks = share.value("ranks", 0);
      shares.push_back(
          fmt::format("{} {} rank{}", share.value("volunteer", ""), ranks, ranks == 1 ? "" : "s"));
    }
    const std::string digest = segment.value("digest", "");
    fmt::print("    steps [{}, {}) by group {} ({}): {}\n", segment.value("first_step", 0),
               segment.value("last_step", 0), segment.value("group", 0), fmt::join(shares, ", "),
               digest.empty() ? std::string("no validation digest yet") : digest);
  }
}

void print_job(const json& j) {
  fmt::print("job {} ({}, {}): {}\n", j.value("job", 0), j.value("name", ""), j.value("kernel", ""),
             j.value("state", ""));
  if (!j.value("message", std::string()).empty()) fmt::print("  {}\n", j.value("message", ""));
  fmt::print("  step {} of {} ({:.1f} %)\n", j.value("step", 0), j.value("steps", 0),
             100.0 * j.value("progress", 0.0));
  if (j.value("ranks", 0) > 0) {
    fmt::print("  ranks {} on {}\n", j.value("ranks", 0),
               fmt::join(j.value("volunteers", std::vector<std::string>{}), ", "));
  }
  fmt::print("  volunteers used {}\n",
             fmt::join(j.value("volunteers_used", std::vector<std::string>{}), ", "));
  fmt::print("  restarts {}\n", j.value("restarts", 0));
  const json checkpoint = j.value("checkpoint", json(nullptr));
  fmt::print("  last checkpoint held by the pool: {}\n",
             checkpoint.is_number() ? fmt::format("step {}", checkpoint.get<std::int64_t>())
                                    : std::string("none yet"));
  print_segments(j);
}

}  // namespace

json checked(const pool::HttpResponse& response, const std::string& what) {
  if (response.ok()) return response.json();
  if (response.status == 401) {
    throw UsageError(
        fmt::format("{}: the pool refused the token (HTTP 401): {}; check --token or "
                    "$SPARE_TOKEN",
                    what, response.error_message()));
  }
  if (response.status == 403) {
    throw UsageError(fmt::format("{}: the pool refused this request (HTTP 403): {}", what,
                                 response.error_message()));
  }
  const ExitCode code = response.status == 422 ? ExitCode::invalid_job : ExitCode::run_failed;
  throw Error(code, fmt::format("{}: {}", what, response.error_message()));
}

int submit_command(const std::vector<std::string>& args) {
  po::options_description options("options");
  options.add_options()("help,h", "show this help")(
      "set", po::value<std::vector<std::string>>()->composing(),
      "override a key of the job file: SECTION.KEY=VALUE (repeatable)")(
      "ranks,n", po::value<std::string>(),
      "MPI ranks, a number or auto (same as --set job.ranks=N)")(
      "worker", po::value<std::string>(),
      "the worker program whose kernels the job is checked against");
  add_pool_options(options);
  const po::variables_map vm = parse_command_line(args, options, {"job"}, "spare submit");
  if (vm.count("help")) {
    print_help("spare submit JOB.ini --pool URL [--set KEY=VALUE]...",
               "Checks a job like `spare run` does and submits it to a pool; prints the job's\n"
               "number. ranks = auto uses one rank per CPU the volunteers of its group lend.",
               options);
    return 0;
  }
  if (!vm.count("job")) throw UsageError("spare submit: which job file?");
  const std::vector<std::string> overrides = job_overrides(vm);
  const WorkerProgram worker(worker_option(vm));
  const std::string file = vm["job"].as<std::string>();
  const JobSpec spec = load_job_spec(file, overrides, worker.kernels());
  worker.plan(spec, spec.ranks > 0 ? spec.ranks : 1);  // an impossible decomposition fails here
  pool::HttpsClient client = pool_client(vm, "spare submit");
  const std::int64_t id = submit_to_pool(client, spec, file, worker.kernels());
  fmt::print(stderr, "submitted {} as job {} to {}; follow it with `spare status {}`\n", spec.name,
             id, client.base_url(), id);
  fmt::print("{}\n", id);
  return 0;
}

std::int64_t submit_to_pool(pool::HttpsClient& client, const JobSpec& spec,
                            const std::string& source, const KernelRegistry& kernels,
                            std::optional<std::int64_t> resume_step) {
  // Input files go first, by content: one the pool already has is not sent again.
  json inputs = json::object();
  for (const auto& [key, path] : input_files(spec, kernels)) {
    const std::string hex = pool::sha256_file_hex(path);
    const pool::HttpResponse known = client.get(pool::protocol::kInputKnown.path(hex));
    const bool send = known.status == 404;
    if (send) {
      checked(client.put_file(pool::protocol::kInputUpload.path(hex), path),
              "input upload of " + path.string());
    } else {
      checked(known, "input lookup");
    }
    fmt::print(stderr, "input {} = {}: sha256 {}, {}\n", key, path.string(), hex,
               send ? "sent to the pool" : "already in the pool");
    inputs[key] = hex;
  }
  json submission = {{"ini", spec.to_ini()}, {"source", source}, {"inputs", inputs}};
  if (resume_step) submission["resume_step"] = *resume_step;
  const json answer = checked(client.post(pool::protocol::kSubmit.path(), submission), "submit");
  return answer.at("job").get<std::int64_t>();
}

int status_command(const std::vector<std::string>& args) {
  po::options_description options("options");
  options.add_options()("help,h", "show this help")("json", "print the facts as JSON for scripts");
  add_pool_options(options);
  const po::variables_map vm = parse_command_line(args, options, {"job"}, "spare status");
  if (vm.count("help")) {
    print_help("spare status [JOB] [--json]",
               "A job's state, ranks, volunteers, step, progress, restarts and last checkpoint;\n"
               "without JOB, every job and volunteer of the pool.",
               options);
    return 0;
  }
  pool::HttpsClient client = pool_client(vm, "spare status");
  if (vm.count("job")) {
    const std::int64_t id = job_id(vm, "spare status");
    const json job = checked(client.get(pool::protocol::kJob.path(id)), "status");
    if (vm.count("json")) {
      fmt::print("{}\n", job.dump(2));
    } else {
      print_job(job);
    }
    return 0;
  }
  const json pool_state = checked(client.get(pool::protocol::kPoolStatus.path()), "status");
  const json jobs = checked(client.get(pool::protocol::kJobs.path()), "status");
  if (vm.count("json")) {
    json facts = {{"version", pool_state.value("version", "")},
                  {"kernels", pool_state.value("kernels", json::object())},
                  {"volunteers", pool_state.at("volunteers")},
                  {"jobs", jobs.at("jobs")}};
    if (pool_state.contains("leader")) facts["leader"] = pool_state["leader"];
    fmt::print("{}\n", facts.dump(2));
    return 0;
  }
  // Volunteers must compute each kernel in these revisions to join.
  const json kernels = pool_state.value("kernels", json::object());
  std::vector<std::string> revisions;
  for (const auto& [kernel, revision] : kernels.items())
    revisions.push_back(fmt::format("{} {}", kernel, revision.dump()));
  fmt::print("pool: Spare {}; kernel revisions: {}\n", pool_state.value("version", "?"),
             fmt::join(revisions, ", "));
  if (const json leader = pool_state.value("leader", json()); leader.is_object()) {
    // A pool of replicas: the one that answered leads.
    const auto since = static_cast<std::time_t>(leader.value("since", 0.0));
    std::tm local{};
    localtime_r(&since, &local);
    fmt::print("leader: {} since {:%Y-%m-%d %H:%M:%S}, epoch {}\n", leader.value("url", "?"), local,
               leader.value("epoch", 0));
  }
  fmt::print("volunteers:\n");
  for (const json& v : pool_state.at("volunteers")) {
    // Names and addresses are shown to operators' tokens only.
    fmt::print("  {:>3} {:<28} {:<8} {} CPUs, {} GPUs, {}\n", v.value("id", 0),
               pool::printable(v.value("name", "-")), v.value("state", ""), v.value("cpus", 0),
               v.value("gpus", 0), format_bytes(v.value("memory", std::uint64_t{0})));
  }
  fmt::print("jobs:\n");
  for (const json& j : jobs.at("jobs")) {
    fmt::print("  {:>3} {:<20} {:<10} step {}/{}  {}\n", j.value("job", 0), j.value("name", ""),
               j.value("state", ""), j.value("step", 0), j.value("steps", 0),
               j.value("message", ""));
  }
  return 0;
}

int logs_command(const std::vector<std::string>& args) {
  po::options_description options("options");
  options.add_options()("help,h", "show this help")("follow,f", "keep printing until the job ends");
  add_pool_options(options);
  const po::variables_map vm = parse_command_line(args, options, {"job"}, "spare logs");
  if (vm.count("help")) {
    print_help("spare logs JOB [--follow]",
               "The job's event log: groups formed, checkpoints, restarts, warnings and output.",
               options);
    return 0;
  }
  const std::int64_t id = job_id(vm, "spare logs");
  pool::HttpsClient client = pool_client(vm, "spare logs");
  std::int64_t after = 0;
  for (;;) {
    const json log = checked(
        client.get(fmt::format("{}?after={}", pool::protocol::kJobLog.path(id), after)), "logs");
    for (const json& e : log.at("events")) {
      // A group's output is a volunteer's to write: shown escaped, it drives no terminal.
      fmt::print("{} {:<10} {}\n", clock_time(e.value("time", 0.0)),
                 pool::printable(e.value("kind", "")), pool::printable(e.value("text", "")));
      after = e.value("id", after);
    }
    std::fflush(stdout);
    if (!vm.count("follow")) return 0;
    const json job = checked(client.get(pool::protocol::kJob.path(id)), "logs");
    const std::string state = job.value("state", "");
    if (state == "done" || state == "failed" || state == "cancelled") {
      if (log.at("events").empty()) return 0;
      continue;  // print what came in last
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
}

int cancel_command(const std::vector<std::string>& args) {
  po::options_description options("options");
  options.add_options()("help,h", "show this help");
  add_pool_options(options);
  const po::variables_map vm = parse_command_line(args, options, {"job"}, "spare cancel");
  if (vm.count("help")) {
    print_help("spare cancel JOB", "Stops a job; its volunteers stop its processes.", options);
    return 0;
  }
  const std::int64_t id = job_id(vm, "spare cancel");
  pool::HttpsClient client = pool_client(vm, "spare cancel");
  const json answer =
      checked(client.post(pool::protocol::kCancel.path(id), json::object()), "cancel");
  fmt::print(stderr, "job {} is {}\n", id, answer.value("state", ""));
  return 0;
}

int fetch_command(const std::vector<std::string>& args) {
  po::options_description options("options");
  options.add_options()("help,h", "show this help");
  add_pool_options(options);
  const po::variables_map vm = parse_command_line(args, options, {"job", "dir"}, "spare fetch");
  if (vm.count("help")) {
    print_help("spare fetch JOB DIR",
               "Downloads a finished job's result.h5 and result.xdmf into DIR.", options);
    return 0;
  }
  const std::int64_t id = job_id(vm, "spare fetch");
  if (!vm.count("dir")) throw UsageError("spare fetch: into which DIR?");
  const std::filesystem::path dir = vm["dir"].as<std::string>();
  pool::HttpsClient client = pool_client(vm, "spare fetch");
  const json job = checked(client.get(pool::protocol::kJob.path(id)), "fetch");
  if (job.value("state", "") != "done") {
    throw Error(ExitCode::run_failed,
                fmt::format("job {} has no result yet: it is {} (step {} of {})", id,
                            job.value("state", ""), job.value("step", 0), job.value("steps", 0)));
  }
  std::filesystem::create_directories(dir);
  for (const char* name : {"result.h5", "result.xdmf"}) {
    const pool::HttpResponse got =
        client.download(pool::protocol::kResultFile.path(id, name), dir / name);
    if (got.status == 404 && std::string(name) == "result.xdmf") continue;  // no grid to describe
    if (!got.ok())
      throw Error(ExitCode::run_failed, fmt::format("fetch {}: {}", name, got.error_message()));
    fmt::print(stderr, "{}\n", (dir / name).string());
  }
  return 0;
}

}  // namespace spare::launcher
