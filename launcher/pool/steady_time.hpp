// Waiting and measuring on the steady clock, as the agent's loops do.
#pragma once

#include <chrono>
#include <thread>

namespace spare::pool {

inline double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

inline void sleep_seconds(double seconds) {
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
}

}  // namespace spare::pool
