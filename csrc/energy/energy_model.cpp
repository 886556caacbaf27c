// The energy and latency model: counts times figures.
#include "analog/energy/energy_model.h"

#include <cmath>

namespace analog::energy {
namespace {

constexpr double kFemto = 1e-15, kPico = 1e-12, kNano = 1e-9;

double d(int64_t v) { return static_cast<double>(v); }

/// One direction's MVMs: `inputs` values converted in, `outputs` out, per pass.
void add_mvms(const MvmEvents& m, int64_t inputs, int64_t outputs, ConverterBits bits,
              const EnergyParameters& p, AnalogCost& cost) {
  if (m.passes == 0 && m.samples == 0) return;
  const double passes = d(m.passes), samples = d(m.samples);
  EnergyBreakdown& e = cost.energy;
  e.dac += passes * d(inputs) * bits.in * p.dac_fj_per_bit() * kFemto;
  e.array += passes * d(inputs) * d(outputs) * p.cell_fj() * kFemto;
  e.adc += passes * d(outputs) * p.adc_fom_fj() * std::ldexp(1.0, bits.out) * kFemto;
  e.periphery += (samples * d(inputs) + passes * d(inputs + outputs)) * p.periphery_fj() * kFemto;
  e.movement += samples * (d(inputs) * bits.in + d(outputs) * bits.out) / 8.0 *
                p.buffer_pj_per_byte() * kPico;
  const double conversions_in_a_row =
      std::ceil(d(outputs) / static_cast<double>(p.adcs_per_tile()));
  cost.seconds += passes * (p.integration_ns() + conversions_in_a_row * p.adc_ns()) * kNano;
}

}  // namespace

int converter_bits(double res) {
  if (!(res > 0.0)) return kUnquantizedBits;
  const double steps = res > 1.0 ? res : 1.0 / res;
  // NB: 1 / (1/254) is 254.00000000000003 in doubles: round what is meant to be whole.
  const double whole = std::round(steps);
  const double levels = (std::fabs(steps - whole) < 1e-9 * whole ? whole : std::ceil(steps)) + 1.0;
  return static_cast<int>(std::ceil(std::log2(levels) - 1e-12));
}

EnergyBreakdown& EnergyBreakdown::operator+=(const EnergyBreakdown& o) {
  dac += o.dac;
  array += o.array;
  adc += o.adc;
  periphery += o.periphery;
  pulses += o.pulses;
  movement += o.movement;
  digital += o.digital;
  return *this;
}

EnergyBreakdown EnergyBreakdown::scaled(double f) const {
  return {dac * f, array * f, adc * f, periphery * f, pulses * f, movement * f, digital * f};
}

AnalogCost analog_cost(const TileEvents& e, const EnergyParameters& p, ConverterBits forward,
                       ConverterBits backward) {
  AnalogCost cost;
  add_mvms(e.forward, e.rows, e.cols, forward, p, cost);
  add_mvms(e.backward, e.cols, e.rows, backward, p, cost);
  const double lines = d(e.rows + e.cols);
  cost.energy.periphery +=
      (d(e.update_samples) + d(e.update_slots)) * lines * p.periphery_fj() * kFemto;
  cost.energy.pulses += d(e.pulses) * p.pulse_fj() * kFemto;
  cost.energy.movement += d(e.update_samples) * (d(e.rows) * forward.in + d(e.cols) * backward.in) /
                          8.0 * p.buffer_pj_per_byte() * kPico;
  cost.seconds += d(e.update_slots) * p.pulse_ns() * kNano;
  return cost;
}

DigitalCost& DigitalCost::operator+=(const DigitalCost& o) {
  macs += o.macs;
  sram += o.sram;
  dram += o.dram;
  return *this;
}

DigitalCost digital_cost(const TileEvents& e, const EnergyParameters& p, DigitalFormat format) {
  const bool fp32 = format == DigitalFormat::kFp32;
  const double bytes = fp32 ? 4.0 : 1.0;
  const double mac = (fp32 ? p.digital_fp32_mac_pj() : p.digital_int8_mac_pj()) * kPico;
  const double cells = d(e.rows) * d(e.cols);
  const double samples = d(e.forward.samples + e.backward.samples + e.update_samples);
  DigitalCost c;
  c.macs = samples * cells * mac;
  c.sram = (samples * d(e.rows + e.cols) * bytes) * p.digital_sram_pj_per_byte() * kPico;
  const double weight_reads = d(e.forward.calls + e.backward.calls) + 2.0 * d(e.update_calls);
  c.dram = weight_reads * cells * bytes * p.digital_dram_pj_per_byte() * kPico;
  return c;
}

}  // namespace analog::energy
