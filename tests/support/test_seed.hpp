// The seed of a test run's random choices, printed so a failure can be run
// again exactly: SPARE_TEST_SEED when set, else a fresh one.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>

namespace spare::testing {

inline std::uint64_t test_seed() {
  static const std::uint64_t seed = [] {
    const char* text = std::getenv("SPARE_TEST_SEED");
    const std::uint64_t chosen = text ? std::stoull(text) : std::random_device{}();
    std::printf("seed %llu (SPARE_TEST_SEED=%llu repeats this run)\n",
                static_cast<unsigned long long>(chosen), static_cast<unsigned long long>(chosen));
    return chosen;
  }();
  return seed;
}

}  // namespace spare::testing
