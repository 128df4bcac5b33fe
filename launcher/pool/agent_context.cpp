// The agent's shared context.
#include "agent_context.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <memory>

#include "local_backend.hpp"
#include "program_paths.hpp"
#include "request_error.hpp"
#include "spare/atomic_file.hpp"
#include "spare/error.hpp"
#include "spare/machine.hpp"
#include "spare/output_layout.hpp"
#include "static_program.hpp"

namespace spare::pool {

namespace fs = std::filesystem;

namespace {

/// The local address this machine uses to reach the pool: what peers in
/// the same network reach it by. A UDP connect sends nothing.
std::string address_towards(const std::string& urls) {
  // A pool of replicas: towards the first (they share a network).
  const std::string url = urls.substr(0, urls.find(','));
  const std::string rest = url.substr(url.find("://") + 3);
  const std::size_t colon = rest.rfind(':');
  std::string host = rest.substr(0, colon);
  const std::string port = rest.substr(colon + 1, rest.find('/', colon) - colon - 1);
  if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  addrinfo hints{};
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* found = nullptr;
  if (::getaddrinfo(host.c_str(), port.c_str(), &hints, &found) != 0 || found == nullptr) {
    throw UsageError(fmt::format("cannot resolve the pool's host '{}'", host));
  }
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> owner(found, &::freeaddrinfo);
  const int fd = ::socket(found->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw SystemError("socket", errno);
  sockaddr_storage local{};
  socklen_t length = sizeof local;
  const bool ok = ::connect(fd, found->ai_addr, found->ai_addrlen) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &length) == 0;
  const int saved = errno;
  ::close(fd);
  if (!ok) throw SystemError("cannot find a route to " + host, saved);
  char text[INET6_ADDRSTRLEN] = {};
  const void* raw =
      local.ss_family == AF_INET
          ? static_cast<const void*>(&reinterpret_cast<sockaddr_in&>(local).sin_addr)
          : static_cast<const void*>(&reinterpret_cast<sockaddr_in6&>(local).sin6_addr);
  ::inet_ntop(local.ss_family, raw, text, sizeof text);
  return text;
}

std::string host_name() {
  char name[256] = {};
  ::gethostname(name, sizeof name - 1);
  return name;
}

}  // namespace

AgentContext::AgentContext(AgentOptions options, std::function<void(const std::string&)> log)
    : options_(std::move(options)), log_(std::move(log)) {
  const MachineInfo machine = detect_machine();
  if (options_.cpus <= 0) options_.cpus = machine.cores;
  if (options_.memory <= 0) options_.memory = static_cast<std::int64_t>(machine.available_bytes);
  if (options_.address.empty()) options_.address = address_towards(options_.pool_url);
  if (options_.name.empty()) options_.name = host_name() + "@" + options_.address;
  fs::create_directories(options_.storage / "jobs");
  identity_ = load_or_create_tls_identity(options_.storage / "tls", "spare volunteer");
  worker_.emplace(options_.worker);
  worker_->kernels();
  // A guard the loader starts would run a head's LD_PRELOAD before its first check.
  if (!is_statically_linked(options_.guard_program)) {
    throw UsageError(fmt::format(
        "the worker guard {} is dynamically linked: a group's head could make the loader run "
        "its code in it (LD_PRELOAD); build Spare's spare-worker-guard, which is linked -static",
        options_.guard_program.string()));
  }
  const fs::path mpirun = launcher::mpiexec_program();
  orted_program_ = mpirun.has_parent_path() ? (mpirun.parent_path() / "orted").string() : "orted";
}

void AgentContext::registered(std::int64_t volunteer, std::string credential) {
  const std::lock_guard lock(mutex_);
  volunteer_ = volunteer;
  credential_ = std::move(credential);
}

std::int64_t AgentContext::volunteer() const {
  const std::lock_guard lock(mutex_);
  return volunteer_;
}

std::string AgentContext::credential() const {
  const std::lock_guard lock(mutex_);
  return credential_;
}

HttpsClient AgentContext::pool_client(double timeout_seconds) const {
  HttpsClient pool(options_.pool_url, options_.fingerprint, options_.token, timeout_seconds);
  if (const std::string mine = credential(); !mine.empty()) pool.set_header(kVolunteerHeader, mine);
  return pool;
}

fs::path AgentContext::job_dir(std::int64_t job) const {
  return options_.storage / "jobs" / std::to_string(job);
}

std::string AgentContext::peer_key(std::int64_t job) const {
  const fs::path file = job_dir(job) / "peer.key";
  std::error_code missing;
  if (!fs::exists(file, missing)) return {};
  return read_file_text(file);
}

std::string gpu_list(const std::vector<int>& gpus) {
  return fmt::format("{}", fmt::join(gpus, ","));
}

HttpsClient peer_client(const nlohmann::json& peer, const std::string& token,
                        double timeout_seconds) {
  return HttpsClient(fmt::format("https://{}:{}", peer.at("address").get<std::string>(),
                                 peer.at("agent_port").get<int>()),
                     peer.at("fingerprint").get<std::string>(), token, timeout_seconds);
}

std::map<std::string, std::string> group_environment(const fs::path& job_dir,
                                                     const std::vector<int>& gpus) {
  std::map<std::string, std::string> env = launcher::mpirun_environment();
  env["SPARE_JOB_DIR"] = job_dir.string();
  env["CUDA_VISIBLE_DEVICES"] = gpu_list(gpus);
  return env;
}

std::vector<fs::path> checkpoint_files_to_send(const fs::path& step_path) {
  std::vector<fs::path> files;
  for (const auto& f : fs::directory_iterator(step_path)) {
    const std::string name = f.path().filename().string();
    if (name.starts_with("shard-") && name.ends_with(".h5")) files.push_back(f.path());
  }
  std::sort(files.begin(), files.end());
  files.push_back(step_path / kManifestName);
  return files;
}

}  // namespace spare::pool
