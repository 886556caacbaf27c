// What the CUDA tests share: whether there is a CUDA device (always, under the emulation), the
// device their tensors live on, a fixture base that skips without one, and device buffers.
#pragma once
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <cstddef>

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

/// Device buffer with host copies in and out.
struct Buffer {
  void* ptr = nullptr;
  size_t bytes = 0;
  explicit Buffer(size_t b) : bytes(b) { EXPECT_EQ(cudaMalloc(&ptr, b), cudaSuccess); }
  Buffer(const void* host, size_t b) : Buffer(b) {
    cudaMemcpy(ptr, host, b, cudaMemcpyHostToDevice);
  }
  ~Buffer() { cudaFree(ptr); }
  template <class T>
  T* as() {
    return static_cast<T*>(ptr);
  }
  at::Tensor to_tensor(at::IntArrayRef sizes) {
    at::Tensor t = at::empty(sizes);
    cudaMemcpy(t.data_ptr<float>(), ptr, bytes, cudaMemcpyDeviceToHost);
    return t;
  }
};

/// The raw kernels' parity tests: skipped without a CUDA device (the emulation counts as one).
class CudaParity : public NeedsGpu<> {};

}  // namespace analog::cuda_test
