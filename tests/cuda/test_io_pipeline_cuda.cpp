// The IO pipeline's kernels (cuda/io_pipeline_cuda.cu) against the CPU kernel on the same inputs
// and seeds. On a GPU, or (without one) under the CPU emulation of cuda/emulation.h.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <algorithm>
#include <cmath>
#include <memory>
#include <ostream>
#include <stdexcept>
#include <utility>
#include <vector>

#include "analog/config/rpu_config.h"
#include "analog/kernels/io_pipeline_math.h"
#include "cpu/device_sampling_cpu.h"
#include "cpu/io_pipeline_cpu.h"
#include "cpu/pulsed_update_cpu.h"
#include "cpu/random_fill.h"
#include "cuda/cuda_test_support.h"
#include "cuda/device_sampling_cuda.h"
#include "cuda/io_pipeline_cuda.h"
#include "cuda/pulsed_update_cuda.h"
#include "support/test_support.h"
#include "tile/kernel_specs.h"

namespace analog {
namespace {

using cuda_test::Buffer;
using cuda_test::CudaParity;

// The whole forward pipeline with bound-management re-runs; round 0's GEMM is done on the host
// with the same ATen call the CPU kernel uses, the re-runs' MVMs by the ADC kernel.
TEST_F(CudaParity, ForwardPipelineMatchesCpu) {
  at::manual_seed(3);
  const int64_t batch = 32, n = 200, m = 50;
  const at::Tensor x = at::rand({batch, n});
  const at::Tensor w = at::rand({m, n}) * 0.3;  // positive: outputs saturate, BM re-runs
  IOParameters io;
  io.out_noise(0.1);
  const auto ref = cpu::io_mvm_cpu(x, w, false, io_spec(io, true, false), 99, 7, "parity");
  const cuda::IoSpec spec =
      io_spec(io, /*use_bm=*/true, /*zero_shortcut_needs_no_inp_noise=*/false);
  Buffer dx(x.data_ptr<float>(), batch * n * 4), dw(w.data_ptr<float>(), m * n * 4),
      alpha(batch * 4), red(batch * 4), active(batch * 4), bad(batch * 4), xq(batch * n * 4),
      yq(batch * m * 4), y(batch * m * 4);
  cuda::launch_io_prepare(dx.as<float>(), n, batch, n, spec, 99, 7, alpha.as<float>(),
                          red.as<float>(), active.as<int32_t>(), bad.as<int32_t>(), xq.as<float>(),
                          nullptr);
  const at::Tensor yq_host =
      xq.to_tensor({batch, n}).mm(w.t());  // round 0's GEMM; adc does the re-runs
  cudaMemcpy(yq.ptr, yq_host.data_ptr<float>(), batch * m * 4, cudaMemcpyHostToDevice);
  const int64_t zero = 0;
  Buffer passes(&zero, sizeof zero);
  cuda::launch_io_adc(dx.as<float>(), n, dw.as<float>(), false, batch, n, m, alpha.as<float>(),
                      red.as<float>(), active.as<int32_t>(), spec, 99, 7, xq.as<float>(),
                      yq.as<float>(), nullptr, y.as<float>(), nullptr, 0.0f, passes.as<int64_t>(),
                      nullptr);
  EXPECT_GT(ref.reduction.max().item<float>(), 1.0f);  // re-runs happened
  // The pass count: every row's rounds, log2 of its final reduction factor + 1.
  int64_t counted = -1;
  cudaMemcpy(&counted, passes.ptr, sizeof counted, cudaMemcpyDeviceToHost);
  EXPECT_EQ(static_cast<double>(counted), (red.to_tensor({batch}).log2() + 1).sum().item<double>());
  std::vector<int32_t> host_bad(batch, -1);
  cudaMemcpy(host_bad.data(), bad.ptr, batch * 4, cudaMemcpyDeviceToHost);
  EXPECT_EQ(std::count(host_bad.begin(), host_bad.end(), 0), batch);  // every row written, none bad
  // The CPU kernel multiplies only the re-run rows (a BLAS GEMM), the ADC kernel one row at a
  // time: the sums run in another order, so a value may land on the other side of an ADC
  // rounding edge (a few 1e-5 of all values) and, rarely, change a sample's bound-management
  // factor. Everything else is identical, so: reductions equal for >= 95% of samples, outputs
  // within 1e-5 relative for >= 99% of values.
  const at::Tensor same_r = red.to_tensor({batch}).eq(ref.reduction);
  EXPECT_GE(same_r.sum().item<int64_t>(), batch * 95 / 100);
  const at::Tensor diff = (y.to_tensor({batch, m}) - ref.y).abs();
  const at::Tensor close = diff.le(1e-4 + 1e-5 * ref.y.abs());
  EXPECT_GE(close.sum().item<int64_t>(), batch * m * 99 / 100);
}

}  // namespace
}  // namespace analog
