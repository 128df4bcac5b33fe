// `spare bench checkpoint|overhead|KERNEL`: measurements as ratios against a
// baseline run in the same invocation, on the same machine; for a kernel on
// a GPU (--device cuda), against the GPU's ceilings from spare-bench-gpu.
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <regex>

#include "child_process.hpp"
#include "command_line.hpp"
#include "commands.hpp"
#include "local_backend.hpp"
#include "program_paths.hpp"
#include "spare/error.hpp"
#include "spare/gpu.hpp"
#include "spare/job_plan.hpp"
#include "spare/machine.hpp"
#include "worker_program.hpp"

namespace spare::launcher {

namespace fs = std::filesystem;

namespace {

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const std::size_t n = values.size();
  return n % 2 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

std::vector<std::string> mpirun_prefix(std::int64_t ranks, int cores) {
  std::vector<std::string> argv{mpiexec_program(), "-n", std::to_string(ranks)};
  if (ranks > cores) argv.insert(argv.end(), {"--oversubscribe", "--bind-to", "none"});
  return argv;
}

/// Runs `argv` under mpirun's environment; returns its stdout; throws if it fails.
std::string capture(const std::vector<std::string>& argv) {
  ChildOptions options;
  options.environment = mpirun_environment();
  const CapturedRun run = run_and_capture(argv, options);
  if (run.status != 0) {
    throw Error(ExitCode::run_failed,
                fmt::format("{} exited with status {}:\n{}", argv.front(), run.status, run.output));
  }
  return run.output;
}

int bench_checkpoint(const po::variables_map& vm, std::int64_t ranks, int cores) {
  std::vector<std::string> argv = mpirun_prefix(ranks, cores);
  argv.push_back(sibling_program("spare-bench-checkpoint", "SPARE_BENCH_CHECKPOINT").string());
  argv.insert(argv.end(),
              {"--megabytes", std::to_string(vm["megabytes"].as<double>()), "--repeat",
               std::to_string(vm["repeat"].as<int>()), "--dir", vm["dir"].as<std::string>()});
  ChildOptions options;
  options.environment = mpirun_environment();
  options.capture_stdout = false;
  options.parent_death_signal = SIGTERM;
  ChildProcess child(argv, options);
  return child.wait() == 0 ? 0 : static_cast<int>(ExitCode::run_failed);
}

/// Runs `job` through the local backend with no output; returns its "done" event.
nlohmann::json run_silently(const fs::path& job, std::int64_t ranks, int cores,
                            const WorkerProgram& worker) {
  std::FILE* null = std::fopen("/dev/null", "w");
  ProgressDisplay silent(null, false);
  const MpirunOutcome outcome =
      run_local_group(GroupLaunch{ranks, cores, job, worker.path()}, silent);
  std::fclose(null);
  if (!outcome.done) {
    throw Error(ExitCode::run_failed, fmt::format("the Spare run of {} failed (mpirun status {})",
                                                  job.string(), outcome.status));
  }
  return *outcome.done;
}

/// A value printed as NAME=NUMBER by a benchmark program.
double printed_value(const std::string& output, const std::string& name) {
  std::smatch match;
  if (!std::regex_search(output, match, std::regex(name + R"(=([0-9.eE+-]+))"))) {
    throw Error(ExitCode::internal, "the benchmark printed no " + name + ": " + output);
  }
  return std::stod(match[1].str());
}

/// `spare bench KERNEL --device cuda` without a usable GPU (or without CUDA in
/// this build): nothing is measured; documented in docs/performance.md.
constexpr int kNoGpu = 77;

/// Sizes that make a kernel's step worth timing on a workstation's CPU, or on
/// a data-centre GPU, where a step must be long against the per-step costs
/// (the step-boundary allreduce, the halo's trips through the host).
std::vector<std::string> benchmark_defaults(const std::string& kernel, bool gpu) {
  if (gpu) {
    if (kernel == "heat2d") return {"heat2d.nx=16384", "heat2d.ny=16384", "job.steps=100"};
    if (kernel == "nbody") return {"nbody.n=65536", "job.steps=20"};
    if (kernel == "cg") return {"cg.n=384", "cg.tolerance=1e-15", "job.steps=30"};
    if (kernel == "montecarlo") return {"montecarlo.samples=268435456", "job.steps=1000"};
    return {"job.steps=100"};
  }
  // Working sets well beyond a workstation's last-level cache: memory-bound, as meant.
  if (kernel == "heat2d") return {"heat2d.nx=4096", "heat2d.ny=4096", "job.steps=100"};
  if (kernel == "nbody") return {"nbody.n=2048", "job.steps=20"};
  if (kernel == "cg") return {"cg.n=192", "cg.tolerance=1e-15", "job.steps=30"};
  if (kernel == "montecarlo") return {"montecarlo.samples=16777216", "job.steps=1000"};
  return {"job.steps=100"};
}

/// What a kernel's rate is measured against, and how to measure it.
struct Ceiling {
  std::vector<std::string> command;
  std::string printed_name;  // NAME in the program's NAME=NUMBER output
  std::string description;
  double multiplier = 1;  // ranks on distinct GPUs add up
};

Ceiling cpu_ceiling(const WorkPerStep& work, std::int64_t copy_bytes, std::int64_t ranks,
                    int cores) {
  Ceiling c{mpirun_prefix(ranks, cores), "memcpy_bytes_per_s", "memcpy, read+write"};
  if (work.bytes <= 0) {
    c.printed_name = work.single_precision ? "fp32_flops_per_s" : "flops_per_s";
    c.description = work.single_precision ? "FP32 FMA chains" : "FP64 FMA chains";
  }
  c.command.push_back(sibling_program("spare-bench-roofline", "SPARE_BENCH_ROOFLINE").string());
  c.command.insert(c.command.end(), {"--bytes", std::to_string(copy_bytes)});
  return c;
}

/// The GPU's ceilings, or nothing (after saying why) without a usable GPU.
std::optional<Ceiling> gpu_ceiling(bool memory_bound, std::int64_t copy_bytes, std::int64_t ranks) {
  const fs::path program = own_directory() / "spare-bench-gpu";
  if (!fs::exists(program) && std::getenv("SPARE_BENCH_GPU") == nullptr) {
    fmt::print(
        "spare bench: no usable GPU (this build of Spare has no CUDA support); nothing "
        "was measured\n");
    return std::nullopt;
  }
  Ceiling c{{sibling_program("spare-bench-gpu", "SPARE_BENCH_GPU").string(), "--ceilings-only",
             "--bytes", std::to_string(copy_bytes)},
            memory_bound ? "d2d_copy_bytes_per_s" : "fp32_fma_flops_per_s",
            memory_bound ? "device-to-device copy, read+write" : "FP32 FMA chains"};
  const CapturedRun probe = run_and_capture(c.command);
  if (probe.status == kNoGpu) {
    fmt::print("spare bench: {}; nothing was measured\n",
               probe.output.substr(0, probe.output.find('\n')));
    return std::nullopt;
  }
  // Ranks take the node's GPUs in turn (spare/device.hpp): as many ceilings as GPUs in use.
  const auto gpus = static_cast<std::int64_t>(detect_gpus().gpus.size());
  c.multiplier = static_cast<double>(std::max<std::int64_t>(1, std::min(ranks, gpus)));
  return c;
}

int bench_kernel(const po::variables_map& vm, const WorkerProgram& worker,
                 const std::string& kernel, std::int64_t ranks, int cores, bool gpu) {
  const int repeat = vm["repeat"].as<int>();
  const fs::path dir = fs::absolute(vm["dir"].as<std::string>());
  fs::create_directories(dir);
  const fs::path job = dir / (kernel + ".ini");
  std::ofstream(job) << fmt::format(
      "[job]\nkernel = {}\nsteps = 1\nranks = {}\noutput = {}\nprogress_interval = 1e9\n"
      "[checkpoint]\ninterval_steps = 0\ninterval_seconds = 0\nkeep = 1\n",
      kernel, ranks, (dir / "out").string());
  std::vector<std::string> overrides = benchmark_defaults(kernel, gpu);
  overrides.push_back(gpu ? "job.device=cuda" : "job.device=cpu");
  if (vm.count("set")) {
    for (const std::string& s : vm["set"].as<std::vector<std::string>>())
      overrides.push_back(s);
  }
  const JobSpec spec = load_job_spec(job, overrides, worker.kernels());
  std::ofstream(job) << spec.to_ini();  // the job as benchmarked, overrides included
  const WorkerPlan planned = worker.plan(spec, ranks);
  if (!planned.work) {
    throw UsageError("spare bench: " + kernel + " declares no work per step to measure against");
  }
  const JobPlan& plan = planned.plan;
  const WorkPerStep work = *planned.work;
  const bool memory_bound = work.bytes > 0;
  // The ceiling's working set: half the kernel's state per rank is copied to the other half.
  const std::int64_t copy_bytes =
      std::max<std::int64_t>(static_cast<std::int64_t>(plan.largest_rank_bytes / 2), 1 << 20);
  std::optional<Ceiling> ceiling_of = gpu ? gpu_ceiling(memory_bound, copy_bytes, ranks)
                                          : cpu_ceiling(work, copy_bytes, ranks, cores);
  if (!ceiling_of) {
    fs::remove_all(dir);
    return kNoGpu;
  }

  std::vector<double> achieved, ceiling, ratios;
  for (int k = 0; k < repeat; ++k) {
    const std::string out = capture(ceiling_of->command);
    const double peak = printed_value(out, ceiling_of->printed_name) * ceiling_of->multiplier;
    fs::remove_all(dir / "out");
    const nlohmann::json done = run_silently(job, ranks, cores, worker);
    const double steps_run = done.value("steps_run", 0.0);
    const double rate =
        (memory_bound ? work.bytes : work.flops) * steps_run / done.value("loop_seconds", 1.0);
    achieved.push_back(rate);
    ceiling.push_back(peak);
    ratios.push_back(rate / peak);
    fmt::print("round {}: {} {:.2f} {}, ceiling {:.2f} {}, ratio {:.3f}\n", k + 1, kernel,
               rate / 1e9, memory_bound ? "GB/s" : "GFLOP/s", peak / 1e9,
               memory_bound ? "GB/s" : "GFLOP/s", ratios.back());
    std::fflush(stdout);
  }
  fs::remove_all(dir);
  const std::string unit = memory_bound ? "GB/s" : "GFLOP/s";
  fmt::print(
      "{} on {}, {} ranks ({}), median of {} rounds: {:.2f} {}  ceiling ({}) {:.2f} {}  "
      "ratio {:.3f}\n",
      kernel, gpu ? "GPU" : "CPU", ranks, work.counted, repeat, median(achieved) / 1e9, unit,
      ceiling_of->description, median(ceiling) / 1e9, unit, median(ratios));
  return 0;
}

/// `spare bench pool`: spare-bench-pool, told which `spare` runs it (the
/// pool, the tokens, the scientist's commands are this program).
int bench_pool(const po::variables_map& vm) {
  std::vector<std::string> argv{sibling_program("spare-bench-pool", "SPARE_BENCH_POOL").string(),
                                "--spare", fs::read_symlink("/proc/self/exe").string()};
  const auto pass = [&](const char* name, const std::string& value) {
    argv.insert(argv.end(), {std::string("--") + name, value});
  };
  if (vm.count("volunteers")) pass("volunteers", vm["volunteers"].as<std::string>());
  for (const char* name : {"seconds", "warmup", "interval"}) {
    if (vm.count(name)) pass(name, fmt::format("{}", vm[name].as<double>()));
  }
  if (vm.count("jobs")) pass("jobs", std::to_string(vm["jobs"].as<int>()));
  if (vm.count("replicas")) pass("replicas", std::to_string(vm["replicas"].as<int>()));
  if (vm.count("worker")) pass("worker", vm["worker"].as<std::string>());
  ChildOptions options;
  options.capture_stdout = false;
  options.parent_death_signal = SIGTERM;
  ChildProcess child(argv, options);
  return child.wait() == 0 ? 0 : static_cast<int>(ExitCode::run_failed);
}

/// `spare bench failover|move|contention`: a benchmark that starts real
/// services (the laptop cluster, etcd, Slurm) or many runs as the tests do,
/// written in Python beside them: run from Spare's source tree with Debian's
/// Python, told which `spare` to measure; `arguments` are passed on.
int bench_script(const std::string& which, const fs::path& script,
                 const std::vector<std::string>& arguments, bool needs_root = true) {
  const fs::path path = fs::path(SPARE_SOURCE_DIR) / script;
  std::error_code missing;
  if (!fs::exists(path, missing)) {
    throw Error(ExitCode::usage,
                fmt::format("spare bench {} runs {} from Spare's source tree, which is not here "
                            "(this spare was built from {})",
                            which, script.string(), SPARE_SOURCE_DIR));
  }
  if (needs_root && ::geteuid() != 0) {
    throw Error(ExitCode::usage, fmt::format("spare bench {} needs root: it makes network "
                                             "namespaces for its machines (sudo spare bench {})",
                                             which, which));
  }
  std::vector<std::string> argv{"/usr/bin/python3", path.string()};
  argv.insert(argv.end(), arguments.begin(), arguments.end());
  ChildOptions options;
  options.capture_stdout = false;
  options.parent_death_signal = SIGTERM;
  options.environment = {{"SPARE_BIN", fs::read_symlink("/proc/self/exe").string()}};
  ChildProcess child(argv, options);
  return child.wait() == 0 ? 0 : static_cast<int>(ExitCode::run_failed);
}

int bench_overhead(const po::variables_map& vm, std::int64_t ranks, int cores) {
  const auto size = vm["size"].as<std::int64_t>();
  const auto steps = vm["steps"].as<std::int64_t>();
  const int repeat = vm["repeat"].as<int>();
  const fs::path dir = fs::absolute(vm["dir"].as<std::string>());
  fs::create_directories(dir);
  const fs::path job = dir / "overhead.ini";
  {
    // No checkpoints but the final one, no progress reports until the end.
    std::ofstream out(job);
    out << fmt::format(
        "[job]\nkernel = heat2d\nsteps = {}\nranks = {}\noutput = {}\nprogress_interval = 1e9\n"
        "[checkpoint]\ninterval_steps = 0\ninterval_seconds = 0\nkeep = 1\n"
        "[heat2d]\nnx = {}\nny = {}\n",
        steps, ranks, (dir / "out").string(), size, size);
  }
  std::vector<std::string> plain = mpirun_prefix(ranks, cores);
  plain.push_back(sibling_program("spare-bench-plain-heat2d", "SPARE_BENCH_PLAIN").string());
  plain.insert(plain.end(), {"--nx", std::to_string(size), "--ny", std::to_string(size), "--steps",
                             std::to_string(steps)});
  std::vector<double> plain_seconds, spare_seconds, ratios;
  const auto run_plain = [&] { return printed_value(capture(plain), "loop_seconds"); };
  const auto run_spare = [&] {
    fs::remove_all(dir / "out");
    return run_silently(job, ranks, cores, WorkerProgram()).value("loop_seconds", 0.0);
  };
  for (int k = 0; k < repeat; ++k) {
    // Alternate which goes first, so neither always finds the caches warm.
    if (k % 2 == 0) {
      plain_seconds.push_back(run_plain());
      spare_seconds.push_back(run_spare());
    } else {
      spare_seconds.push_back(run_spare());
      plain_seconds.push_back(run_plain());
    }
    ratios.push_back(spare_seconds.back() / plain_seconds.back());
    fmt::print("round {}: plain MPI {:.3f} s, Spare {:.3f} s for {} steps, ratio {:.3f}\n", k + 1,
               plain_seconds.back(), spare_seconds.back(), steps, ratios.back());
    std::fflush(stdout);
  }
  fs::remove_all(dir);
  const double steps_d = static_cast<double>(steps);
  fmt::print(
      "heat2d {}x{}, {} steps, {} ranks, median of {} rounds: Spare {:.1f} steps/s  plain "
      "MPI {:.1f} steps/s  ratio {:.3f} (Spare's step-loop time / plain's)\n",
      size, size, steps, ranks, repeat, steps_d / median(spare_seconds),
      steps_d / median(plain_seconds), median(ratios));
  return 0;
}

}  // namespace

int bench_command(const std::vector<std::string>& args) {
  po::options_description options("options");
  options.add_options()("help,h", "show this help")("ranks,n", po::value<std::int64_t>(),
                                                    "MPI ranks (default: one per core)")(
      "repeat", po::value<int>()->default_value(7), "rounds after a warm-up; medians are reported")(
      "megabytes", po::value<double>()->default_value(256), "checkpoint: MB per rank")(
      "size", po::value<std::int64_t>()->default_value(2048), "overhead: heat2d grid side")(
      "steps", po::value<std::int64_t>()->default_value(1000), "overhead: steps per run")(
      "dir", po::value<std::string>()->default_value("spare-bench.tmp"),
      "scratch directory, on the disk to measure; removed afterwards")(
      "set", po::value<std::vector<std::string>>()->composing(),
      "KERNEL: override a key of the benchmark's job, e.g. heat2d.nx=4096")(
      "worker", po::value<std::string>(),
      "KERNEL: the worker program with the kernel; pool: the pool's worker")(
      "device", po::value<std::string>()->default_value("cpu"),
      "KERNEL: cpu, or cuda: on the GPU (one rank unless --ranks), against the GPU's "
      "ceilings; exits 77 without a usable GPU")(
      "volunteers", po::value<std::string>(),
      "pool: simulated volunteers, or a list for a curve, one pool each (default 10,100,1000)")(
      "seconds", po::value<double>(), "pool: seconds measured (default 10)")(
      "warmup", po::value<double>(), "pool: seconds of warm-up before (default 5)")(
      "jobs", po::value<int>(), "pool: small heat2d jobs submitted (default 2)")(
      "replicas", po::value<int>(),
      "pool: a pool of this many replicas on an etcd of its own, the leader measured "
      "(default: one pool on SQLite)")(
      "interval", po::value<double>(),
      "pool: seconds between a volunteer's heartbeats (default: the pool's, from its "
      "registration reply)")("kills", po::value<int>(),
                             "failover: kill -9s of the leading replica (default 10)")(
      "points", po::value<std::int64_t>(),
      "move: heat2d's grid points a side (default 11586: a 1 GiB checkpoint)");
  const po::variables_map vm = parse_command_line(args, options, {"which"}, "spare bench");
  if (vm.count("help") || !vm.count("which")) {
    print_help("spare bench checkpoint|overhead|pool|failover|move|contention|KERNEL [options]",
               "  checkpoint  Spare's checkpoint write rate / a raw sequential write + fsync of\n"
               "              the same bytes on the same disk (target >= 0.7)\n"
               "  overhead    heat2d's step loop under Spare / the same stencil as a plain MPI\n"
               "              program, checkpoints off (target <= 1.05)\n"
               "  KERNEL      a kernel's rate (bytes or flops per second, by its own count) /\n"
               "              the machine's ceiling measured alongside: memcpy bandwidth for\n"
               "              memory-bound kernels, multiply-add throughput for compute-bound;\n"
               "              with --device cuda, device-to-device copy bandwidth and FP32\n"
               "              FMA throughput of the GPU\n"
               "  pool        a real `spare pool` on this machine under N simulated volunteers\n"
               "              (TLS, tokens, heartbeats): heartbeats/s, their p50/p99 latency,\n"
               "              volunteers falsely declared lost, the pool's CPU and fsyncs/s,\n"
               "              and how long `spare status --json` takes (targets, 2 cores:\n"
               "              10,000 volunteers, p99 < 250 ms, none lost, status < 1 s);\n"
               "              --replicas 3: the same against the leader of three replicas\n"
               "  failover    kill -9 of the leading replica of three, ten times, under a\n"
               "              running job: median and worst time to the new leader's answer,\n"
               "              its first fenced write and first heartbeat; steps lost (target:\n"
               "              median <= lease TTL + 1 s, none lost). Root, etcd-server\n"
               "  move        spare move of a job with a 1 GiB checkpoint from this machine\n"
               "              to a Slurm started here: drain, copy, start. Root, slurm-wlm\n"
               "  contention  1, 2 and 3 two-rank heat2d jobs at once on this machine, their\n"
               "              ranks polling or yielding while they wait: each one's time / one\n"
               "              job alone\n"
               "Each prints the measured rates and the ratio on its last line.",
               options);
    return vm.count("help") ? 0 : static_cast<int>(ExitCode::usage);
  }
  const MachineInfo machine = detect_machine();
  const std::string device = vm["device"].as<std::string>();
  if (device != "cpu" && device != "cuda") {
    throw UsageError("spare bench: --device takes cpu or cuda, not '" + device + "'");
  }
  const bool gpu = device == "cuda";
  const std::int64_t ranks =
      vm.count("ranks") ? vm["ranks"].as<std::int64_t>() : (gpu ? 1 : machine.cores);
  if (ranks < 1) throw UsageError("spare bench: --ranks must be at least 1");
  const std::string which = vm["which"].as<std::string>();
  if (which == "pool") return bench_pool(vm);
  if (which == "failover") {
    std::vector<std::string> pass;
    if (vm.count("kills")) {
      if (vm["kills"].as<int>() < 1)
        throw UsageError("spare bench failover: --kills must be at least 1");
      pass = {"--kills", std::to_string(vm["kills"].as<int>())};
    }
    return bench_script(which, "tests/bench/failover/failover_bench.py", pass);
  }
  if (which == "move") {
    std::vector<std::string> pass;
    if (vm.count("points")) {
      if (vm["points"].as<std::int64_t>() < 16) {
        throw UsageError("spare bench move: --points must be at least 16");
      }
      pass = {"--points", std::to_string(vm["points"].as<std::int64_t>())};
    }
    return bench_script(which, "tests/bench/move/move_bench.py", pass);
  }
  if (which == "contention") {
    return bench_script(which, "tests/bench/contention/contention_bench.py", {},
                        /*needs_root=*/false);
  }
  if (which == "checkpoint") return bench_checkpoint(vm, ranks, machine.cores);
  if (which == "overhead") return bench_overhead(vm, ranks, machine.cores);
  const WorkerProgram worker(worker_option(vm));
  if (worker.kernels().find(which) != nullptr) {
    return bench_kernel(vm, worker, which, ranks, machine.cores, gpu);
  }
  throw UsageError(
      "spare bench: unknown benchmark '" + which +
      "'; expected checkpoint, overhead, pool, failover, move, contention or a kernel (`spare "
      "kernels`)");
}

}  // namespace spare::launcher
