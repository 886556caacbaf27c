// Programming, drift and weight modifiers of inference tiles on the CPU.
#include "cpu/inference_cpu.h"

#include <vector>

#include "analog/kernels/rng.h"
#include "cpu/max_abs.h"
#include "cpu/random_fill.h"

namespace analog::cpu {
namespace {

float max_abs(const float* w, int64_t n) { return kernels::bits_float(max_abs_bits(w, n)); }

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
  const float s = kernels::pcm_pair_scale(p, max_abs(w_ref, n));
  const std::vector<float> xi = normals(key, call, kernels::Domain::kProgram, 2 * n);
  const std::vector<float> zeta = normals(key, call, kernels::Domain::kDriftNu, 2 * n);
  for (int64_t k = 0; k < n; ++k) {
    const auto j = static_cast<size_t>(k), jm = static_cast<size_t>(n + k);
    w_prog[k] = kernels::pcm_program_weight(p, w_ref[k], s, xi[j], xi[jm], zeta[j], zeta[jm], nu[k],
                                            nu[n + k]);
  }
}

void drift_pcm_cpu(const kernels::PcmSpec& p, const float* w_prog, const float* nu, int64_t n,
                   float t_inference, uint64_t key, uint64_t call, float* w_out) {
  const float s = kernels::pcm_pair_scale(p, max_abs(w_prog, n));
  const float factor = kernels::pcm_read_time_factor(p, t_inference + p.t_0);
  const std::vector<float> xi = normals(key, call, kernels::Domain::kReadNoise, 2 * n);
  for (int64_t k = 0; k < n; ++k) {
    const auto j = static_cast<size_t>(k), jm = static_cast<size_t>(n + k);
    w_out[k] = kernels::pcm_drift_weight(p, w_prog[k], s, nu[k], nu[n + k], t_inference, factor,
                                         xi[j], xi[jm]);
  }
}

void modify_weights_cpu(const kernels::ModifierSpec& m, const float* w, int64_t n, float a,
                        uint64_t key, uint64_t call, float* out) {
  const std::vector<float> xi = normals(key, call, kernels::Domain::kModifier, n);
  const std::vector<float> u = m.sto_round ? uniforms(key, call, kernels::Domain::kModifierRound, n)
                                           : std::vector<float>(static_cast<size_t>(n), 0.0f);
  const std::vector<float> drop = m.pdrop > 0.0f
                                      ? uniforms(key, call, kernels::Domain::kModifierDrop, n)
                                      : std::vector<float>(static_cast<size_t>(n), 1.0f);
  for (int64_t k = 0; k < n; ++k) {
    const auto j = static_cast<size_t>(k);
    out[k] = kernels::modify_and_drop(m, w[k], a, xi[j], u[j], drop[j]);
  }
}

}  // namespace analog::cpu
