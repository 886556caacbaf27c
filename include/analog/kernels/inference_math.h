// The per-weight math of inference tiles: PCM-like programming, drift and read noise (aihwkit
// 1.1.0 PCMLikeNoiseModel) and the weight modifiers of hardware-aware training. Pure functions
// of their inputs and the random numbers handed in, shared by every backend.
#pragma once
#include <cmath>

#include "analog/config/inference_types.h"
#include "analog/kernels/macros.h"

namespace analog::kernels {

/// PCM programming-noise polynomial (microsiemens, at g_max = 25 uS), Nandakumar et al. 2019.
constexpr float kPcmProgC0 = 0.26348f, kPcmProgC1 = 1.9650f, kPcmProgC2 = -1.1731f;
/// The g_max the programming polynomial was fitted at.
constexpr float kPcmProgGMaxRef = 25.0f;

/// NoiseModelParameters as floats: a pcm_like or a state_independent model (the pcm_* functions
/// below serve both; prog_c*, nu_mean and nu_std are the state-independent model's).
struct PcmSpec {
  float g_max, t_0, t_read, prog_noise_scale, read_noise_scale, drift_scale;
  NoiseModelType model;
  float prog_c0, prog_c1, prog_c2, nu_mean, nu_std;
};

/// Std of the programming noise (uS) of a device programmed to g_target (uS): the PCM fit scaled
/// by g_max / 25 uS, or the state-independent model's polynomial as it is.
ANALOG_HOST_DEVICE inline float pcm_prog_sigma(const PcmSpec& p, float g_target) {
  const float r = g_target / p.g_max;
  if (p.model == NoiseModelType::kStateIndependent)
    return p.prog_c0 + p.prog_c1 * r + p.prog_c2 * r * r;
  return (kPcmProgC0 + kPcmProgC1 * r + kPcmProgC2 * r * r) * (p.g_max / kPcmProgGMaxRef);
}

/// The programmed conductance: g_target + sigma xi, clipped at 0 (a device cannot go below).
ANALOG_HOST_DEVICE inline float pcm_program(const PcmSpec& p, float g_target, float xi) {
  return fmaxf(g_target + p.prog_noise_scale * pcm_prog_sigma(p, g_target) * xi, 0.0f);
}

/// Mean of the drift exponent of a device programmed to g_target.
ANALOG_HOST_DEVICE inline float pcm_nu_mean(const PcmSpec& p, float g_target) {
  const float gr = fmaxf(fabsf(g_target) / p.g_max, 1e-7f);
  return fminf(fmaxf(-0.0155f * logf(gr) + 0.0244f, 0.049f), 0.1f);
}

/// Device-to-device std of the drift exponent of a device programmed to g_target.
ANALOG_HOST_DEVICE inline float pcm_nu_std(const PcmSpec& p, float g_target) {
  const float gr = fmaxf(fabsf(g_target) / p.g_max, 1e-7f);
  return fminf(fmaxf(-0.0125f * logf(gr) - 0.0059f, 0.008f), 0.045f);
}

/// The drift exponent nu = |mean + std xi| drift_scale (the state-independent model's mean and
/// std do not depend on g_target).
ANALOG_HOST_DEVICE inline float pcm_drift_nu(const PcmSpec& p, float g_target, float xi) {
  if (p.model == NoiseModelType::kStateIndependent)
    return fabsf(p.nu_mean + p.nu_std * xi) * p.drift_scale;
  return fabsf(pcm_nu_mean(p, g_target) + pcm_nu_std(p, g_target) * xi) * p.drift_scale;
}

/// The 1/f read noise's time factor sqrt(ln((t + t_read) / (2 t_read))), t from programming
/// plus t_0.
ANALOG_HOST_DEVICE inline float pcm_read_time_factor(const PcmSpec& p, float t_total) {
  return sqrtf(logf((t_total + p.t_read) / (2.0f * p.t_read)));
}

/// The read-noise level Q of a device whose programmed conductance is g_prog.
ANALOG_HOST_DEVICE inline float pcm_read_q(const PcmSpec& p, float g_prog) {
  return fminf(0.0088f / fmaxf(powf(fabsf(g_prog) / p.g_max, 0.65f), 1e-3f), 0.2f);
}

/// The conductance read t_inference seconds after programming (t_inference >= 0): drift
/// g (t / t_0)^-nu with t = t_inference + t_0 (none at t_inference = 0), then read noise with
/// std |g_drift| Q time_factor (state-independent: |g_drift| / g_max time_factor, in uS),
/// clipped at 0. `time_factor` is pcm_read_time_factor(t).
ANALOG_HOST_DEVICE inline float pcm_drift_read(const PcmSpec& p, float g_prog, float nu,
                                               float t_inference, float time_factor, float xi) {
  const float t = t_inference + p.t_0;
  const float g_drift = t_inference > 0.0f ? g_prog * powf(t / p.t_0, -nu) : g_prog;
  const float level =
      p.model == NoiseModelType::kStateIndependent ? 1.0f / p.g_max : pcm_read_q(p, g_prog);
  const float sigma = fabsf(g_drift) * level * time_factor;
  return fmaxf(g_drift + p.read_noise_scale * sigma * xi, 0.0f);
}

/// The pair scale s = g_max / max|w| of a tile whose largest |weight| is `amax` (aihwkit's
/// SinglePairConductanceConverter with g_min = 0).
ANALOG_HOST_DEVICE inline float pcm_pair_scale(const PcmSpec& p, float amax) {
  return p.g_max / fmaxf(amax, 1e-7f);
}

/// The target conductances of weight w at pair scale s: g+ = clip(s w, 0, g_max), g- likewise
/// of -s w (one of them 0).
ANALOG_HOST_DEVICE inline void pcm_split_pair(const PcmSpec& p, float w, float s, float& g_plus,
                                              float& g_minus) {
  g_plus = fminf(fmaxf(s * w, 0.0f), p.g_max);
  g_minus = fminf(fmaxf(-s * w, 0.0f), p.g_max);
}

/// One weight programmed into its pair: the weight the devices hold, and each device's drift
/// exponent (`nu_plus`, `nu_minus`). xi_*: the devices' programming normals, zeta_*: their drift
/// exponents' normals.
/// NB: the device at 0 of each pair is programmed too: its noise, clipped at 0, leaves it at a
/// small positive conductance (a one-sided bias the reference model has as well).
ANALOG_HOST_DEVICE inline float pcm_program_weight(const PcmSpec& p, float w, float s,
                                                   float xi_plus, float xi_minus, float zeta_plus,
                                                   float zeta_minus, float& nu_plus,
                                                   float& nu_minus) {
  float gp = 0.0f, gm = 0.0f;
  pcm_split_pair(p, w, s, gp, gm);
  nu_plus = pcm_drift_nu(p, gp, zeta_plus);
  nu_minus = pcm_drift_nu(p, gm, zeta_minus);
  return (pcm_program(p, gp, xi_plus) - pcm_program(p, gm, xi_minus)) / s;
}

/// One programmed weight read t_inference s later: re-split into its pair at scale s, each
/// device drifted with its exponent and read with its read-noise normal xi_*.
ANALOG_HOST_DEVICE inline float pcm_drift_weight(const PcmSpec& p, float w_prog, float s,
                                                 float nu_plus, float nu_minus, float t_inference,
                                                 float time_factor, float xi_plus, float xi_minus) {
  float gp = 0.0f, gm = 0.0f;
  pcm_split_pair(p, w_prog, s, gp, gm);
  return (pcm_drift_read(p, gp, nu_plus, t_inference, time_factor, xi_plus) -
          pcm_drift_read(p, gm, nu_minus, t_inference, time_factor, xi_minus)) /
         s;
}

/// WeightModifierParameters as floats.
struct ModifierSpec {
  ModifierType type;
  float std_dev, res, pdrop, coeff0, coeff1, coeff2, g_max;
  bool sto_round;
};

/// round(v), or with stochastic rounding floor(v + u) for u ~ U[0, 1).
ANALOG_HOST_DEVICE inline float modifier_round(const ModifierSpec& m, float v, float u) {
  return m.sto_round ? floorf(v + u) : rintf(v);
}

/// The noisy weight of one clean weight w (before drop-connect): a is the tile's amax, xi a
/// standard normal, u a uniform for stochastic rounding.
ANALOG_HOST_DEVICE inline float modify_weight(const ModifierSpec& m, float w, float a, float xi,
                                              float u) {
  switch (m.type) {
    case ModifierType::kAddNormal:
      return w + m.std_dev * a * xi;
    case ModifierType::kMultNormal:
      return w * (1.0f + m.std_dev * a * xi);
    case ModifierType::kDiscretize: {
      if (m.res <= 0.0f) return w;
      const float step = a * m.res;
      return step * modifier_round(m, w / step, u);
    }
    case ModifierType::kDiscretizeAddNormal: {
      const float q = m.res > 0.0f ? m.res * modifier_round(m, w / (a * m.res), u) : w / a;
      return a * (q + m.std_dev * xi);
    }
    case ModifierType::kPoly:
    case ModifierType::kProgNoise: {
      const float v = fabsf(w) / a;
      const float scale = m.type == ModifierType::kPoly ? m.std_dev : m.std_dev / m.g_max;
      const float sigma = scale * (m.coeff0 + m.coeff1 * v + m.coeff2 * v * v);
      const float noisy = w + a * sigma * xi;
      if (m.type == ModifierType::kPoly) return noisy;
      return w < 0.0f ? -fabsf(noisy) : fabsf(noisy);  // the sign kept (0 counts as positive)
    }
    default:
      return w;
  }
}

/// modify_weight, then drop-connect: 0 where u_drop < pdrop.
ANALOG_HOST_DEVICE inline float modify_and_drop(const ModifierSpec& m, float w, float a, float xi,
                                                float u_round, float u_drop) {
  return m.pdrop > 0.0f && u_drop < m.pdrop ? 0.0f : modify_weight(m, w, a, xi, u_round);
}

}  // namespace analog::kernels
