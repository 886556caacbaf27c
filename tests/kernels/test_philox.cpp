// Philox-4x32-10 known-answer vectors and the statistics of the derived streams.
#include <ATen/core/PhiloxRNGEngine.h>
#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <vector>

#include "analog/kernels/philox.h"
#include "analog/kernels/rng.h"
#include "cpu/random_fill.h"
#include "support/test_support.h"

namespace analog::kernels {
namespace {

void expect_block(Philox4 got, uint32_t a, uint32_t b, uint32_t c, uint32_t d) {
  EXPECT_EQ(got.v[0], a);
  EXPECT_EQ(got.v[1], b);
  EXPECT_EQ(got.v[2], c);
  EXPECT_EQ(got.v[3], d);
}

// Random123's kat_vectors for philox4x32 with 10 rounds.
TEST(Philox, KnownAnswerVectors) {
  expect_block(philox4x32_10({{0, 0, 0, 0}}, 0, 0), 0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu,
               0x9b00dbd8u);
  expect_block(philox4x32_10({{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}}, 0xffffffffu,
                             0xffffffffu),
               0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu);
  expect_block(philox4x32_10({{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}}, 0xa4093822u,
                             0x299f31d0u),
               0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u);
}

TEST(Philox, MatchesATenEngine) {
  for (uint64_t seed : {0ull, 42ull, 0x123456789abcdefull}) {
    for (uint64_t sub : {0ull, 7ull, 1ull << 40}) {
      for (uint64_t off : {0ull, 3ull, 1ull << 33}) {
        at::Philox4_32 ref(seed, sub, off);
        const Philox4 ours =
            philox4x32_10({{static_cast<uint32_t>(off), static_cast<uint32_t>(off >> 32),
                            static_cast<uint32_t>(sub), static_cast<uint32_t>(sub >> 32)}},
                          static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32));
        for (int lane = 0; lane < 4; ++lane) EXPECT_EQ(ref(), ours.v[lane]);
      }
    }
  }
}

TEST(Streams, DistinctKeysCallsDomainsRoundsGiveDistinctBlocks) {
  std::set<uint32_t> first_words;
  const uint64_t k1 = stream_key(1, 0), k2 = stream_key(1, 1), k3 = stream_key(2, 0);
  for (uint64_t key : {k1, k2, k3}) {
    for (uint64_t call : {1ull, 2ull}) {
      for (Domain d : {Domain::kOutputNoise, Domain::kUpdateX}) {
        for (uint32_t round : {0u, 1u}) {
          first_words.insert(stream_block(key, call, d, round, 0).v[0]);
        }
      }
    }
  }
  EXPECT_EQ(first_words.size(), 24u);
}

// The batched Philox words (with AVX2: sixteen or eight blocks per vector pass, a padded pass
// for 3 to 7 left, the last one or two one by one) are the blocks of kernels::stream_block, for
// any start and count: block indices across 2^32, a call above 2^32, every counter field set.
TEST(Streams, BatchedWordsEqualStreamBlocks) {
  const uint64_t key = stream_key(0xFEDCBA9876543210ull, 7);
  for (uint64_t first : {0ull, 3ull, (1ull << 32) - 9, (1ull << 47) + 5}) {
    for (int64_t count : {0, 1, 2, 3, 7, 8, 9, 11, 15, 16, 17, 24, 31, 40, 100}) {
      const cpu::Stream s{key, 0x1234567890ull, Domain::kModifierDrop, 255};
      std::vector<uint32_t> words(static_cast<size_t>(4 * count) + 1, 0xDEADBEEFu);
      cpu::detail::stream_words(s, first, count, words.data());
      for (int64_t b = 0; b < count; ++b) {
        const Philox4 blk = stream_block(s.key, s.call, s.domain, s.round, first + b);
        for (int i = 0; i < 4; ++i) {
          ASSERT_EQ(words[static_cast<size_t>(4 * b + i)], blk.v[i])
              << "first " << first << " count " << count << " block " << b << " word " << i;
        }
      }
      EXPECT_EQ(words.back(), 0xDEADBEEFu) << "wrote past the end: count " << count;
    }
  }
}

// The batched, vectorised fills give exactly the element-wise stream values (which the CUDA
// kernels compute), for any start and length.
TEST(Streams, BatchedFillsEqualElementwiseStreams) {
  const cpu::Stream s{stream_key(9, 2), 17, Domain::kOutputNoise, 3};
  for (uint64_t start : {0ull, 1ull, 5ull, 1022ull}) {
    std::vector<float> z(1001), u(1001);
    cpu::fill_normals(s, start, 1001, z.data());
    cpu::fill_uniforms(s, start, 1001, u.data());
    for (uint64_t k = 0; k < 1001; ++k) {
      ASSERT_EQ(z[k], stream_normal(s.key, s.call, s.domain, s.round, start + k))
          << start << " " << k;
      ASSERT_EQ(u[k], stream_uniform(s.key, s.call, s.domain, s.round, start + k))
          << start << " " << k;
    }
  }
}

TEST(Streams, UniformMomentsWithinSamplingError) {
  const int n = 200000;
  std::vector<double> u;
  for (int i = 0; i < n; ++i) {
    const float v = stream_uniform(stream_key(3, 1), 5, Domain::kUpdateX, 0, i);
    ASSERT_GE(v, 0.0f);
    ASSERT_LT(v, 1.0f);
    u.push_back(v);
  }
  const auto [m, s] = test::mean_std(u);
  const double sd = std::sqrt(1.0 / 12.0);
  EXPECT_NEAR(m, 0.5, 3 * sd / std::sqrt(n));
  // SE of the sample std of a uniform: sd * sqrt((kurtosis - 1) / (4 n)), kurtosis 1.8.
  EXPECT_NEAR(s, sd, 3 * sd * std::sqrt(0.8 / (4.0 * n)));
}

TEST(Streams, NormalMomentsWithinSamplingError) {
  const int n = 200000;
  std::vector<double> z;
  for (int i = 0; i < n; ++i)
    z.push_back(stream_normal(stream_key(4, 2), 9, Domain::kOutputNoise, 3, i));
  const auto [m, s] = test::mean_std(z);
  EXPECT_NEAR(m, 0.0, 3.0 / std::sqrt(n));
  EXPECT_NEAR(s, 1.0, 3.0 / std::sqrt(2.0 * n));
  // Tail mass beyond 2 sigma: 0.0455 with binomial sampling error.
  int tail = 0;
  for (double v : z) tail += std::fabs(v) > 2.0;
  const double p = 0.0455003;
  EXPECT_NEAR(tail / double(n), p, 3 * std::sqrt(p * (1 - p) / n));
}

}  // namespace
}  // namespace analog::kernels

namespace analog::kernels {
namespace {

TEST(Transforms, LogUnitMatchesStdLog) {
  double worst = 0;
  for (uint32_t k = 1; k <= (1u << 24); k += 37) {
    const float u = static_cast<float>(k) * 5.9604644775390625e-8f;  // the (0, 1] grid we use
    worst = std::max(worst, std::fabs(double(log_unit(u)) - std::log(double(u))));
  }
  EXPECT_LT(worst, 4e-6);  // absolute, |log u| <= 16.6
  EXPECT_EQ(log_unit(1.0f), 0.0f);
}

TEST(Transforms, CosSinTurnMatchesStdCosSin) {
  double worst = 0;
  for (uint64_t k = 0; k < (1ull << 32); k += 65537 * 31) {
    const auto bits = static_cast<uint32_t>(k);
    float c, s;
    cos_sin_turn(bits, c, s);
    // The angle the bits stand for: quadrant, then 22 bits of fraction (the low 8 bits are unused).
    const double f = double((bits >> 8) & 0x3FFFFFu) / double(1u << 22);
    const double angle = (double(bits >> 30) + f) * M_PI / 2;
    worst =
        std::max(worst, std::max(std::fabs(c - std::cos(angle)), std::fabs(s - std::sin(angle))));
  }
  EXPECT_LT(worst, 3e-7);
}

}  // namespace
}  // namespace analog::kernels
