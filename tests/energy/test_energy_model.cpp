// The energy model: closed forms per component, linearity, the energy.* keys, and the presets
// against the chips they are taken from.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include <c10/util/Exception.h>

#include "analog/config/rpu_config.h"
#include "analog/energy/energy_model.h"
#include "support/test_support.h"

namespace analog::energy {
namespace {

/// `passes` forward passes of one sample each through an R x C tile.
TileEvents forward_passes(int64_t rows, int64_t cols, int64_t samples, int64_t passes) {
  TileEvents e;
  e.rows = rows;
  e.cols = cols;
  e.forward.calls = 1;
  e.forward.samples = samples;
  e.forward.passes = passes;
  return e;
}

TEST(EnergyModel, ConverterBitsTellTheLevelsApart) {
  EXPECT_EQ(converter_bits(1.0 / 126), 7);  // 127 levels
  EXPECT_EQ(converter_bits(1.0 / 254), 8);  // 255 levels
  EXPECT_EQ(converter_bits(1.0 / 510), 9);
  EXPECT_EQ(converter_bits(1.0 / 255), 8);  // 256 levels
  EXPECT_EQ(converter_bits(1.0 / 256), 9);  // 257 levels
  EXPECT_EQ(converter_bits(255.0), 8);      // a number of steps
  EXPECT_EQ(converter_bits(0.5), 2);        // 3 levels
  EXPECT_EQ(converter_bits(0.0), kUnquantizedBits);
  EXPECT_EQ(converter_bits(-1.0), kUnquantizedBits);
}

// One pass of an R x C tile: R input conversions, R x C cells, C output conversions.
TEST(EnergyModel, OnePassCostsItsClosedForm) {
  EnergyParameters p;
  p.dac_fj_per_bit(2).cell_fj(3).adc_fom_fj(5).periphery_fj(7).buffer_pj_per_byte(11);
  p.integration_ns(13).adc_ns(17).adcs_per_tile(4);
  const int64_t R = 6, C = 10;
  const AnalogCost c = analog_cost(forward_passes(R, C, 1, 1), p, {8, 9}, {8, 9});
  EXPECT_DOUBLE_EQ(c.energy.dac, R * 8 * 2e-15);
  EXPECT_DOUBLE_EQ(c.energy.array, R * C * 3e-15);
  EXPECT_DOUBLE_EQ(c.energy.adc, C * 5e-15 * 512);
  EXPECT_DOUBLE_EQ(c.energy.periphery, (R + R + C) * 7e-15);
  EXPECT_DOUBLE_EQ(c.energy.movement, (R * 8 + C * 9) / 8.0 * 11e-12);
  EXPECT_DOUBLE_EQ(c.energy.pulses, 0.0);
  // 10 outputs on 4 ADCs: 3 conversions one after another.
  EXPECT_DOUBLE_EQ(c.seconds, (13 + 3 * 17) * 1e-9);
  EXPECT_DOUBLE_EQ(c.energy.total(), c.energy.dac + c.energy.array + c.energy.adc +
                                         c.energy.periphery + c.energy.movement);
  // The backward pass drives the columns and converts the rows.
  TileEvents back;
  back.rows = R;
  back.cols = C;
  back.backward = {1, 1, 1};
  const AnalogCost b = analog_cost(back, p, {8, 9}, {6, 7});
  EXPECT_DOUBLE_EQ(b.energy.dac, C * 6 * 2e-15);
  EXPECT_DOUBLE_EQ(b.energy.adc, R * 5e-15 * 128);
  EXPECT_DOUBLE_EQ(b.seconds, (13 + 2 * 17) * 1e-9);
}

// Every component is linear in its counts: k times the events cost k times as much, and a
// bound-management re-run costs the converters and the array again, not the per-sample work.
TEST(EnergyModel, CostIsLinearInTheCounts) {
  const EnergyParameters p;
  TileEvents e = forward_passes(30, 20, 8, 11);
  e.backward = {2, 8, 8};
  e.update_calls = 2;
  e.update_samples = 8;
  e.update_slots = 80;
  e.pulses = 1234;
  TileEvents e3 = e;
  for (MvmEvents* m : {&e3.forward, &e3.backward}) {
    m->calls *= 3;
    m->samples *= 3;
    m->passes *= 3;
  }
  e3.update_calls *= 3;
  e3.update_samples *= 3;
  e3.update_slots *= 3;
  e3.pulses *= 3;
  const AnalogCost c = analog_cost(e, p, {7, 9}, {7, 9}), c3 = analog_cost(e3, p, {7, 9}, {7, 9});
  EXPECT_NEAR(c3.energy.total(), 3 * c.energy.total(), 1e-12 * c3.energy.total());
  EXPECT_NEAR(c3.seconds, 3 * c.seconds, 1e-12 * c3.seconds);
  EXPECT_DOUBLE_EQ(c.energy.pulses, 1234 * p.pulse_fj() * 1e-15);
  TileEvents rerun = e;
  ++rerun.forward.passes;
  const AnalogCost r = analog_cost(rerun, p, {7, 9}, {7, 9});
  // (differences of sums: exact to rounding of the larger sum)
  const double tol = 1e-12 * c.energy.total();
  EXPECT_NEAR(r.energy.array - c.energy.array, 30 * 20 * p.cell_fj() * 1e-15, tol);
  EXPECT_NEAR(r.energy.adc - c.energy.adc, 20 * p.adc_fom_fj() * 512 * 1e-15, tol);
  EXPECT_DOUBLE_EQ(r.energy.movement, c.energy.movement);
  // The digital reference: R x C MACs per forward, backward and update sample.
  const DigitalCost d = digital_cost(e, p, DigitalFormat::kFp32);
  EXPECT_DOUBLE_EQ(d.macs, (8 + 8 + 8) * 30.0 * 20 * p.digital_fp32_mac_pj() * 1e-12);
  // The weights: read per forward and backward call, read and written per update call.
  EXPECT_DOUBLE_EQ(d.dram, (1 + 2 + 2 * 2) * 30.0 * 20 * 4 * p.digital_dram_pj_per_byte() * 1e-12);
}

TEST(EnergyConfig, BadFiguresAreRejectedNamingTheKey) {
  RPUConfig cfg;
  for (const char* key :
       {"energy.adc_fom_fj", "energy.pulse_fj", "energy.digital_dram_pj_per_byte"}) {
    for (const char* value : {"-1", "nan", "inf"}) {
      const std::string error = test::error_of([&] { cfg.set(key, value); });
      EXPECT_NE(error.find(std::string("config key '") + key + "'"), std::string::npos) << error;
    }
  }
  EXPECT_NE(test::error_of([&] { cfg.set("energy.adcs_per_tile", "0"); }).find("adcs_per_tile"),
            std::string::npos);
  EXPECT_NE(test::error_of([&] {
              cfg.set("energy.preset", "tpu");
            }).find("expected one of reram | pcm | ecram | neurram | ibm_pcm64"),
            std::string::npos);
  EXPECT_NE(test::error_of([&] {
              RPUConfig::from_json(R"({"energy": {"cell_fj": -2}})");
            }).find("config key 'energy.cell_fj'"),
            std::string::npos);
}

// A preset sets every figure; single keys then change one; JSON keeps both.
TEST(EnergyConfig, PresetsSetEveryFigureAndKeysOverrideThem) {
  RPUConfig cfg;
  EXPECT_EQ(cfg.get("energy.preset"), "reram");
  cfg.set("energy.preset", "ecram");
  EXPECT_EQ(cfg.energy().pulse_fj(), EnergyParameters::of(EnergyPreset::kEcram).pulse_fj());
  cfg.set("energy.preset", "neurram");
  EXPECT_EQ(cfg.energy().adc_ns(), EnergyParameters::of(EnergyPreset::kNeuRRAM).adc_ns());
  cfg.set("energy.pulse_fj", "250");
  const RPUConfig back = RPUConfig::from_json(cfg.to_json());
  EXPECT_EQ(back.get("energy.preset"), "neurram");
  EXPECT_EQ(back.energy().pulse_fj(), 250.0);
  EXPECT_EQ(back.energy().adc_ns(), cfg.energy().adc_ns());
  // A JSON object naming only the preset gets all of its figures.
  const RPUConfig only = RPUConfig::from_json(R"({"energy": {"preset": "pcm"}})");
  EXPECT_EQ(only.energy().pulse_ns(), EnergyParameters::of(EnergyPreset::kPcm).pulse_ns());
}

/// One full pass of a chip's core at its precision, as the calibration tests run it.
AnalogCost core_mvm(const EnergyParameters& p, int64_t rows, int64_t cols, ConverterBits bits,
                    int64_t passes) {
  return analog_cost(forward_passes(rows, cols, 1, passes), p, bits, bits);
}

/// The core's own energy (the converters, the array and its digital periphery), without moving
/// data between cores, which a chip's TOPS/W of an MVM does not include.
double core_energy(const AnalogCost& c) { return c.energy.total() - c.energy.movement; }

// IBM's 64-core PCM chip: 64 cores of 256 x 256, 8-bit inputs and outputs. In 1-phase mode it
// does 63.1 TOPS at 9.76 TOPS/W. The preset's energies are fitted to that total (the chip's
// split is not published), so the energy check tests the model's accounting of operations per
// pass and of converter bits; the throughput comes from the integration and ADC times. Tolerance
// 1%: the digital periphery the model adds on top is 0.2% of the energy, the published figures
// have three digits.
TEST(EnergyCalibration, IbmPcm64OnePhaseMode) {
  const EnergyParameters p = EnergyParameters::of(EnergyPreset::kIbmPcm64);
  const AnalogCost c = core_mvm(p, 256, 256, {8, 8}, 1);
  const double ops = 2.0 * 256 * 256;
  const double tops_per_w = ops / core_energy(c) / 1e12;
  const double tops = 64 * ops / c.seconds / 1e12;
  EXPECT_NEAR(tops_per_w, 9.76, 0.01 * 9.76);
  EXPECT_NEAR(tops, 63.1, 0.01 * 63.1);
}

// Its 4-phase (high-precision) mode reads each input four times: the model, given four passes
// per vector and nothing else, predicts 2.44 TOPS/W and 15.8 TOPS; the chip gives 2.48 and 16.1.
// Tolerance 3%: the chip's two modes differ by 3.93x in energy and 3.92x in time, not 4x (some
// of a phase's work is not repeated), a 2% difference the model cannot see.
TEST(EnergyCalibration, IbmPcm64FourPhaseModeIsFourPasses) {
  const EnergyParameters p = EnergyParameters::of(EnergyPreset::kIbmPcm64);
  const AnalogCost c = core_mvm(p, 256, 256, {8, 8}, 4);
  const double ops = 2.0 * 256 * 256;
  EXPECT_NEAR(ops / core_energy(c) / 1e12, 2.48, 0.03 * 2.48);
  EXPECT_NEAR(64 * ops / c.seconds / 1e12, 16.1, 0.03 * 16.1);
}

// NeuRRAM at 8-bit inputs and 10-bit outputs: 6.44 TOPS/W (155 fJ per operation), of which the
// neurons and ADCs take 49%; 0.26 TOPS with 48 cores. A core of 256 x 256 cells holds 128 x 256
// differential weights. The energies are the paper's breakdown, so this checks the mapping of
// its components onto the model's (per input bit, per cell, per conversion step). Tolerances:
// 2% for the energy (the breakdown's parts add to 153.9 fJ, the efficiency says 155), 1 point
// for the ADC share, and 10% for the throughput, whose timing is CiMLoop's model of the chip
// (0.278 TOPS), not a measurement.
TEST(EnergyCalibration, NeuRRAMAtEightBitInputsTenBitOutputs) {
  const EnergyParameters p = EnergyParameters::of(EnergyPreset::kNeuRRAM);
  const AnalogCost c = core_mvm(p, 128, 256, {8, 10}, 1);
  const double ops = 2.0 * 128 * 256;
  EXPECT_NEAR(ops / core_energy(c) / 1e12, 6.44, 0.02 * 6.44);
  EXPECT_NEAR(c.energy.adc / core_energy(c), 0.49, 0.01);
  EXPECT_NEAR(48 * ops / c.seconds / 1e12, 0.26, 0.10 * 0.26);
}

}  // namespace
}  // namespace analog::energy
