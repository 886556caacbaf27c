// EnergyParameters: the energy and latency figures of the hardware an analog layer runs on, and
// of the digital accelerator it is compared with.
#pragma once
#include <cstddef>
#include <cstdint>
#include <limits>

#include <torch/arg.h>

namespace analog {

/// A published chip or a device technology whose figures energy.* takes (docs/energy.md cites
/// each figure).
enum class EnergyPreset : int {
  /// 14 nm periphery of IBM's 64-core PCM chip with programming pulses of a filamentary ReRAM
  /// device (the default).
  kReRam = 0,
  kPcm = 1,       ///< the same periphery with PCM programming pulses
  kEcram = 2,     ///< the same periphery with ECRAM programming pulses
  kNeuRRAM = 3,   ///< NeuRRAM (130 nm RRAM, Wan et al. 2022) periphery and RRAM pulses
  kIbmPcm64 = 4,  ///< IBM's 64-core PCM chip (Le Gallo et al. 2023), PCM pulses
};

/// energy.*: what each event of a tile costs (energy/events.h) and the digital reference.
/// Energies in femtojoules or picojoules as the name says, times in nanoseconds. Setting
/// `energy.preset` sets every other energy key to the preset's figures: set it first, then
/// change single keys.
struct EnergyParameters {
  /// Applies the default preset (reram).
  EnergyParameters();
  /// Every figure of `preset`.
  static EnergyParameters of(EnergyPreset preset);

  TORCH_ARG(EnergyPreset, preset);
  /// ADC: Walden figure of merit, fJ per conversion step: one conversion of b bits costs
  /// adc_fom_fj 2^b.
  TORCH_ARG(double, adc_fom_fj);
  /// ADC: time of one conversion.
  TORCH_ARG(double, adc_ns);
  /// ADCs per tile: the columns of a pass share them (ceil(outputs / adcs) conversions in a row).
  TORCH_ARG(int64_t, adcs_per_tile);
  /// DAC: energy of one input conversion, per bit.
  TORCH_ARG(double, dac_fj_per_bit);
  /// Array: energy of one cell in one pass (V^2 G t at full-scale input).
  TORCH_ARG(double, cell_fj);
  /// Array: integration time of one pass.
  TORCH_ARG(double, integration_ns);
  /// Digital periphery: one operation (input scaling, noise-management max, output scaling and
  /// bias, pulse-train bit).
  TORCH_ARG(double, periphery_fj);
  /// Moving one byte between tiles through on-chip buffers.
  TORCH_ARG(double, buffer_pj_per_byte);
  /// Programming: one update pulse on one device.
  TORCH_ARG(double, pulse_fj);
  /// Programming: one pulse slot (pulse length and gap).
  TORCH_ARG(double, pulse_ns);
  /// Digital reference: one FP32 multiply-accumulate, one INT8 multiply-accumulate.
  TORCH_ARG(double, digital_fp32_mac_pj);
  TORCH_ARG(double, digital_int8_mac_pj);
  /// Digital reference: one byte from on-chip SRAM, one byte from DRAM.
  TORCH_ARG(double, digital_sram_pj_per_byte);
  TORCH_ARG(double, digital_dram_pj_per_byte);

 public:
  template <class V>
  void visit(V& v) {
    constexpr double kInf = std::numeric_limits<double>::infinity();
    v("preset", preset_);
    v("adc_fom_fj", adc_fom_fj_, 0.0, kInf);
    v("adc_ns", adc_ns_, 0.0, kInf);
    v("adcs_per_tile", adcs_per_tile_, 1.0, 1.0e9);
    v("dac_fj_per_bit", dac_fj_per_bit_, 0.0, kInf);
    v("cell_fj", cell_fj_, 0.0, kInf);
    v("integration_ns", integration_ns_, 0.0, kInf);
    v("periphery_fj", periphery_fj_, 0.0, kInf);
    v("buffer_pj_per_byte", buffer_pj_per_byte_, 0.0, kInf);
    v("pulse_fj", pulse_fj_, 0.0, kInf);
    v("pulse_ns", pulse_ns_, 0.0, kInf);
    v("digital_fp32_mac_pj", digital_fp32_mac_pj_, 0.0, kInf);
    v("digital_int8_mac_pj", digital_int8_mac_pj_, 0.0, kInf);
    v("digital_sram_pj_per_byte", digital_sram_pj_per_byte_, 0.0, kInf);
    v("digital_dram_pj_per_byte", digital_dram_pj_per_byte_, 0.0, kInf);
  }

 private:
  explicit EnergyParameters(std::nullptr_t) {}  ///< every figure unset: of() sets them
};

}  // namespace analog
