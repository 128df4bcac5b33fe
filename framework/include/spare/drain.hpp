// A drain request: stop at the next step boundary after a checkpoint. Asked
// for by SIGTERM, SIGINT or SIGUSR1 (the one `mpirun` forwards to ranks).
#pragma once

namespace spare {

void install_drain_signal_handlers();
/// The signal that asked for a drain, 0 if none did.
int drain_signal();
void request_drain(int signal_number);

}  // namespace spare
