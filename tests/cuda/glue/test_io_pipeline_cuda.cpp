// The IO pipeline's torch glue (csrc/cuda/io_pipeline_cuda.cpp: the spec, the bound-management
// loop, weight noise, column slices, the deferred NaN/inf check) against the CPU kernel on the
// same inputs and seeds. On a GPU build the tensors live on the GPU; in the emulated build
// (ANALOG_CUDA_EMULATION) the same glue runs on CPU tensors and the kernels in cuda/emulation.h.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <cmath>
#include <functional>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "analog/config/rpu_config.h"
#include "analog/nn/analog_linear.h"
#include "analog/nonfinite_error.h"
#include "analog/optim/analog_sgd.h"
#include "analog/train/trainer.h"
#include "cpu/device_sampling_cpu.h"
#include "cpu/io_pipeline_cpu.h"
#include "cpu/pulsed_update_cpu.h"
#include "cuda/cuda_test_support.h"
#include "cuda/glue/glue_test_support.h"
#include "cuda/mapped_flags.h"
#include "cuda/runtime.h"
#include "cuda/tile_kernels_cuda.h"
#include "support/test_support.h"
#include "tile/kernel_specs.h"
#include "tile/tile_kernels.h"

namespace analog {
namespace {

using cuda_test::CudaGlue;
using cuda_test::kernel_device;
using cuda_test::on_kernel_device;
using cuda_test::pulsed_update_one;

struct IoCase {
  const char* name;
  std::function<void(IOParameters&)> set;
  bool transposed = false;  // the backward pass's MVM (y = x w), as the tile calls it
  bool use_bm = true;
  bool zero_rows = false;  // every third row of x all zero (noise management's short-cut)
  bool zero_flag = false;  // zero_shortcut_needs_no_inp_noise (the tile sets it in the backward)
  bool negative_rows = false;  // every fourth row of x all negative (alpha < 0 under max NM)
  bool reruns = false;         // outputs saturate: rows re-run under bound management
};

/// A case whose rows saturate (out_bound 2) and re-run: the ADC kernel's own MVM.
IoCase rerun_case(const char* name, const std::function<void(IOParameters&)>& set,
                  bool transposed = false) {
  IoCase c{name, [set](IOParameters& io) {
             io.out_bound(2.0);
             set(io);
           }};
  c.transposed = transposed;
  c.reruns = true;
  return c;
}

void PrintTo(const IoCase& c, std::ostream* os) { *os << c.name; }

class CudaGlueIo : public cuda_test::NeedsGpu<::testing::TestWithParam<IoCase>> {};

// io_mvm_cuda against io_mvm_cpu. Each pipeline draws the same noise for the same element, so
// the outputs agree up to the order of float sums: the GEMM's on the GPU (cuBLAS), and in
// bound-management re-runs, which the CPU does as a GEMM of the re-run rows and the ADC kernel
// row by row. A value within that rounding (~1e-6 relative) of an ADC step may round to the
// neighbouring step, and one within it of the bound may change its row's bound-management
// factor (and so the whole row): both rare. So: reductions equal for >= 95% of samples, and in
// those rows outputs within 1e-4 + 1e-5 |y| for >= 99% of values. A wrong mapping of any IO
// parameter moves nearly every output by a noise std or a quantisation step (>= 2e-3 here) and
// fails this. The re-run cases also check that rows re-ran and that all but one of them match
// (a broken re-run would otherwise only have to stay within the 5% of rows left out).
TEST_P(CudaGlueIo, MvmMatchesCpu) {
  const IoCase c = GetParam();
  at::manual_seed(21);
  const int64_t batch = 40, in = 150, out = 60;
  at::Tensor x = at::rand({batch, in}) * 2 - 1;
  if (c.zero_rows) x.index_put_({at::arange(0, batch, 3)}, 0.0f);
  if (c.negative_rows) x.index_put_({at::arange(1, batch, 4)}, -at::rand({batch / 4, in}) - 0.1);
  const at::Tensor w = (at::rand({out, in}) - 0.3) * 0.4;  // mostly positive: outputs saturate
  IOParameters io;
  c.set(io);
  const at::Tensor xin = c.transposed ? x.narrow(1, 0, out).contiguous() : x;
  // The gradient mask |y| >= mask_bound (the forward pass asks for 0.999 out_bound); a bound
  // inside the range of these outputs, so that the mask has both values.
  const float mask_bound = 1.0f;
  const auto ref = cpu::io_mvm_cpu(xin, w, c.transposed, io_spec(io, c.use_bm, c.zero_flag), 5, 9,
                                   "glue test", mask_bound);
  const auto got =
      cuda_glue::io_mvm_cuda(xin.to(kernel_device()), w.to(kernel_device()), c.transposed,
                             io_spec(io, c.use_bm, c.zero_flag), 5, 9, "glue test", mask_bound);
  const at::Tensor y = got.y.cpu(), r = got.reduction.cpu();
  ASSERT_EQ(y.sizes(), ref.y.sizes());
  const at::Tensor same_r = r.eq(ref.reduction);
  EXPECT_GE(same_r.sum().item<int64_t>(), batch * 95 / 100)
      << "reductions: " << r << " vs " << ref.reduction;
  if (c.reruns) {
    const at::Tensor reran = ref.reduction.gt(1.0f);
    const int64_t n_reran = reran.sum().item<int64_t>();
    EXPECT_GE(n_reran, batch / 4) << "the case must re-run rows";
    EXPECT_GE((same_r & reran).sum().item<int64_t>(), n_reran - 1);
  }
  const at::Tensor rows = same_r.nonzero().flatten();
  const at::Tensor close = (y - ref.y).abs().le(1e-4 + 1e-5 * ref.y.abs());
  const at::Tensor close_rows = close.index_select(0, rows);
  EXPECT_GE(close_rows.sum().item<int64_t>(), close_rows.numel() * 99 / 100)
      << "max |difference| " << (y - ref.y).abs().max().item<float>();
  if (c.zero_rows) EXPECT_TRUE(y.index({at::arange(0, batch, 3)}).eq(0).all().item<bool>());
  if (c.negative_rows) {  // alpha < 0: the short-cut only with the flag (as aihwkit's backward)
    const at::Tensor neg = y.index({at::arange(1, batch, 4)});
    EXPECT_EQ(neg.eq(0).all().item<bool>(), c.zero_flag);
  }
  // The mask agrees wherever the outputs do, and has both values.
  const at::Tensor mask = got.mask.cpu();
  ASSERT_TRUE(mask.defined() && mask.sizes() == ref.mask.sizes());
  EXPECT_TRUE((mask.eq(ref.mask) | close.logical_not()).all().item<bool>());
  const int64_t masked = ref.mask.sum().item<int64_t>();
  EXPECT_TRUE(masked > 0 && masked < ref.mask.numel()) << masked;
}

IoCase max_nm_with_input_noise(const char* name, bool zero_flag) {
  IoCase c{name,
           [](IOParameters& io) { io.noise_management(NoiseManagement::kMax).inp_noise(0.05); }};
  c.negative_rows = true;
  c.zero_flag = zero_flag;
  return c;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, CudaGlueIo,
    ::testing::Values(
        IoCase{"defaults", [](IOParameters&) {}},
        IoCase{"backward", [](IOParameters& io) { io.out_noise(0.06); }, true, false, false, true},
        rerun_case("bm_rerun", [](IOParameters& io) { io.out_noise(0.1); }),
        rerun_case(
            "transposed_bm_rerun", [](IOParameters& io) { io.out_noise(0.1).out_bound(1.0); },
            true),
        IoCase{"stochastic_rounding",
               [](IOParameters& io) { io.inp_sto_round(true).out_sto_round(true); }},
        IoCase{"input_noise", [](IOParameters& io) { io.inp_noise(0.05); }, false, true, true},
        IoCase{"nm_max_thres",
               [](IOParameters& io) { io.noise_management(NoiseManagement::kMax).nm_thres(0.5); }},
        max_nm_with_input_noise("nm_max_negative_rows", false),
        max_nm_with_input_noise("nm_max_negative_rows_zero_flag", true),
        IoCase{"nm_constant",
               [](IOParameters& io) {
                 io.noise_management(NoiseManagement::kConstant).nm_thres(2.0);
               }},
        IoCase{
            "nm_none_bm_none",
            [](IOParameters& io) {
              io.noise_management(NoiseManagement::kNone).bound_management(BoundManagement::kNone);
            }},
        IoCase{"unbounded_unquantised",
               [](IOParameters& io) { io.out_bound(0).inp_res(0).out_res(0); }},
        IoCase{"additive_weight_noise",
               [](IOParameters& io) {
                 io.w_noise_type(WeightNoiseType::kAdditiveConstant).w_noise(0.02);
               }},
        IoCase{"pcm_read_noise",
               [](IOParameters& io) { io.w_noise_type(WeightNoiseType::kPcmRead).w_noise(0.03); }},
        // Weight noise in the bound-management re-runs (the ADC kernel's own MVM and scales).
        rerun_case("additive_weight_noise_bm_rerun",
                   [](IOParameters& io) {
                     io.w_noise_type(WeightNoiseType::kAdditiveConstant).w_noise(0.02);
                   }),
        rerun_case("pcm_read_noise_bm_rerun",
                   [](IOParameters& io) {
                     io.w_noise_type(WeightNoiseType::kPcmRead).w_noise(0.03);
                   }),
        IoCase{"zero_rows", [](IOParameters&) {}, false, true, true},
        IoCase{"perfect", [](IOParameters& io) { io.is_perfect(true); }}),
    [](const ::testing::TestParamInfo<IoCase>& info) { return std::string(info.param.name); });

// Rows 2 and 4 hold a NaN: the error names the first.
TEST_F(CudaGlue, NonFiniteInputIsReportedWithItsFirstRow) {
  at::Tensor x = at::rand({6, 20});
  x[4][7] = NAN;
  x[2][1] = -INFINITY;
  const at::Tensor w = at::rand({5, 20});
  // The host does not wait for the GPU in the call: the check comes back, deferred.
  const auto r = cuda_glue::io_mvm_cuda(x.to(kernel_device()), w.to(kernel_device()), false,
                                        io_spec(IOParameters(), true, false), 1, 1, "glue test");
  ASSERT_TRUE(static_cast<bool>(r.check));
  const std::string error = test::nonfinite_error_of([&] { r.check(); });
  EXPECT_THAT(error, HasSubstr("row 2 "));
}

// A column slice of a wider matrix on the device (a tile's part of a layer's input) is read in
// place by the prepare, ADC (re-runs) and update kernels: the MVM gives the results of the
// slice's contiguous copy bit for bit, and the update the CPU's weights from that copy.
TEST_F(CudaGlue, ColumnSlicesAreReadInPlace) {
  at::manual_seed(13);
  const at::Tensor wide = at::rand({24, 100});
  const at::Tensor slice = wide.to(kernel_device()).narrow(1, 30, 40), copy = slice.contiguous();
  ASSERT_FALSE(slice.is_contiguous());
  const at::Tensor w =
      (at::rand({12, 40}) * 0.2).to(kernel_device());  // W x/max|x| above 2: re-runs
  IOParameters io;
  io.inp_noise(0.05).inp_sto_round(true).out_bound(2.0);
  const auto got =
      cuda_glue::io_mvm_cuda(slice, w, false, io_spec(io, true, false), 5, 9, "glue test", 1.0f);
  const auto ref =
      cuda_glue::io_mvm_cuda(copy, w, false, io_spec(io, true, false), 5, 9, "glue test", 1.0f);
  EXPECT_TRUE(got.y.cpu().equal(ref.y.cpu()));
  EXPECT_TRUE(got.reduction.cpu().equal(ref.reduction.cpu()));
  EXPECT_TRUE(got.mask.cpu().equal(ref.mask.cpu()));
  EXPECT_GT(ref.reduction.max().item<float>(), 1.0f) << "no row re-ran";
  got.check();
  ref.check();
  // Perfect IO: the GEMM reads the slice itself (ATen, with its row stride).
  IOParameters perfect;
  perfect.is_perfect(true);
  const auto exact =
      cuda_glue::io_mvm_cuda(slice, w, false, io_spec(perfect, true, false), 5, 10, "glue test");
  EXPECT_TRUE(at::allclose(exact.y.cpu(), copy.cpu().mm(w.cpu().t()), 1e-5, 1e-6));
  exact.check();

  PulsedDevice dev;
  const auto arrays = cpu::sample_devices_cpu(dev, 12, 40, false, 6);
  const at::Tensor d = (at::rand({24, 12}) * 2 - 1) * 0.1;
  const at::Tensor signed_wide =
      at::rand({24, 100}) * 2 - 1;  // both signs: a pulse's direction reads x
  at::Tensor w_cpu = at::rand({12, 40}) * 0.4 - 0.2;
  at::Tensor w_dev =
      w_cpu.clone().to(kernel_device());  // a copy also where the kernel device is the CPU
  const at::Tensor w0 = w_cpu.clone();
  cpu::pulsed_update_cpu(w_cpu, arrays, signed_wide.narrow(1, 30, 40).contiguous(), d,
                         UpdateParameters(), dev, 0.05f, 3, 77);
  const auto check = pulsed_update_one(
      w_dev, on_kernel_device(arrays), signed_wide.to(kernel_device()).narrow(1, 30, 40),
      d.to(kernel_device()), UpdateParameters(), dev, 0.05f, 3, 77);
  EXPECT_FALSE(w_cpu.equal(w0)) << "the update changed nothing: the test tests nothing";
  EXPECT_TRUE(w_dev.cpu().equal(w_cpu))
      << "max |difference| " << (w_dev.cpu() - w_cpu).abs().max().item<float>();
  if (check) check();
}

// A population's MVMs in one call: each point as its own io_mvm (its spec, stream, counter and
// mask bound), forward with re-runs and backward, a column slice of a wider input and an input
// shared by all points (stride 0), in the same launches as one point; a point whose input holds
// a NaN gets NaN outputs there instead of an error.
TEST_F(CudaGlue, PopulationMvmEqualsEachPointAlone) {
  at::manual_seed(12);
  constexpr int64_t kPoints = 3, kRows = 16, kIn = 60, kOut = 20;
  const at::Tensor wide = at::rand({kPoints, kRows, kIn + 7}).to(kernel_device());
  const at::Tensor w = (at::rand({kPoints, kOut, kIn}) * 0.5).to(kernel_device());
  std::vector<IOParameters> io(kPoints);
  io[0].out_bound(2.0);  // saturates: rows re-run
  io[1].out_noise(0.2).inp_res(1.0 / 30.0);
  io[2].out_bound(3.0).out_noise(0.0);
  for (const bool transposed : {false, true}) {
    SCOPED_TRACE(transposed ? "backward" : "forward");
    const at::Tensor wt = transposed ? w.transpose(1, 2).contiguous() : w;
    for (const bool shared : {false, true}) {
      SCOPED_TRACE(shared ? "one input for all points" : "a column slice per point");
      const at::Tensor x =
          shared ? wide[0].narrow(1, 0, kIn).unsqueeze(0).expand({kPoints, kRows, kIn})
                 : wide.narrow(2, 3, kIn);
      const at::Tensor passes = at::zeros({2 * kPoints}, at::kLong).to(kernel_device());
      std::vector<kernels::IoPoint> points;
      for (int64_t p = 0; p < kPoints; ++p) {
        points.push_back({io_spec(io[p], !transposed, transposed), 40 + static_cast<uint64_t>(p), 7,
                          passes.data_ptr<int64_t>() + p, transposed ? 0.0f : 1.5f});
      }
#ifdef ANALOG_CUDA_EMULATION
      const auto before = cuda::emulation::counters();
#endif
      const MvmResult together = cuda_glue::io_mvm_points_cuda(x, wt, transposed, points, "test");
#ifdef ANALOG_CUDA_EMULATION
      EXPECT_EQ(cuda::emulation::counters().launches - before.launches, 2);
      EXPECT_EQ(cuda::emulation::counters().runtime_calls - before.runtime_calls, 3)
          << "the two launches and one copy of the points' arguments";
#endif
      EXPECT_EQ(together.mask.defined(), !transposed);
      for (int64_t p = 0; p < kPoints; ++p) {
        SCOPED_TRACE(p);
        const auto& pt = points[static_cast<size_t>(p)];
        const MvmResult alone =
            cuda_glue::io_mvm_cuda(x[p], wt[p], transposed, pt.io, pt.key, pt.call, "test",
                                   pt.mask_bound, passes.data_ptr<int64_t>() + kPoints + p);
        EXPECT_TRUE(together.y[p].cpu().equal(alone.y.cpu()));
        EXPECT_TRUE(together.reduction[p].cpu().equal(alone.reduction.cpu()));
        if (!transposed) EXPECT_TRUE(together.mask[p].cpu().equal(alone.mask.cpu()));
        EXPECT_EQ(passes[p].item<int64_t>(), passes[kPoints + p].item<int64_t>());
      }
      if (!transposed && !shared)
        EXPECT_GT(together.reduction[0].max().item<float>(), 1.0f) << "no row re-ran";
    }
  }
  at::Tensor bad = wide.narrow(2, 0, kIn).contiguous();
  bad[1][5][7] = NAN;
  std::vector<kernels::IoPoint> points;
  for (int64_t p = 0; p < kPoints; ++p)
    points.push_back({io_spec(io[p], true, false), 1, 1, nullptr, 0.0f});
  const at::Tensor y = cuda_glue::io_mvm_points_cuda(bad, w, false, points, "test").y.cpu();
  EXPECT_TRUE(y[1][5].isnan().all().item<bool>());
  EXPECT_TRUE(y[0].isfinite().all().item<bool>());
  EXPECT_TRUE(y[2].isfinite().all().item<bool>());
  // Exact points: the GEMM and each point's mask, as alone.
  std::vector<kernels::IoPoint> exact;
  for (int64_t p = 0; p < kPoints; ++p) {
    IOParameters perfect = io[p];
    perfect.is_perfect(true);
    exact.push_back({io_spec(perfect, true, false), 1, 1, nullptr, 7.0f + 0.5f * p});
  }
  const at::Tensor x_exact = wide.narrow(2, 0, kIn);
  const MvmResult y_exact = cuda_glue::io_mvm_points_cuda(x_exact, w, false, exact, "test");
  for (int64_t p = 0; p < kPoints; ++p) {
    const auto& pt = exact[static_cast<size_t>(p)];
    const MvmResult alone =
        cuda_glue::io_mvm_cuda(x_exact[p], w[p], false, pt.io, 1, 1, "test", pt.mask_bound);
    EXPECT_TRUE(y_exact.y[p].cpu().equal(alone.y.cpu())) << p;
    EXPECT_TRUE(y_exact.mask[p].cpu().equal(alone.mask.cpu())) << p;
    const int64_t masked = y_exact.mask[p].sum().item<int64_t>();
    EXPECT_TRUE(masked > 0 && masked < kRows * kOut) << p << ": " << masked << " masked";
  }
  // Points that cannot share one batched MVM.
  points[2].io.w_noise_type = WeightNoiseType::kAdditiveConstant;
  EXPECT_NE(test::error_of([&] {
              cuda_glue::io_mvm_points_cuda(bad, w, false, points, "test");
            }).find("must share"),
            std::string::npos);
}

}  // namespace
}  // namespace analog
