// What the CUDA tests share: whether there is a CUDA device (always, under the emulation), the
// device their tensors live on, and a fixture base that skips without one.
#pragma once
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include "cuda/runtime.h"

namespace analog::cuda_test {

inline bool has_gpu() {
  int n = 0;
  return cudaGetDeviceCount(&n) == cudaSuccess && n > 0;
}

/// Where the glue's tensors go: the GPU, or the CPU under the emulation (ANALOG_CUDA_EMULATION).
inline at::Device kernel_device() {
#ifdef ANALOG_CUDA_EMULATION
  return at::Device(at::kCPU);
#else
  return at::Device(at::kCUDA, 0);
#endif
}

/// Base of the CUDA test fixtures: the test is skipped (and reported so) without a CUDA device.
template <class Base = ::testing::Test>
class NeedsGpu : public Base {
 protected:
  void SetUp() override {
    if (!has_gpu()) GTEST_SKIP() << "no CUDA device";
  }
};

}  // namespace analog::cuda_test
