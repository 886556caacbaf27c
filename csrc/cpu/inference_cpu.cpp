// Programming, drift and weight modifiers of inference tiles on the CPU.
#include "cpu/inference_cpu.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "cpu/random_fill.h"

namespace analog::cpu {
namespace {

/// The pair scale s = g_max / max|w| (aihwkit SinglePairConductanceConverter, g_min = 0).
float pair_scale(const kernels::PcmSpec& p, const float* w, int64_t n) {
  float amax = 0.0f;
  for (int64_t k = 0; k < n; ++k) amax = std::max(amax, std::fabs(w[k]));
  return p.g_max / std::max(amax, 1e-7f);
}

/// The target conductances of weight w: (g+, g-).
void split_pair(const kernels::PcmSpec& p, float w, float s, float& g_plus, float& g_minus) {
  g_plus = std::clamp(s * w, 0.0f, p.g_max);
  g_minus = std::clamp(-s * w, 0.0f, p.g_max);
}

std::vector<float> normals(uint64_t key, uint64_t call, kernels::Domain domain, int64_t n) {
  std::vector<float> z(static_cast<size_t>(n));
  fill_normals({key, call, domain, 0}, 0, n, z.data());
  return z;
}

std::vector<float> uniforms(uint64_t key, uint64_t call, kernels::Domain domain, int64_t n) {
  std::vector<float> u(static_cast<size_t>(n));
  fill_uniforms({key, call, domain, 0}, 0, n, u.data());
  return u;
}

}  // namespace

void program_pcm_cpu(const kernels::PcmSpec& p, const float* w_ref, int64_t n, uint64_t key,
                     uint64_t call, float* w_prog, float* nu) {
  const float s = pair_scale(p, w_ref, n);
  const std::vector<float> xi = normals(key, call, kernels::Domain::kProgram, 2 * n);
  const std::vector<float> zeta = normals(key, call, kernels::Domain::kDriftNu, 2 * n);
  for (int64_t k = 0; k < n; ++k) {
    float gp = 0, gm = 0;
    split_pair(p, w_ref[k], s, gp, gm);
    const auto j = static_cast<size_t>(k), jm = static_cast<size_t>(n + k);
    // NB: the device at 0 of each pair is programmed too: its noise, clipped at 0, leaves it
    // at a small positive conductance (a one-sided bias the reference model has as well).
    w_prog[k] = (kernels::pcm_program(p, gp, xi[j]) - kernels::pcm_program(p, gm, xi[jm])) / s;
    nu[k] = kernels::pcm_drift_nu(p, gp, zeta[j]);
    nu[n + k] = kernels::pcm_drift_nu(p, gm, zeta[jm]);
  }
}

void drift_pcm_cpu(const kernels::PcmSpec& p, const float* w_prog, const float* nu, int64_t n,
                   float t_inference, uint64_t key, uint64_t call, float* w_out) {
  const float s = pair_scale(p, w_prog, n);
  const float factor = kernels::pcm_read_time_factor(p, t_inference + p.t_0);
  const std::vector<float> xi = normals(key, call, kernels::Domain::kReadNoise, 2 * n);
  for (int64_t k = 0; k < n; ++k) {
    float gp = 0, gm = 0;
    split_pair(p, w_prog[k], s, gp, gm);
    const auto j = static_cast<size_t>(k), jm = static_cast<size_t>(n + k);
    const float fp = kernels::pcm_drift_read(p, gp, nu[k], t_inference, factor, xi[j]);
    const float fm = kernels::pcm_drift_read(p, gm, nu[n + k], t_inference, factor, xi[jm]);
    w_out[k] = (fp - fm) / s;
  }
}

void modify_weights_cpu(const kernels::ModifierSpec& m, const float* w, int64_t n, float a,
                        uint64_t key, uint64_t call, float* out) {
  const std::vector<float> xi = normals(key, call, kernels::Domain::kModifier, n);
  const std::vector<float> u = m.sto_round ? uniforms(key, call, kernels::Domain::kModifierRound, n)
                                           : std::vector<float>(static_cast<size_t>(n), 0.0f);
  for (int64_t k = 0; k < n; ++k) {
    const auto j = static_cast<size_t>(k);
    out[k] = kernels::modify_weight(m, w[k], a, xi[j], u[j]);
  }
  if (m.pdrop > 0.0f) {
    const std::vector<float> drop = uniforms(key, call, kernels::Domain::kModifierDrop, n);
    for (int64_t k = 0; k < n; ++k) {
      if (drop[static_cast<size_t>(k)] < m.pdrop) out[k] = 0.0f;
    }
  }
}

}  // namespace analog::cpu
