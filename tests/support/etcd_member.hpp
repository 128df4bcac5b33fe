// A real one-member etcd cluster for a test (Debian's etcd-server), on
// loopback ports of its own and a data directory of its own, killed and
// removed with the object. A test that needs etcd fails without it: setup
// installs it.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

#include "child_process.hpp"
#include "etcd_client.hpp"
#include "temp_dir.hpp"

namespace spare::testing {

/// A loopback port free now (the kernel's pick), for a server started next.
inline int free_loopback_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    if (fd >= 0) ::close(fd);
    throw std::runtime_error("no free loopback port");
  }
  ::close(fd);
  return ntohs(address.sin_port);
}

class EtcdMember {
 public:
  EtcdMember() : client_port_(free_loopback_port()), peer_port_(free_loopback_port()) {
    const std::string peer = "http://127.0.0.1:" + std::to_string(peer_port_);
    launcher::ChildOptions options;
    options.new_session = true;
    options.capture_stdout = false;
    options.log_file = dir_ / "etcd.log";
    process_ = std::make_unique<launcher::ChildProcess>(
        std::vector<std::string>{"etcd", "--name", "test", "--data-dir", (dir_ / "data").string(),
                                 "--listen-client-urls", url(), "--advertise-client-urls", url(),
                                 "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                                 "--initial-cluster", "test=" + peer},
        options);
    pool::EtcdOptions etcd;
    etcd.endpoints = {url()};
    etcd.timeout_seconds = 1;
    pool::EtcdClient client(etcd);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    for (;;) {
      if (client.endpoint_status(url()).healthy) return;
      if (process_->try_wait() || std::chrono::steady_clock::now() > deadline) {
        throw std::runtime_error("etcd did not start (is etcd-server installed?); see " +
                                 (dir_ / "etcd.log").string());
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  ~EtcdMember() {
    process_->signal_group(SIGKILL);
    process_->wait();
  }
  EtcdMember(const EtcdMember&) = delete;
  EtcdMember& operator=(const EtcdMember&) = delete;

  std::string url() const { return "http://127.0.0.1:" + std::to_string(client_port_); }
  pool::EtcdOptions options() const {
    pool::EtcdOptions etcd;
    etcd.endpoints = {url()};
    return etcd;
  }

 private:
  TempDir dir_;
  int client_port_;
  int peer_port_;
  std::unique_ptr<launcher::ChildProcess> process_;
};

}  // namespace spare::testing
