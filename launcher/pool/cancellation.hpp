// A group's work is cancelled from another thread (the agent's session, which
// must never wait for it): the flag its loops check, and the requests it has
// in flight, which cancel() interrupts at once instead of waiting for their
// timeouts (60 s for a checkpoint's shard).
#pragma once

#include <atomic>
#include <mutex>
#include <set>

#include "https_client.hpp"

namespace spare::pool {

class Cancellation {
 public:
  bool cancelled() const { return cancelled_.load(); }
  /// Thread-safe, idempotent, never blocks on I/O.
  void cancel();

  /// While it lives, `client`'s requests are interrupted by cancel(). Work
  /// checks cancelled() before each request it makes.
  class Scope {
   public:
    Scope(Cancellation& cancellation, HttpsClient& client);
    ~Scope();
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    Cancellation& cancellation_;
    HttpsClient& client_;
  };

 private:
  std::atomic<bool> cancelled_{false};
  std::mutex mutex_;  // guards clients_, and orders cancel() against a Scope's start and end
  std::set<HttpsClient*> clients_;
};

}  // namespace spare::pool
