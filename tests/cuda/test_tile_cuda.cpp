// The torch glue of the CUDA kernels (csrc/cuda/: parameter mapping, the bound-
// management loop, weight noise, the update's workspace, errors) against the CPU path on the same
// inputs and seeds, and a layer trained through it. On a GPU build the tensors live on the GPU;
// in the emulated build (ANALOG_CUDA_EMULATION) the same glue runs on CPU tensors and the kernels
// in cuda/emulation.h.
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
#include "cuda/mapped_flags.h"
#include "cuda/runtime.h"
#include "cuda/tile_kernels_cuda.h"
#include "support/test_support.h"
#include "tile/kernel_specs.h"
#include "tile/tile_kernels.h"

#ifdef ANALOG_CUDA_EMULATION
#include <c10/util/Flags.h>
// c10's CPU allocator fills new memory with a junk pattern (a NaN as float, true as bool) when
// asked: the glue's at::empty buffers then show any element the kernels fail to write, as on a
// GPU, where reused memory holds old values.
C10_DECLARE_bool(caffe2_cpu_allocator_do_junk_fill);
#endif

namespace analog {
namespace {

using cuda_test::kernel_device;

/// One job through the glue's pulsed update; returns the job's check.
std::function<void()> pulsed_update_one(const at::Tensor& w, const DeviceArrays& devices,
                                        const at::Tensor& x, const at::Tensor& d,
                                        const UpdateParameters& up, const PulsedDevice& dev,
                                        float lr, uint64_t key, uint64_t first_call) {
  const auto results =
      cuda_glue::pulsed_update_cuda({UpdateJob{w, devices, x, d, &up, &dev, lr, key, first_call}});
  EXPECT_EQ(results.size(), 1u);
  EXPECT_TRUE(results.front().applied);
  return results.front().check;
}

/// A tile's device arrays on the kernel device (what the glue's pulsed update reads: params,
/// slopes).
DeviceArrays on_kernel_device(const DeviceArrays& a) {
  DeviceArrays moved;
  moved.params = a.params.to(kernel_device());
  if (a.slopes.defined()) moved.slopes = a.slopes.to(kernel_device());
  return moved;
}

#ifdef ANALOG_CUDA_EMULATION
class JunkFill : public ::testing::Environment {
 public:
  void SetUp() override {
    // A global in both of c10's flag modes (with gflags, a using-declaration of gflags' own).
    FLAGS_caffe2_cpu_allocator_do_junk_fill = true;
  }
};
const auto* const junk_fill = ::testing::AddGlobalTestEnvironment(new JunkFill);
#endif

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

class CudaGlue : public cuda_test::NeedsGpu<> {};

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

// The flags of pending checks share mapped host slabs (16384 ints each): 400 checks, most of 64
// flags, fill a slab and start another one or two; a check of more than 4096 flags gets a slab of
// its own. Each check must read its own flags, from a slab that lives as long as the check: a
// piece handed out twice, or a slab reused under a pending check, would show one call's flags to
// another. Freed slabs are reused: once the pool holds as many slabs as a round needs at once
// (after two rounds: the first slab of a round may start less empty than the last's), a round of
// checks allocates no host memory.
TEST_F(CudaGlue, ManyPendingChecksEachReadTheirOwnFlags) {
#ifdef ANALOG_CUDA_EMULATION
  const auto host_allocs = [] { return cuda::emulation::counters().host_allocs; };
#endif
  constexpr int kCalls = 400;
  // 64 flags a call; every 50th call 5000 (a large batch: a slab of its own, not a piece).
  const auto rows_of = [](int call) -> int64_t { return call % 50 == 7 ? 5000 : 64; };
  for (int round = 0; round < 4; ++round) {
#ifdef ANALOG_CUDA_EMULATION
    const int64_t allocs_before = host_allocs();
#endif
    std::vector<std::function<void()>> checks;
    std::vector<int64_t> seen(kCalls, -2);
    for (int call = 0; call < kCalls; ++call) {
      const int64_t rows = rows_of(call);
      at::Tensor f = at::zeros({rows}, at::kInt);
      f[(call * 37) % rows] =
          call + 1;  // each call's flags differ: one row set, to the call's number
      auto flags = std::make_shared<cuda_glue::MappedFlags>(rows);
      // What a kernel does: it writes every flag, through the device's address of the memory.
      ASSERT_EQ(cudaMemcpy(flags->device(), f.data_ptr<int32_t>(), rows * 4, cudaMemcpyDefault),
                cudaSuccess);
      checks.push_back(
          cuda_glue::defer_check(std::move(flags), [&seen, call, rows](const int32_t* host) {
            int64_t set = -1;
            for (int64_t b = 0; b < rows; ++b) {
              if (host[b] != 0)
                set = set == -1 && host[b] == call + 1 ? b : -3;  // -3: a wrong or a second value
            }
            seen[static_cast<size_t>(call)] = set;
          }));
    }
    for (int call = kCalls - 1; call >= 0; --call) {  // the oldest slab's checks last
      ASSERT_TRUE(static_cast<bool>(checks[static_cast<size_t>(call)]));
      checks[static_cast<size_t>(call)]();
      checks[static_cast<size_t>(call)] = nullptr;  // a check's slab may go with the last of them
      EXPECT_EQ(seen[static_cast<size_t>(call)], (call * 37) % rows_of(call))
          << "round " << round << " call " << call;
    }
#ifdef ANALOG_CUDA_EMULATION  // (the emulated runtime counts the allocations)
    if (round >= 2)
      EXPECT_EQ(host_allocs() - allocs_before, 0)
          << "round " << round << ": freed slabs are reused";
#endif
  }
  EXPECT_FALSE(static_cast<bool>(cuda_glue::defer_check(nullptr, [](const int32_t*) {})));
}

// Flags that the stream finished without writing (a kernel that did not run) are an error that
// says so, not a hang and not a pass.
TEST_F(CudaGlue, UnwrittenFlagsAreAnError) {
  auto flags = std::make_shared<cuda_glue::MappedFlags>(3);
  const int32_t written[2] = {0, 0};
  ASSERT_EQ(cudaMemcpy(flags->device(), written, sizeof written, cudaMemcpyDefault),
            cudaSuccess);  // not the third
  const auto check = cuda_glue::defer_check(
      std::move(flags), [](const int32_t*) { FAIL() << "decoded unwritten flags"; });
  const std::string error = test::error_of([&] { check(); });
  EXPECT_THAT(error, HasSubstr("3 NaN/inf flags were not all written"));
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

// A NaN or inf in x or d: the weights are left as they were, and the deferred check throws
// NonFiniteError naming the first bad sample (x before d, as the CPU path).
TEST_F(CudaGlue, NonFiniteUpdateThrowsAndLeavesWeights) {
  at::manual_seed(2);
  PulsedDevice dev;
  const auto arrays = cpu::sample_devices_cpu(dev, 12, 20, false, 4);
  const DeviceArrays params = on_kernel_device(arrays);
  struct Case {
    int64_t x_row, d_row;  // -1: none
    const char* expected;
  };
  for (const Case c : {Case{5, -1, "expected finite inputs x, got NaN or inf in sample 5"},
                       Case{-1, 5, "expected finite gradients d, got NaN or inf in sample 5"},
                       Case{6, 2, "expected finite gradients d, got NaN or inf in sample 2"},
                       Case{3, 3, "expected finite inputs x, got NaN or inf in sample 3"}}) {
    at::Tensor x = at::rand({8, 20}), d = at::rand({8, 12}) * 0.1;
    if (c.x_row >= 0) x[c.x_row][3] = INFINITY;
    if (c.d_row >= 0) d[c.d_row][7] = NAN;
    at::Tensor w = (at::rand({12, 20}) * 0.2).to(kernel_device());
    const at::Tensor w0 = w.clone();
    const auto check = pulsed_update_one(w, params, x.to(kernel_device()), d.to(kernel_device()),
                                         UpdateParameters(), dev, 0.01f, 1, 1);
    EXPECT_TRUE(w.equal(w0));
    ASSERT_TRUE(static_cast<bool>(check));
    const std::string error = test::nonfinite_error_of([&] { check(); });
    EXPECT_THAT(error, HasSubstr(c.expected))
        << "expected an error for " << c.expected << ", got '" << error << "'";
    // The CPU path says the same.
    at::Tensor w_cpu = w0.cpu();
    const std::string cpu_error = test::nonfinite_error_of(
        [&] { cpu::pulsed_update_cpu(w_cpu, arrays, x, d, UpdateParameters(), dev, 0.01f, 1, 1); });
    EXPECT_THAT(cpu_error, HasSubstr(c.expected)) << "the CPU path: '" << cpu_error << "'";
  }
}

struct UpdateGlueCase {
  const char* name;
  std::function<void(UpdateParameters&, PulsedDevice&)> set;
  float lr;
};

void PrintTo(const UpdateGlueCase& c, std::ostream* os) { *os << c.name; }

class CudaGlueUpdate : public cuda_test::NeedsGpu<::testing::TestWithParam<UpdateGlueCase>> {};

// pulsed_update_cuda against pulsed_update_cpu: the same pulses, so the same weights bit for bit
// (the pulse arithmetic is kernels::device_pulse on both, with FMA contraction off).
TEST_P(CudaGlueUpdate, SameWeightsAsCpu) {
  const UpdateGlueCase c = GetParam();
  at::manual_seed(8);
  const int64_t samples = 30, in = 90, out = 35;
  const at::Tensor x = at::rand({samples, in}) * (at::rand({samples, in}) < 0.4).to(at::kFloat);
  const at::Tensor d = (at::rand({samples, out}) * 2 - 1) * 0.1;
  UpdateParameters up;
  PulsedDevice dev;
  c.set(up, dev);
  const auto arrays = cpu::sample_devices_cpu(dev, out, in, false, 77);
  at::Tensor w_cpu = at::rand({out, in}) * 0.4 - 0.2;
  at::Tensor w_dev =
      w_cpu.clone().to(kernel_device());  // a copy also where the kernel device is the CPU
  const at::Tensor w0 = w_cpu.clone();
  cpu::pulsed_update_cpu(w_cpu, arrays, x, d, up, dev, c.lr, 3, 500);
  pulsed_update_one(w_dev, on_kernel_device(arrays), x.to(kernel_device()), d.to(kernel_device()),
                    up, dev, c.lr, 3, 500);
  EXPECT_FALSE(w_cpu.equal(w0)) << "the update changed nothing: the case tests nothing";
  const at::Tensor got = w_dev.cpu();
  EXPECT_TRUE(got.equal(w_cpu)) << "max |difference| " << (got - w_cpu).abs().max().item<float>();
}

INSTANTIATE_TEST_SUITE_P(
    Cases, CudaGlueUpdate,
    ::testing::Values(
        UpdateGlueCase{"defaults", [](UpdateParameters&, PulsedDevice&) {}, 0.01f},
        UpdateGlueCase{"thinned", [](UpdateParameters&, PulsedDevice&) {}, 0.001f},
        UpdateGlueCase{
            "no_update_management",
            [](UpdateParameters& up, PulsedDevice&) { up.update_management(false).desired_bl(10); },
            0.01f},
        UpdateGlueCase{"discretised_sto_round",
                       [](UpdateParameters& up, PulsedDevice&) { up.res(0.05).sto_round(true); },
                       0.01f},
        UpdateGlueCase{"no_bl_management",
                       [](UpdateParameters& up, PulsedDevice&) {
                         up.update_bl_management(false).fixed_bl(false);
                       },
                       0.02f},
        UpdateGlueCase{"no_cycle_noise_asymmetric",
                       [](UpdateParameters&, PulsedDevice& dev) { dev.dw_min_std(0).up_down(0.2); },
                       0.01f},
        UpdateGlueCase{
            "soft_bounds",
            [](UpdateParameters&, PulsedDevice& dev) { dev.model(DeviceModel::kSoftBounds); },
            0.01f},
        UpdateGlueCase{"linear_step",
                       [](UpdateParameters&, PulsedDevice& dev) {
                         dev.model(DeviceModel::kLinearStep).gamma_up(0.5).gamma_down(0.8);
                       },
                       0.01f},
        UpdateGlueCase{"linear_step_additive_noise_own_bounds",
                       [](UpdateParameters&, PulsedDevice& dev) {
                         dev.model(DeviceModel::kLinearStep)
                             .gamma_up(0.5)
                             .mult_noise(false)
                             .mean_bound_reference(false);
                       },
                       0.01f},
        UpdateGlueCase{"soft_bounds_additive_noise",
                       [](UpdateParameters&, PulsedDevice& dev) {
                         dev.model(DeviceModel::kSoftBounds).mult_noise(false);
                       },
                       0.01f},
        UpdateGlueCase{"linear_step_mean_count_on_cpu_copy",
                       [](UpdateParameters& up, PulsedDevice& dev) {
                         up.pulse_type(PulseType::kMeanCount);
                         dev.model(DeviceModel::kLinearStep).gamma_up(0.5);
                       },
                       0.01f},
        UpdateGlueCase{"soft_bounds_mean_count_on_cpu_copy",
                       [](UpdateParameters& up, PulsedDevice& dev) {
                         up.pulse_type(PulseType::kMeanCount);
                         dev.model(DeviceModel::kSoftBounds);
                       },
                       0.01f},
        UpdateGlueCase{
            "mean_count_on_cpu_copy",
            [](UpdateParameters& up, PulsedDevice&) { up.pulse_type(PulseType::kMeanCount); },
            0.01f},
        UpdateGlueCase{"deterministic_implicit_on_cpu_copy",
                       [](UpdateParameters& up, PulsedDevice&) {
                         up.pulse_type(PulseType::kDeterministicImplicit);
                       },
                       0.01f}),
    [](const ::testing::TestParamInfo<UpdateGlueCase>& info) {
      return std::string(info.param.name);
    });

// A layer trained through the CUDA path: AnalogLinear split over three tiles (40 inputs,
// max_input_size 16), the autograd function with its gradient mask, AnalogSGD and the tiles'
// call counters, six steps, against the same steps on the CPU kernels. Under the emulation the
// CPU tensors are routed to the CUDA glue (replace_tile_kernels) and every GEMM is the CPU's:
// the two runs make the same random decisions on the same floats, so the weights are equal to
// the last bit (these outputs stay inside out_bound: no bound-management re-runs, where the CPU
// multiplies only the re-run rows). On a GPU cuBLAS sums in another order: a value within
// rounding of an ADC step may round apart and move its row's error, and with it a few pulses
// (dw_min ~ 1e-3 each): >= 95% of the weights equal within 1e-5, all within 0.02.
TEST_F(CudaGlue, LayerTrainedThroughTheCudaKernelsMatchesCpu) {
  // The stochastic update on the GPU, and a deterministic one that the glue runs on a CPU copy of
  // the weights and copies back (under the emulation the "copy" is the weight itself: the copy
  // back is tested on a GPU only; here, that the tile's weight may be written in place).
  for (const PulseType pulse : {PulseType::kStochasticCompressed, PulseType::kMeanCount}) {
    SCOPED_TRACE(pulse == PulseType::kMeanCount ? "mean_count" : "stochastic_compressed");
    RPUConfig rpu;
    rpu.mapping().max_input_size(16);
    rpu.forward().out_noise(0.1);
    rpu.update().pulse_type(pulse);
    const auto train = [&](bool through_cuda) {
      at::manual_seed(4);  // the initial weights (torch's generator), then the data
      nn::AnalogLinear layer(nn::AnalogLinearOptions(40, 12).rpu_config(rpu).seed(17));
      const torch::Device device = through_cuda ? kernel_device() : torch::Device(torch::kCPU);
#ifdef ANALOG_CUDA_EMULATION
      std::optional<TileKernelsScope> route;  // CPU tensors through the CUDA glue
      if (through_cuda) route.emplace(c10::DeviceType::CPU, &cuda_glue::tile_kernels());
      EXPECT_STREQ(tile_kernels_for(c10::DeviceType::CPU)->name, through_cuda ? "cuda" : "cpu");
#endif
      layer->to(device);
      optim::AnalogSGD opt(*layer, optim::AnalogSGDOptions(0.05));
      for (int step = 0; step < 6; ++step) {
        const at::Tensor x = at::rand({8, 40}).to(device);
        const at::Tensor target = (at::rand({8, 12}) - 0.5).to(device);
        opt.zero_grad();
        const at::Tensor loss = (layer->forward(x) - target).pow(2).sum();
        loss.backward();
        opt.step();
      }
      return layer->get_weights().cpu();
    };
    const at::Tensor w_cpu = train(false), w_cuda = train(true);
    const at::Tensor w0 = [&] {
      at::manual_seed(4);
      nn::AnalogLinear fresh(nn::AnalogLinearOptions(40, 12).rpu_config(rpu).seed(17));
      return fresh->get_weights();
    }();
    ASSERT_EQ(w_cuda.sizes(), w_cpu.sizes());
    EXPECT_GT((w_cpu - w0).abs().gt(0).sum().item<int64_t>(), w0.numel() / 4)
        << "the steps changed little";
#ifdef ANALOG_CUDA_EMULATION
    EXPECT_TRUE(w_cuda.equal(w_cpu))
        << "max |difference| " << (w_cuda - w_cpu).abs().max().item<float>();
#else
    const at::Tensor diff = (w_cuda - w_cpu).abs();
    const int64_t equal = diff.le(1e-5).sum().item<int64_t>();
    EXPECT_GE(equal, w_cpu.numel() * 95 / 100) << "max |difference| " << diff.max().item<float>();
    EXPECT_LE(diff.max().item<float>(), 0.02f) << equal << " of " << w_cpu.numel() << " equal";
#endif
  }
}

// A tile on CUDA reports what its kernels found without making the host wait: a NaN in a
// training forward pass at the backward pass, one in an update at synchronize() (the weights
// untouched), and at once in a forward pass without autograd.
TEST_F(CudaGlue, TileReportsDeferredChecksAtBackwardAndSynchronize) {
#ifdef ANALOG_CUDA_EMULATION
  const TileKernelsScope route(c10::DeviceType::CPU, &cuda_glue::tile_kernels());
#endif
  at::manual_seed(3);
  nn::AnalogLinear layer(nn::AnalogLinearOptions(20, 6).seed(5));
  layer->to(kernel_device());
  at::Tensor x = at::rand({4, 20});
  x[2][3] = NAN;
  x = x.to(kernel_device());
  const at::Tensor loss = layer->forward(x).sum();  // no error yet: the check is deferred
  const std::string at_backward = test::nonfinite_error_of([&] { loss.backward(); });
  EXPECT_THAT(
      at_backward,
      HasSubstr("AnalogTile.forward: expected finite inputs, got a non-finite value in row 2"))
      << "expected the error at backward, got '" << at_backward << "'";
  {
    at::NoGradGuard no_grad;
    EXPECT_THROW(layer->forward(x), NonFiniteError);
  }
  AnalogTile tile = layer->tiles().front();
  const at::Tensor w0 = tile->get_weights();
  at::Tensor d = at::rand({4, 6}) * 0.1;
  d[1][0] = INFINITY;
  tile->record(at::rand({4, 20}).to(kernel_device()), d.to(kernel_device()));
  tile->update(0.01);
  EXPECT_TRUE(tile->get_weights().equal(w0));
  const std::string at_sync = test::nonfinite_error_of([&] { layer->synchronize(); });
  EXPECT_THAT(at_sync, HasSubstr("expected finite gradients d, got NaN or inf in sample 1"))
      << "expected the error at synchronize(), got '" << at_sync << "'";
  layer->synchronize();  // reported once
  // A forward pass without autograd on finite inputs reports an earlier update's finding (as the
  // trainer's evaluation after the last step of an epoch).
  tile->record(at::rand({4, 20}).to(kernel_device()), d.to(kernel_device()));
  tile->update(0.01);
  {
    at::NoGradGuard no_grad;
    EXPECT_THROW(layer->forward(at::rand({4, 20}).to(kernel_device())), NonFiniteError);
  }
  // Moving the layer reports too, rather than dropping what the old device found.
  tile->record(at::rand({4, 20}).to(kernel_device()), d.to(kernel_device()));
  tile->update(0.01);
  EXPECT_THROW(layer->to(kernel_device()), NonFiniteError);
  layer->synchronize();
}

// update_tiles (AnalogSGD's step) runs the tiles of a device in shared launches, with the same
// results as update() tile by tile: eleven tiles of their own sizes, nine with the stochastic
// update (two launches' worth: eight and one) and two with mean_count (run on a CPU copy); an
// inf in d of a stochastic tile and a NaN in x of a mean_count tile (both left unchanged and
// reported at their tile's synchronize(); the others pulsed and silent); the same call counters
// after. Under the emulation: eight launches for the eleven, not thirty-six.
TEST_F(CudaGlue, UpdateTilesSharesLaunchesWithTheSameResults) {
#ifdef ANALOG_CUDA_EMULATION
  const TileKernelsScope route(c10::DeviceType::CPU, &cuda_glue::tile_kernels());
#endif
  constexpr int kTiles = 11;
  const auto mean_count = [](int k) { return k == 3 || k == 8; };
  const auto bad = [](int k) { return k == 1 || k == 8; };  // inf in d of 1, NaN in x of 8
  at::manual_seed(5);
  std::vector<at::Tensor> w0, x, d;
  std::vector<RPUConfig> configs;
  for (int k = 0; k < kTiles; ++k) {
    const int64_t out = 5 + k, in = 20 + 3 * k;
    w0.push_back(at::rand({out, in}) * 0.2 - 0.1);
    at::Tensor xk = at::rand({8, in}), dk = (at::rand({8, out}) - 0.5) * 0.1;
    if (k == 1) dk[3][2] = INFINITY;
    if (k == 8) xk[6][0] = NAN;
    x.push_back(xk.to(kernel_device()));
    d.push_back(dk.to(kernel_device()));
    RPUConfig rpu;
    if (mean_count(k)) rpu.update().pulse_type(PulseType::kMeanCount);
    configs.push_back(rpu);
  }
  const auto make = [&]() {
    std::vector<AnalogTile> tiles;
    for (int k = 0; k < kTiles; ++k) {
      tiles.emplace_back(w0[k].size(0), w0[k].size(1), configs[k], 7, k);
      tiles.back()->to(kernel_device());
      tiles.back()->set_weights(w0[k].to(kernel_device()));
      tiles.back()->record(x[k], d[k]);
    }
    return tiles;
  };
  std::vector<AnalogTile> alone = make(), together = make();
  std::vector<at::Tensor> before;  // as set (clipped to the devices' bounds)
  for (auto& t : together) before.push_back(t->get_weights().cpu());
  for (auto& t : alone) t->update(0.05);
#ifdef ANALOG_CUDA_EMULATION
  const int64_t launches = cuda::emulation::counters().launches;
#endif
  update_tiles(together, 0.05);
#ifdef ANALOG_CUDA_EMULATION
  EXPECT_EQ(cuda::emulation::counters().launches - launches, 8);
#endif
  for (int k = 0; k < kTiles; ++k) {
    SCOPED_TRACE(k);
    const at::Tensor w = together[k]->get_weights().cpu();
    EXPECT_TRUE(w.equal(alone[k]->get_weights().cpu()));
    EXPECT_EQ(together[k]->next_call(), alone[k]->next_call());
    EXPECT_EQ(w.equal(before[k]), bad(k))
        << "a tile with a NaN or inf is left unchanged, the others are pulsed";
    const std::string error = test::nonfinite_error_of([&] { together[k]->synchronize(); });
    EXPECT_EQ(error.empty(), !bad(k)) << error;
    if (k == 1)
      EXPECT_THAT(error, HasSubstr("expected finite gradients d, got NaN or inf in sample 3"));
    if (k == 8)
      EXPECT_THAT(error, HasSubstr("expected finite inputs x, got NaN or inf in sample 6"));
    EXPECT_EQ(test::nonfinite_error_of([&] { alone[k]->synchronize(); }).empty(), !bad(k));
  }
}

#ifdef ANALOG_CUDA_EMULATION
// The trainer on the real MLP (784-256-10: the first layer two tiles of 392 inputs, batch 64),
// its analog tiles through the CUDA glue and kernels, against the CPU kernels: under the
// emulation every GEMM is the CPU's, so the runs make the same random decisions on the same
// floats and every loss and accuracy is equal to the last bit (no row of these batches re-runs,
// where the ADC kernel's own MVM would sum in another order: the test checks that).
TEST_F(CudaGlue, TrainerRunsTheMlpThroughTheCudaKernelsLikeTheCpu) {
  at::manual_seed(9);
  const int64_t n = 3 * 64;
  const at::Tensor images =
      at::rand({n, 784}) * (at::rand({n, 784}) < 0.2).to(at::kFloat);  // sparse, as MNIST
  const data::MnistSplit train{images, at::randint(0, 10, {n}, at::kLong)};
  const data::MnistSplit test{train.images.narrow(0, 0, 64), train.labels.narrow(0, 0, 64)};
  train::TrainOptions opt;
  opt.epochs = 1;
  const RPUConfig rpu;
  const train::RunResult cpu = train::train_mlp(train, test, opt, rpu);
  int reruns = 0;
  static int* counter;
  counter = &reruns;
  static const TileKernels glue = cuda_glue::tile_kernels();
  static const TileKernels counting{
      "cuda",
      [](const at::Tensor& x, const at::Tensor& w, bool t, const kernels::IoSpec& io, uint64_t key,
         uint64_t call, const char* what, float mb) {
        auto r = glue.io_mvm(x, w, t, io, key, call, what, mb);
        *counter += static_cast<int>(r.reduction.gt(1.0f).sum().item<int64_t>());
        return r;
      },
      glue.pulsed_update};
  train::RunResult through_cuda;
  {
    const TileKernelsScope route(c10::DeviceType::CPU, &counting);
    through_cuda = train::train_mlp(train, test, opt, rpu);
  }
  EXPECT_EQ(reruns, 0);
  ASSERT_EQ(cpu.epochs.size(), 1u);
  ASSERT_EQ(through_cuda.epochs.size(), 1u);
  EXPECT_FALSE(through_cuda.diverged);
  const auto& a = cpu.epochs[0];
  const auto& b = through_cuda.epochs[0];
  EXPECT_EQ(a.train_loss, b.train_loss);
  EXPECT_EQ(a.train_acc, b.train_acc);
  EXPECT_EQ(a.test_loss, b.test_loss);
  EXPECT_EQ(a.test_acc, b.test_acc);
  EXPECT_EQ(cpu.last_loss, through_cuda.last_loss);
}

// What the glue asks of a GPU, counted by the emulated runtime. On a GPU a small layer's step is
// bound by host work, and the threads of one process queue for the runtime's calls: an MVM is
// the fused prepare-and-DAC kernel, the GEMM (ATen, not counted here) and the ADC, which also
// runs the bound-management re-runs, however many rounds the rows take; an update is four
// kernels (plan, trains, their prefix counts, pulses). No other runtime call (a slab of mapped
// host memory for the NaN/inf flags now and then aside: two calls): no syncs, memsets, copies
// or events, as the kernels write the flags into host memory.
TEST_F(CudaGlue, LaunchesAndSyncsPerMvmAndUpdate) {
  auto& counters = cuda::emulation::counters();
  // Runtime calls beyond the kernel launches, not counting slab allocations (cudaHostAlloc and
  // cudaHostGetDevicePointer).
  const auto other_calls = [&](const cuda::emulation::Counters& before) {
    return (counters.runtime_calls - before.runtime_calls) - (counters.launches - before.launches) -
           2 * (counters.host_allocs - before.host_allocs);
  };
  at::manual_seed(6);
  const at::Tensor x = at::rand({16, 60});
  const at::Tensor w = at::rand({20, 60}) * 0.5;  // positive: outputs saturate, rows re-run
  IOParameters io;
  io.out_bound(2.0);
  for (const bool use_bm : {true, false}) {
    const auto before = counters;
    const auto r =
        cuda_glue::io_mvm_cuda(x, w, false, io_spec(io, use_bm, false), 3, 4, "count test", 1.0f);
    EXPECT_EQ(r.reduction.max().item<float>() > 1.0f, use_bm)
        << "the case must re-run rows exactly when bound management is on";
    EXPECT_EQ(counters.launches - before.launches, 2);
    r.check();
    EXPECT_EQ(other_calls(before), 0);
  }
  PulsedDevice dev;
  const auto arrays = cpu::sample_devices_cpu(dev, 20, 60, false, 4);
  at::Tensor w_update = w.clone();
  const auto before = counters;
  const auto check = pulsed_update_one(w_update, arrays, x, at::rand({16, 20}) * 0.1,
                                       UpdateParameters(), dev, 0.01f, 1, 1);
  EXPECT_FALSE(w_update.equal(w));
  EXPECT_EQ(counters.launches - before.launches, 4);
  check();
  EXPECT_EQ(other_calls(before), 0);
}
#endif

}  // namespace
}  // namespace analog
