// Pulse trains: the thinned train fires each entry with its own probability, independently, and
// never a zero entry; the CPU kernel makes exactly the decisions of the shared kernels:: reference
// (which the CUDA kernel runs too), on sparse inputs, for thinned and dense trains.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "analog/kernels/pulsed_update_math.h"
#include "analog/kernels/rng.h"
#include "cpu/device_sampling_cpu.h"
#include "cpu/pulsed_update_cpu.h"
#include "support/test_support.h"

namespace analog {
namespace {

using kernels::Domain;

TEST(PulseTrains, ThinnedTrainFiresEachNonZeroEntryWithItsProbability) {
  // 40 entries, half of them zero, |v| up to 1; scale 0.25 puts p_max = 0.25 on the thinning path.
  std::vector<float> v(40, 0.0f);
  for (int j = 0; j < 40; j += 2) v[j] = (j % 4 == 0 ? 1.0f : -1.0f) * (0.05f + 0.95f * j / 38.0f);
  const float scale = 0.25f;
  const float p_max = scale * 1.0f;
  ASSERT_TRUE(kernels::use_thinning(p_max, 0.0f));
  const int calls = 40000;
  std::vector<int> fired(40, 0);
  int far_pair = 0, near_pair = 0;  // entries 20 and 38; 36 and 38 (adjacent non-zeros)
  for (int call = 0; call < calls; ++call) {
    bool f20 = false, f36 = false, f38 = false;
    kernels::thinned_train(v.data(), 40, scale, p_max, 0xABCDEFull, call, Domain::kUpdateX, 0,
                           [&](int64_t j) {
                             ++fired[j];
                             f20 |= j == 20;
                             f36 |= j == 36;
                             f38 |= j == 38;
                           });
    far_pair += f20 && f38 ? 1 : 0;
    near_pair += f36 && f38 ? 1 : 0;
  }
  double z_sum = 0;
  for (int j = 0; j < 40; ++j) {
    if (v[j] == 0.0f) {
      EXPECT_EQ(fired[j], 0) << "zero entry " << j << " fired";
      continue;
    }
    const double p = scale * std::fabs(v[j]);
    const double z = (fired[j] - calls * p) / std::sqrt(calls * p * (1 - p));
    EXPECT_LT(std::fabs(z), 4.0) << "entry " << j << ": " << fired[j] << " of " << calls
                                 << ", expected p = " << p;
    z_sum += z;
  }
  // 20 standardised counts: their mean has std 1/sqrt(20) when the train is unbiased.
  EXPECT_LT(std::fabs(z_sum / 20), 3.0 / std::sqrt(20.0));
  // Independence: P(i and j) = p_i p_j, for distant entries and for neighbours in the walk
  // (consecutive non-zero entries, where a dependence of successive gaps would show).
  const auto pair_z = [&](int count, int i, int j) {
    const double p2 = scale * std::fabs(v[i]) * scale * std::fabs(v[j]);
    return std::fabs(count - calls * p2) / std::sqrt(calls * p2 * (1 - p2));
  };
  EXPECT_LT(pair_z(far_pair, 20, 38), 4.0);
  EXPECT_LT(pair_z(near_pair, 36, 38), 4.0);
}

/// The decisions of one train by the shared reference functions.
std::vector<int64_t> reference_train(const float* v, int64_t size, float scale, float v_max,
                                      uint64_t key, uint64_t call, Domain domain, uint32_t slot) {
  std::vector<int64_t> active;
  const float p_max = std::min(1.0f, scale * v_max);
  if (!(p_max > 0.0f)) return active;
  if (kernels::use_thinning(p_max, 0.0f)) {
    kernels::thinned_train(v, size, scale, p_max, key, call, domain, slot,
                           [&](int64_t j) { active.push_back(j); });
    return active;
  }
  for (int64_t j = 0; j < size; ++j) {
    const uint32_t word = kernels::stream_block(key, call, domain, slot, static_cast<uint64_t>(j) >> 2).v[j & 3];
    if (v[j] != 0.0f && kernels::dense_fires(scale * std::fabs(v[j]), word)) active.push_back(j);
  }
  return active;
}

/// The pulsed update (stochastic_compressed, no discretisation) written with kernels:: only.
at::Tensor reference_update(const at::Tensor& w0, const DeviceArrays& dev, const at::Tensor& x,
                            const at::Tensor& d, const UpdateParameters& up, float lr, float dw_min,
                            float dw_min_std, uint64_t key, uint64_t first_call,
                            DeviceModel model = DeviceModel::kConstantStep) {
  at::Tensor w = w0.clone();
  float* W = w.data_ptr<float>();
  const float* P = dev.params.data_ptr<float>();
  const int64_t samples = x.size(0), in = x.size(1), out = d.size(1);
  for (int64_t s = 0; s < samples; ++s) {
    const float* xs = x.data_ptr<float>() + s * in;
    const float* ds = d.data_ptr<float>() + s * out;
    const float x_max = x[s].abs().max().item<float>(), d_max = d[s].abs().max().item<float>();
    const auto plan = kernels::plan_pulses(lr, dw_min, x_max, d_max, static_cast<int>(up.desired_bl()),
                                           up.fixed_bl(), up.update_bl_management(),
                                           up.update_management(), 1.0f);
    const uint64_t call = first_call + static_cast<uint64_t>(s);
    for (int t = 0; t < plan.bl; ++t) {
      const auto slot = static_cast<uint32_t>(t);
      const auto cols = reference_train(xs, in, plan.b, x_max, key, call, Domain::kUpdateX, slot);
      if (cols.empty()) continue;
      const auto rows = reference_train(ds, out, plan.a, d_max, key, call, Domain::kUpdateD, slot + 128u);
      uint64_t k = 0;  // pulse k of the slot takes normal k of its stream
      for (int64_t i : rows) {
        for (int64_t j : cols) {
          const int64_t e = i * in + j;
          const float xi = kernels::stream_normal(key, call, Domain::kPulseNoise, slot, k++);
          const bool down = (ds[i] > 0.0f) == (xs[j] > 0.0f);
          if (model == DeviceModel::kLinearStep) {
            const float* S = dev.slopes.data_ptr<float>();
            W[e] = kernels::linear_step_pulse(W[e], down, P[4 * e + 2], P[4 * e + 3], S[2 * e], S[2 * e + 1],
                                              dw_min_std, true, xi, P[4 * e], P[4 * e + 1]);
          } else if (model == DeviceModel::kSoftBounds) {
            W[e] = kernels::soft_bounds_pulse(W[e], down, P[4 * e + 2], P[4 * e + 3], dw_min_std, xi, P[4 * e],
                                              P[4 * e + 1]);
          } else {
            W[e] = kernels::constant_step_pulse(W[e], down, P[4 * e + 2], P[4 * e + 3], dw_min_std, xi,
                                                P[4 * e], P[4 * e + 1]);
          }
        }
      }
    }
  }
  return w;
}

struct ReferenceCase {
  const char* name;
  float lr;
  bool ublm;      // update BL management
  int bl;         // the pulse slots of sample 0
  bool thinned;   // whether sample 0's x train is thinned
  DeviceModel model = DeviceModel::kConstantStep;
};

class CpuUpdateMatchesReference : public ::testing::TestWithParam<ReferenceCase> {};

// lr 0.001 with BL management: BL 1, p_max ~0.2, thinned trains; without it: BL 7, p_max ~0.08,
// so the x list of non-zero indices serves seven slots; lr 0.05: p_max ~0.9, dense trains,
// BL up to 3.
TEST_P(CpuUpdateMatchesReference, SameDecisionsSameWeights) {
  const float lr = GetParam().lr;
  at::manual_seed(4);
  const int64_t samples = 48, in = 120, out = 40;
  // Sparse inputs (70% zeros, as MNIST) and errors with zeros (as after a ReLU).
  const at::Tensor x = at::rand({samples, in}) * (at::rand({samples, in}) < 0.3).to(at::kFloat);
  const at::Tensor d =
      (at::rand({samples, out}) * 2 - 1) * 0.05 * (at::rand({samples, out}) < 0.5).to(at::kFloat);
  PulsedDevice dev;
  dev.model(GetParam().model).gamma_up(0.5).gamma_down(0.3);  // the gammas act on linear_step only
  UpdateParameters up;
  up.desired_bl(7).update_bl_management(GetParam().ublm);
  const auto arrays = cpu::sample_devices_cpu(dev, out, in, false, 55);
  const float x_max = x[0].abs().max().item<float>(), d_max = d[0].abs().max().item<float>();
  const auto plan = kernels::plan_pulses(lr, 0.001f, x_max, d_max, 7, up.fixed_bl(),
                                         up.update_bl_management(), true, 1.0f);
  ASSERT_EQ(plan.bl, GetParam().bl);
  ASSERT_EQ(kernels::use_thinning(std::min(1.0f, plan.b * x_max), 0.0f), GetParam().thinned);
  at::Tensor w = at::rand({out, in}) * 0.2 - 0.1;
  const at::Tensor w0 = w.clone();
  cpu::pulsed_update_cpu(w, arrays, x, d, up, dev, lr, 11, 1000);
  const at::Tensor expected = reference_update(w0, arrays, x, d, up, lr, 0.001f, 0.3f, 11, 1000, GetParam().model);
  EXPECT_FALSE(w.equal(w0));
  EXPECT_TRUE(w.equal(expected)) << "max difference " << (w - expected).abs().max().item<float>();
}

INSTANTIATE_TEST_SUITE_P(
    Trains, CpuUpdateMatchesReference,
    ::testing::Values(ReferenceCase{"thinned", 0.001f, true, 1, true},
                      ReferenceCase{"thinned_bl7", 0.001f, false, 7, true},
                      ReferenceCase{"dense", 0.05f, true, 3, false},
                      ReferenceCase{"soft_bounds_thinned", 0.001f, true, 1, true, DeviceModel::kSoftBounds},
                      ReferenceCase{"soft_bounds_dense", 0.05f, true, 3, false, DeviceModel::kSoftBounds},
                      ReferenceCase{"linear_step_thinned", 0.001f, true, 1, true, DeviceModel::kLinearStep},
                      ReferenceCase{"linear_step_dense", 0.05f, true, 3, false, DeviceModel::kLinearStep}),
    [](const ::testing::TestParamInfo<ReferenceCase>& info) { return std::string(info.param.name); });

TEST(CpuUpdate, LinearStepDevicesWithoutSlopesAreAnError) {
  PulsedDevice dev;
  const auto arrays = cpu::sample_devices_cpu(dev, 3, 4, false, 1);  // constant_step: no slopes
  dev.model(DeviceModel::kLinearStep);
  at::Tensor w = at::zeros({3, 4});
  try {
    cpu::pulsed_update_cpu(w, arrays, at::ones({1, 4}), at::ones({1, 3}), UpdateParameters(), dev, 0.01f, 1, 0);
    FAIL() << "no error";
  } catch (const c10::Error& e) {
    EXPECT_THAT(std::string(e.msg()), HasSubstr("a linear_step device needs its slopes [3, 4, 2]"))
        << e.msg();
  }
}

// A large slot (dense 256 x 256 trains: tens of thousands of pulses) is split over threads by
// rows: the weights equal the serial reference with 1 and with 2 threads.
TEST(CpuUpdateThreads, LargeSlotsSplitOverThreadsGiveTheSameWeights) {
#ifndef _OPENMP
  GTEST_SKIP() << "built without OpenMP: at::parallel_for runs on one thread";
#endif
  struct RestoreThreads {
    int saved = at::get_num_threads();
    ~RestoreThreads() { at::set_num_threads(saved); }
  } restore;
  at::manual_seed(6);
  const int64_t samples = 3, in = 256, out = 256;
  const at::Tensor x = at::rand({samples, in}) * 0.5 + 0.5;
  const at::Tensor d = (at::rand({samples, out}) * 2 - 1) * 0.5;
  PulsedDevice dev;
  UpdateParameters up;
  up.desired_bl(7);
  const float lr = 1.0f;  // k = lr max|x| max|d| / dw_min >> 7: BL 7, p up to 1
  const auto plan = kernels::plan_pulses(lr, 0.001f, x[0].abs().max().item<float>(),
                                         d[0].abs().max().item<float>(), 7, true, true, true, 1.0f);
  ASSERT_EQ(plan.bl, 7);
  const auto arrays = cpu::sample_devices_cpu(dev, out, in, false, 56);
  const at::Tensor w0 = at::rand({out, in}) * 0.2 - 0.1;
  const at::Tensor expected = reference_update(w0, arrays, x, d, up, lr, 0.001f, 0.3f, 21, 5);
  for (int threads : {1, 2}) {
    at::set_num_threads(threads);
    ASSERT_EQ(at::get_num_threads(), threads);
    at::Tensor w = w0.clone();
    cpu::pulsed_update_cpu(w, arrays, x, d, up, dev, lr, 21, 5);
    EXPECT_TRUE(w.equal(expected)) << threads << " threads: max difference "
                                   << (w - expected).abs().max().item<float>();
  }
}

}  // namespace
}  // namespace analog
