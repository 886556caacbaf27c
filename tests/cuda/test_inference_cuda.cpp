// The inference kernels (cuda/inference_cuda.cu) against the CPU loops (cpu/inference_cpu.cpp) on
// the same weights and keys: programming, drift exponents, drift and read noise, every weight
// modifier with drop-connect. On a GPU, or (without one) under the CPU emulation of
// cuda/emulation.h, as analog_cuda_emulated_tests.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <cstdint>
#include <vector>

#include "analog/config/inference_parameters.h"
#include "analog/kernels/inference_math.h"
#include "cpu/inference_cpu.h"
#include "cuda/cuda_test_support.h"
#include "cuda/inference_cuda.h"

namespace analog {
namespace {

using cuda_test::Buffer;
using cuda_test::CudaParity;

/// Equal under the emulation (the same C++ on the same CPU); on a GPU logf, powf and sqrtf may
/// differ from the host's by an ulp or two, which moves a value by a few 1e-7 relative.
void expect_same(const at::Tensor& gpu, const at::Tensor& cpu) {
#ifdef ANALOG_CUDA_EMULATION
  EXPECT_TRUE(gpu.equal(cpu)) << "max |difference| " << (gpu - cpu).abs().max().item<float>();
#else
  EXPECT_TRUE(at::allclose(gpu, cpu, 1e-5, 1e-6))
      << "max |difference| " << (gpu - cpu).abs().max().item<float>();
#endif
}

/// 1003 weights (not a multiple of a Philox block) in [-0.8, 0.8] with exact zeros among them.
at::Tensor weights() {
  at::Tensor w = at::rand({1003}, at::TensorOptions().dtype(at::kFloat)).mul_(1.6f).sub_(0.8f);
  w.index_put_({at::arange(0, 1003, 7)}, 0.0f);
  return w.contiguous();
}

const kernels::PcmSpec kPcm{25.0f, 20.0f, 250e-9f, 1.0f, 1.0f, 1.0f, NoiseModelType::kPcmLike,
                            0.2f,  0.0f,  0.0f,    0.1f, 0.05f};
const kernels::PcmSpec kStateIndependent{
    25.0f, 20.0f, 250e-9f, 1.0f, 1.0f, 1.0f, NoiseModelType::kStateIndependent,
    0.3f,  1.0f,  -0.5f,   0.1f, 0.05f};

/// One programming and two reads of `p` on both sides (the helper of the test below).
void program_and_drift(const kernels::PcmSpec& p) {
  at::manual_seed(3);
  const at::Tensor w = weights();
  const int64_t n = w.numel();
  std::vector<float> prog(n), nu(2 * n);
  cpu::program_pcm_cpu(p, w.data_ptr<float>(), n, 99, 4, prog.data(), nu.data());
  const float s = kernels::pcm_pair_scale(p, w.abs().max().item<float>());
  Buffer w_dev(w.data_ptr<float>(), n * sizeof(float)), prog_dev(n * sizeof(float)),
      nu_dev(2 * n * sizeof(float));
  cuda::launch_program_pcm(p, w_dev.as<float>(), n, s, 99, 4, prog_dev.as<float>(),
                           nu_dev.as<float>(), nullptr);
  const at::Tensor prog_cpu = at::from_blob(prog.data(), {n}).clone();
  expect_same(prog_dev.to_tensor({n}), prog_cpu);
  expect_same(nu_dev.to_tensor({2 * n}), at::from_blob(nu.data(), {2 * n}).clone());
  // Drift from the CPU's programming, at t = 0 (read noise only) and after a day.
  const float s_prog = kernels::pcm_pair_scale(p, prog_cpu.abs().max().item<float>());
  Buffer prog_in(prog.data(), n * sizeof(float)), nu_in(nu.data(), 2 * n * sizeof(float)),
      out_dev(n * sizeof(float));
  for (const float t : {0.0f, 86400.0f}) {
    SCOPED_TRACE(t);
    std::vector<float> out(n);
    cpu::drift_pcm_cpu(p, prog.data(), nu.data(), n, t, 99, 5, out.data());
    cuda::launch_drift_pcm(p, prog_in.as<float>(), nu_in.as<float>(), n, s_prog, t, 99, 5,
                           out_dev.as<float>(), nullptr);
    expect_same(out_dev.to_tensor({n}), at::from_blob(out.data(), {n}).clone());
  }
}

TEST_F(CudaParity, ProgrammingAndDriftMatchTheCpuForEachNoiseModel) {
  for (const kernels::PcmSpec& model : {kPcm, kStateIndependent}) {
    SCOPED_TRACE(model.model == NoiseModelType::kPcmLike ? "pcm_like" : "state_independent");
    program_and_drift(model);
  }
}

TEST_F(CudaParity, EveryWeightModifierMatchesTheCpu) {
  at::manual_seed(4);
  const at::Tensor w = weights();
  const int64_t n = w.numel();
  Buffer w_dev(w.data_ptr<float>(), n * sizeof(float)), out_dev(n * sizeof(float));
  for (const ModifierType type :
       {ModifierType::kAddNormal, ModifierType::kMultNormal, ModifierType::kDiscretize,
        ModifierType::kDiscretizeAddNormal, ModifierType::kPoly, ModifierType::kProgNoise}) {
    for (const bool sto_round : {false, true}) {
      for (const float pdrop : {0.0f, 0.3f}) {
        SCOPED_TRACE(::testing::Message() << "type " << static_cast<int>(type) << " sto_round "
                                          << sto_round << " pdrop " << pdrop);
        const kernels::ModifierSpec m{type, 0.1f, 0.05f, pdrop, 0.2f, 0.3f, 0.1f, 25.0f, sto_round};
        std::vector<float> out(n);
        cpu::modify_weights_cpu(m, w.data_ptr<float>(), n, 0.8f, 7, 11, out.data());
        cuda::launch_modify_weights(m, w_dev.as<float>(), n, 0.8f, 7, 11, out_dev.as<float>(),
                                    nullptr);
        expect_same(out_dev.to_tensor({n}), at::from_blob(out.data(), {n}).clone());
      }
    }
  }
}

}  // namespace
}  // namespace analog
