// What the tests of the CUDA glue share: the fixture, one job through the glue's pulsed update,
// device arrays on the kernel device, and (emulated) c10's junk fill of new CPU memory.
#pragma once
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <cstdint>
#include <functional>

#include "analog/config/device_parameters.h"
#include "analog/config/update_parameters.h"
#include "cuda/cuda_test_support.h"
#include "cuda/tile_kernels_cuda.h"
#include "tile/device_arrays.h"
#include "tile/tile_kernels.h"

#ifdef ANALOG_CUDA_EMULATION
#include <c10/util/Flags.h>
// c10's CPU allocator fills new memory with a junk pattern (a NaN as float, true as bool) when
// asked: the glue's at::empty buffers then show any element the kernels fail to write, as on a
// GPU, where reused memory holds old values.
C10_DECLARE_bool(caffe2_cpu_allocator_do_junk_fill);
#endif

namespace analog::cuda_test {

/// The glue's tests: skipped without a CUDA device (the emulation counts as one).
class CudaGlue : public NeedsGpu<> {};

/// One job through the glue's pulsed update (counting into `counts`, kUpdateCounters on the
/// kernel device, if given); returns the job's check.
inline std::function<void()> pulsed_update_one(const at::Tensor& w, const DeviceArrays& devices,
                                               const at::Tensor& x, const at::Tensor& d,
                                               const UpdateParameters& up, const PulsedDevice& dev,
                                               float lr, uint64_t key, uint64_t first_call,
                                               int64_t* counts = nullptr) {
  const auto results = cuda_glue::pulsed_update_cuda(
      {UpdateJob{w, devices, x, d, &up, &dev, lr, key, first_call, counts}});
  EXPECT_EQ(results.size(), 1u);
  EXPECT_TRUE(results.front().applied);
  return results.front().check;
}

/// A tile's device arrays on the kernel device (what the glue's pulsed update reads: params,
/// slopes).
inline DeviceArrays on_kernel_device(const DeviceArrays& a) {
  DeviceArrays moved;
  moved.params = a.params.to(kernel_device());
  if (a.slopes.defined()) moved.slopes = a.slopes.to(kernel_device());
  return moved;
}

#ifdef ANALOG_CUDA_EMULATION
/// Turns c10's junk fill on for the whole test program.
class JunkFill : public ::testing::Environment {
 public:
  void SetUp() override {
    // A global in both of c10's flag modes (with gflags, a using-declaration of gflags' own).
    FLAGS_caffe2_cpu_allocator_do_junk_fill = true;
  }
};
inline const auto* const junk_fill = ::testing::AddGlobalTestEnvironment(new JunkFill);
#endif

}  // namespace analog::cuda_test
