// Keeps SIGPIPE from killing the process while this thread writes to a socket
// whose peer has gone: OpenSSL writes with write(2), which raises it. Blocking
// it in the thread, not ignoring it process-wide, leaves other code and child
// processes as they were (the technique libpq uses).
#pragma once

#include <pthread.h>
#include <signal.h>

#include <ctime>

namespace spare::pool::detail {

class SigpipeBlocked {
 public:
  SigpipeBlocked() {
    sigemptyset(&sigpipe_);
    sigaddset(&sigpipe_, SIGPIPE);
    // Neither call can fail with these arguments.
    pthread_sigmask(SIG_BLOCK, &sigpipe_, &previous_);
    sigset_t pending;
    sigemptyset(&pending);
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
  }
  ~SigpipeBlocked() {
    // Swallow a SIGPIPE raised while blocked, so it is not delivered on unblocking.
    if (!was_pending_) {
      sigset_t pending;
      sigemptyset(&pending);
      if (sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1) {
        const timespec no_wait{};
        sigtimedwait(&sigpipe_, nullptr, &no_wait);
      }
    }
    pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
  }
  SigpipeBlocked(const SigpipeBlocked&) = delete;
  SigpipeBlocked& operator=(const SigpipeBlocked&) = delete;

 private:
  sigset_t sigpipe_;
  sigset_t previous_;
  bool was_pending_ = false;
};

}  // namespace spare::pool::detail
