// The energy and latency model: event counts (energy/events.h) times the figures of energy.*
// (config/energy_parameters.h), and the same work on a digital accelerator. Torch-free.
#pragma once
#include <cstdint>

#include "analog/config/energy_parameters.h"
#include "analog/energy/events.h"

namespace analog::energy {

/// Bits of a converter with resolution `res` as IOParameters takes it (a fraction of the full
/// range, or a number of steps when > 1): ceil(log2(steps + 1)), the bits that tell steps + 1
/// levels apart. A converter without quantisation (res <= 0) is charged kUnquantizedBits.
int converter_bits(double res);
constexpr int kUnquantizedBits = 16;

/// The converters of one MVM direction: input (DAC) and output (ADC) bits.
struct ConverterBits {
  int in = 8, out = 8;
};

/// Joules by component; `digital`: the layers kept digital in a hybrid network, on the digital
/// reference (digital_cost).
struct EnergyBreakdown {
  double dac = 0, array = 0, adc = 0, periphery = 0, pulses = 0, movement = 0, digital = 0;
  double total() const { return dac + array + adc + periphery + pulses + movement + digital; }
  EnergyBreakdown& operator+=(const EnergyBreakdown& o);
  EnergyBreakdown scaled(double factor) const;
};

/// What a tile's events cost: energy, and busy time in seconds (passes one after another, each
/// integration_ns plus its outputs' conversions on the shared ADCs, then update slots of
/// pulse_ns).
struct AnalogCost {
  EnergyBreakdown energy;
  double seconds = 0;
};

/// The cost of one tile's events. The counts (see TileEvents):
/// - DAC: passes x inputs conversions of `bits.in` bits, dac_fj_per_bit each bit;
/// - array: passes x rows x cols cells, cell_fj each;
/// - ADC: passes x outputs conversions of `bits.out` bits, adc_fom_fj 2^bits each;
/// - periphery (periphery_fj each): per sample its inputs (noise management's max), per pass
///   its inputs (scaling) and outputs (scaling, bias, bound test); per update sample rows + cols
///   (the pulse probabilities), per update slot rows + cols (the pulse-train bits);
/// - pulses: pulse_fj each;
/// - movement (buffer_pj_per_byte): per sample its inputs and outputs at their converter bits,
///   per update sample x and d at the forward input and backward input bits.
AnalogCost analog_cost(const TileEvents& events, const EnergyParameters& p, ConverterBits forward,
                       ConverterBits backward);

/// The same MVMs and updates on a digital accelerator, in joules.
struct DigitalCost {
  double macs = 0, sram = 0, dram = 0;
  double total() const { return macs + sram + dram; }
  DigitalCost& operator+=(const DigitalCost& o);
};

/// Number formats of the digital reference.
enum class DigitalFormat { kFp32, kInt8 };

/// The digital reference of a tile's events: rows x cols MACs per forward sample, per backward
/// sample and per update sample (the weight gradient's outer product); every input and output
/// value once through SRAM per sample (and x, d of each update sample); the weights once from
/// DRAM per MVM call, and read and written once more per update call (the SGD step). Values
/// take 4 bytes in FP32, 1 in INT8.
DigitalCost digital_cost(const TileEvents& events, const EnergyParameters& p, DigitalFormat format);

}  // namespace analog::energy
