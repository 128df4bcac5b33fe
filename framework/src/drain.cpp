// Drain requests from signals. The handler only records the signal; the step
// loop acts on it at the next step boundary, where the state is consistent.
#include "spare/drain.hpp"

#include <csignal>
#include <initializer_list>

namespace spare {

namespace {
volatile std::sig_atomic_t requested_signal = 0;

extern "C" void on_drain_signal(int signal_number) {
  requested_signal = signal_number;
}
}  // namespace

void install_drain_signal_handlers() {
  struct sigaction action {};
  action.sa_handler = on_drain_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  for (int signal_number : {SIGTERM, SIGINT, SIGUSR1})
    sigaction(signal_number, &action, nullptr);
}

int drain_signal() {
  return requested_signal;
}

void request_drain(int signal_number) {
  requested_signal = signal_number;
}

}  // namespace spare
