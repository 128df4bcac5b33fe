// Counter-based random numbers: Philox4x32-10 (Random123), keyed by the job's
// seed and a stream, counted by a global index. A number depends on what it
// is for (sample i, round j), never on which rank or thread draws it, so
// results do not depend on the decomposition or the backend.
#pragma once

#include <Random123/philox.h>

#include <cmath>
#include <cstdint>

#include "spare/portable.hpp"
#include "spare/portable_math.hpp"

namespace spare {

class CounterRandom {
 public:
  SPARE_HOST_DEVICE CounterRandom(std::uint64_t seed, std::uint32_t stream)
      : key_{{static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)}},
        stream_(stream) {}

  /// Two uniform numbers in (0, 1), 53 random bits each, for (index, round).
  SPARE_HOST_DEVICE void uniform_pair(std::uint64_t index, std::uint32_t round, double& u1,
                                      double& u2) const {
    const r123::Philox4x32::ctr_type counter = {{static_cast<std::uint32_t>(index),
                                                 static_cast<std::uint32_t>(index >> 32), round,
                                                 stream_}};
    const r123::Philox4x32::ctr_type words = r123::Philox4x32()(counter, key_);
    u1 = to_open_unit(words.v[0], words.v[1]);
    u2 = to_open_unit(words.v[2], words.v[3]);
  }

  /// A standard normal number for `index` (Marsaglia's polar method; the
  /// rejected rounds are part of the index's own sequence).
  SPARE_HOST_DEVICE double normal(std::uint64_t index) const {
    for (std::uint32_t round = 0;; ++round) {
      double u1, u2;
      uniform_pair(index, round, u1, u2);
      const double v1 = 2.0 * u1 - 1.0;
      const double v2 = 2.0 * u2 - 1.0;
      const double s = v1 * v1 + v2 * v2;
      if (s > 0.0 && s < 1.0) return v1 * std::sqrt(-2.0 * portable::log(s) / s);
    }
  }

 private:
  /// (k + 1/2) 2^-53 for the top 53 bits k: never 0, never 1.
  SPARE_HOST_DEVICE static double to_open_unit(std::uint32_t low, std::uint32_t high) {
    const std::uint64_t bits = ((static_cast<std::uint64_t>(high) << 32) | low) >> 11;
    return (static_cast<double>(bits) + 0.5) * (1.0 / 9007199254740992.0);
  }

  r123::Philox4x32::key_type key_;
  std::uint32_t stream_;
};

}  // namespace spare
