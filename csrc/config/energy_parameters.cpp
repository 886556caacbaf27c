// The energy presets: published figures, each cited in docs/energy.md.
#include "analog/config/energy_parameters.h"

namespace analog {
namespace {

/// The digital reference: Horowitz, ISSCC 2014, 45 nm, 0.9 V. FP32 MAC = mult 3.7 + add 0.9 pJ;
/// INT8 MAC = 8-bit mult 0.2 + 32-bit accumulate 0.1 pJ; SRAM: 64-bit access of a 32 KB array
/// 20 pJ; DRAM: 64-bit access 1.3 nJ (the low end of 1.3-2.6 nJ).
void set_digital_reference(EnergyParameters& p) {
  p.digital_fp32_mac_pj(4.6)     // 3.7 + 0.9
      .digital_int8_mac_pj(0.3)  // 0.2 + 0.1
      .digital_sram_pj_per_byte(20.0 / 8.0)
      .digital_dram_pj_per_byte(1300.0 / 8.0);
}

/// Both chips' digital periphery and buffers (Horowitz, 45 nm): an 8-bit add, 0.03 pJ, per
/// operation; a 64-bit access of an 8 KB SRAM, 10 pJ, per 8 bytes.
void set_periphery(EnergyParameters& p) { p.periphery_fj(30.0).buffer_pj_per_byte(10.0 / 8.0); }

/// IBM's 64-core PCM chip (Le Gallo et al., Nature Electronics 2023), 1-phase mode: 8-bit
/// inputs and outputs, 63.1 TOPS and 9.76 TOPS/W with 64 cores of 256 x 256, so one core's MVM
/// (131072 ops) takes 133 ns and kIbmMvmFj. 256 CCO ADCs per core (HERMES, Khaddam-Aljameh et
/// al., JSSC 2022), PWM inputs integrated for 128 ns. NB: the chip's split of its energy over
/// ADCs, array and input drivers is not published: half to the ADCs, a quarter each to the
/// array and the drivers is our assumption, as are the 5 ns of ADC readout after integration
/// (the CCO counts while the array integrates).
constexpr double kIbmOps = 2.0 * 256 * 256;
constexpr double kIbmMvmFj = kIbmOps / 9.76e12 * 1e15;
void set_ibm_pcm64(EnergyParameters& p) {
  p.adc_fom_fj(0.5 * kIbmMvmFj / 256 / 256)  // 256 conversions of 2^8 steps
      .adc_ns(5.0)
      .adcs_per_tile(256)
      .dac_fj_per_bit(0.25 * kIbmMvmFj / 256 / 8)  // 256 inputs of 8 bits
      .cell_fj(0.25 * kIbmMvmFj / (256 * 256))
      .integration_ns(128.0);
  set_periphery(p);
}

/// NeuRRAM (Wan et al., Nature 2022) at 8-bit inputs and 10-bit outputs (two phases): 6.44
/// TOPS/W, of which per operation 50.5 fJ wordline switching (the input drivers), 75.9 fJ
/// neurons and ADC, 27.5 fJ input pulses in the array (Fig. 12 of the paper as CiMLoop
/// digitised it). A core of 256 x 256 RRAM cells holds 128 x 256 differential weights: one MVM
/// is kNeuRRAMOps operations, 128 input conversions and 256 output conversions. Latency
/// (CiMLoop's model of the chip): 22 integration steps of 270 ns, then 16 ADC steps of 300 ns
/// and two phase changes of 300 ns.
constexpr double kNeuRRAMOps = 2.0 * 128 * 256;
void set_neurram(EnergyParameters& p) {
  p.adc_fom_fj(75.9 * kNeuRRAMOps / 256 / 1024)  // 256 conversions of 2^10 steps
      .adc_ns(16 * 300.0 + 2 * 300.0)
      .adcs_per_tile(256)
      .dac_fj_per_bit(50.5 * kNeuRRAMOps / 128 / 8)  // 128 inputs of 8 bits
      .cell_fj(27.5 * kNeuRRAMOps / (128 * 256))
      .integration_ns(22 * 270.0);
  set_periphery(p);
}

}  // namespace

EnergyParameters::EnergyParameters() { *this = of(EnergyPreset::kReRam); }

EnergyParameters EnergyParameters::of(EnergyPreset preset) {
  EnergyParameters p{nullptr};
  p.preset_ = preset;
  set_digital_reference(p);
  if (preset == EnergyPreset::kNeuRRAM) {
    set_neurram(p);
  } else {
    set_ibm_pcm64(p);
  }
  // Programming pulses. NB: of the pulse lengths only ECRAM's is published (Tang et al.); the
  // others are our assumptions (docs/energy.md).
  switch (preset) {
    case EnergyPreset::kReRam:
    case EnergyPreset::kNeuRRAM:
      p.pulse_fj(1000.0).pulse_ns(10.0);  // sub-pJ nominal, 6 pJ at most (Yu et al. 2011)
      break;
    case EnergyPreset::kPcm:
    case EnergyPreset::kIbmPcm64:
      p.pulse_fj(1000.0).pulse_ns(50.0);  // "picojoule level" (Kuzum et al. 2012)
      break;
    case EnergyPreset::kEcram:
      p.pulse_fj(1.0).pulse_ns(5.0);  // ~1 fJ projected, 5 ns pulses (Tang et al. 2018)
      break;
  }
  return p;
}

}  // namespace analog
