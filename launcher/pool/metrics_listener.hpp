// `spare pool --metrics-listen ADDR:PORT`: GET /metrics in plain HTTP, with
// no token, on an address the operator chose for Prometheus (loopback, or a
// monitoring network): the usual way to scrape, since Prometheus can neither
// pin the pool's self-signed certificate nor verify it (it names no host).
// Nothing else is served there. One thread; each connection is closed after
// its answer, and a client silent for 10 s is dropped.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>

namespace spare::pool {

class MetricsListener {
 public:
  /// Binds `address` at once (UsageError, spare::Error as listen_on says);
  /// `metrics` is called for each scrape, on the listener's thread.
  MetricsListener(const std::string& address, std::function<std::string()> metrics,
                  std::function<void(const std::string&)> log);
  ~MetricsListener();  // stops
  MetricsListener(const MetricsListener&) = delete;
  MetricsListener& operator=(const MetricsListener&) = delete;

  int port() const { return port_; }
  /// Serves on a thread of its own until stop().
  void start();
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
  std::thread thread_;
};

}  // namespace spare::pool
