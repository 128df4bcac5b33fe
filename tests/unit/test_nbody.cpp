// nbody's accelerations on the CPU against a straightforward loop over the
// documented order (nbody_force.hpp: blocks of kPullBlock summed in single
// precision, groups of blocks in double, groups in order), compiled here
// without the kernel's x86-64-v3 clone: the vectorised FMA build and the
// baseline build give the same bits, so any volunteer's CPU does.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "nbody/nbody.hpp"
#include "nbody/nbody_backend.hpp"
#include "nbody/nbody_force.hpp"

namespace spare::kernels::nbody {
namespace {

std::vector<double> reference_accelerations(const std::vector<double>& all, std::int64_t begin,
                                            std::int64_t end, double mass, double eps2) {
  const auto n = static_cast<std::int64_t>(all.size() / 3);
  const auto single = [&](std::int64_t k) { return static_cast<float>(all[k]); };
  const std::int64_t blocks = (n + kPullBlock - 1) / kPullBlock;
  std::vector<double> out;
  for (std::int64_t i = begin; i < end; ++i) {
    double sum[3] = {};
    for (int group = 0; group < kPullGroups; ++group) {
      double group_sum[3] = {};
      for (std::int64_t b = pull_group_begin(blocks, group);
           b < pull_group_begin(blocks, group + 1); ++b) {
        float block_sum[3] = {};
        for (std::int64_t j = b * kPullBlock; j < std::min((b + 1) * kPullBlock, n); ++j) {
          add_pull(single(3 * i), single(3 * i + 1), single(3 * i + 2), single(3 * j),
                   single(3 * j + 1), single(3 * j + 2), static_cast<float>(eps2), block_sum[0],
                   block_sum[1], block_sum[2]);
        }
        for (int c = 0; c < 3; ++c)
          group_sum[c] += block_sum[c];
      }
      for (int c = 0; c < 3; ++c)
        sum[c] += group_sum[c];
    }
    for (double s : sum)
      out.push_back(mass * s);
  }
  return out;
}

TEST(NBody, AccelerationsFollowTheDocumentedOrderBitForBit) {
  const std::int64_t n = 1000, begin = 123, end = 777;  // blocks cut at 128, lanes at 8
  std::mt19937_64 random(5);
  std::uniform_real_distribution<double> uniform(-2.0, 2.0);
  std::vector<double> all(3 * n);
  for (double& v : all)
    v = uniform(random);
  for (int c = 0; c < 3; ++c)
    all[3 * 200 + c] = all[3 * 201 + c];  // two particles at one place: eps2 alone
  const double mass = 1.0 / n, eps2 = 1e-4;
  std::vector<double> kernel(3 * (end - begin));
  accelerations_cpu(all.data(), n, begin, end, mass, eps2, kernel.data());
  const std::vector<double> reference = reference_accelerations(all, begin, end, mass, eps2);
  ASSERT_EQ(kernel.size(), reference.size());
  EXPECT_EQ(std::memcmp(kernel.data(), reference.data(), kernel.size() * sizeof(double)), 0);
}

TEST(NBody, PullIsNewtonsWithinItsRounding) {
  // One pull against the same formula in double: 1/|d|^3 within a few float ulps.
  std::mt19937_64 random(6);
  std::uniform_real_distribution<float> uniform(-3.0f, 3.0f);
  for (int k = 0; k < 10000; ++k) {
    const float xj = uniform(random), yj = uniform(random), zj = uniform(random);
    const float eps2 = 1e-3f;
    float ax = 0, ay = 0, az = 0;
    add_pull(0.0f, 0.0f, 0.0f, xj, yj, zj, eps2, ax, ay, az);
    const double s = double(xj) * xj + double(yj) * yj + double(zj) * zj + eps2;
    const double pull = 1.0 / (s * std::sqrt(s));
    EXPECT_NEAR(ax, xj * pull, 6e-7 * std::fabs(xj * pull));
    EXPECT_NEAR(ay, yj * pull, 6e-7 * std::fabs(yj * pull));
    EXPECT_NEAR(az, zj * pull, 6e-7 * std::fabs(zj * pull));
  }
}

TEST(NBody, ParticlesAreBoundedByWhatEveryRankCanGather) {
  // Every rank gathers 3 values a particle through MPI's int counts.
  const KernelInfo info = kernel_info();
  const ParamSpec& n = info.params.front();
  ASSERT_EQ(n.name, "n");
  const std::int64_t most = std::numeric_limits<int>::max() / 3;
  EXPECT_EQ(std::get<std::int64_t>(parse_param(n, std::to_string(most))), most);
  for (const std::string& too_many : {std::to_string(most + 1), std::string("1000000000")}) {
    try {
      parse_param(n, too_many);
      FAIL() << "accepted n = " << too_many;
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("an integer >= 2 and <= 715827882"), std::string::npos)
          << e.what();
    }
  }
}

}  // namespace
}  // namespace spare::kernels::nbody
