// analog-train's energy report: the table after an analog run, and its JSON.
#pragma once
#include <string>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "analog/energy/energy_report.h"

namespace analog::apps {

inline nlohmann::json breakdown_json(const energy::AnalogCost& c) {
  const energy::EnergyBreakdown& e = c.energy;
  return {{"dac_j", e.dac},         {"array_j", e.array},
          {"adc_j", e.adc},         {"periphery_j", e.periphery},
          {"pulses_j", e.pulses},   {"movement_j", e.movement},
          {"digital_j", e.digital}, {"total_j", e.total()},
          {"seconds", c.seconds}};
}

inline nlohmann::json digital_json(const energy::DigitalCost& c) {
  return {{"mac_j", c.macs}, {"sram_j", c.sram}, {"dram_j", c.dram}, {"total_j", c.total()}};
}

inline nlohmann::json events_json(const TileEvents& e) {
  return {{"forward_samples", e.forward.samples},   {"forward_passes", e.forward.passes},
          {"backward_samples", e.backward.samples}, {"backward_passes", e.backward.passes},
          {"update_calls", e.update_calls},         {"update_samples", e.update_samples},
          {"update_slots", e.update_slots},         {"pulses", e.pulses},
          {"devices_touched", e.devices_touched}};
}

inline nlohmann::json layer_json(const energy::LayerCost& l) {
  return {{"name", l.name},
          {"digital", l.digital},
          {"tiles", l.tiles},
          {"devices", l.devices},
          {"train_events", events_json(l.train_events)},
          {"train", breakdown_json(l.train)},
          {"sample", breakdown_json(l.sample)},
          {"digital_train_fp32", digital_json(l.digital_train)},
          {"digital_sample_int8", digital_json(l.digital_sample)}};
}

/// The report as JSON: {"layers": [...], "total": {...}}, joules and seconds.
inline nlohmann::json energy_json(const energy::EnergyReport& r) {
  nlohmann::json layers = nlohmann::json::array();
  for (const auto& l : r.layers) layers.push_back(layer_json(l));
  return {{"layers", layers}, {"total", layer_json(r.total)}};
}

/// "1.23e-04"; ratios as "0.0123x".
inline std::string sci(double v) { return fmt::format("{:.3g}", v); }
inline std::string ratio(double analog, double digital) {
  return digital > 0 ? fmt::format("{:.3g}x", analog / digital) : "-";
}

/// One component line: "DAC 1.2e-3 J (12.3%)", ...
inline std::string components(const energy::EnergyBreakdown& e, const char* unit, double scale) {
  const double total = e.total();
  std::string out;
  const auto part = [&](const char* name, double v) {
    if (!out.empty()) out += ", ";
    out += fmt::format("{} {:.3g} {} ({:.1f}%)", name, v * scale, unit,
                       total > 0 ? 100.0 * v / total : 0.0);
  };
  part("DAC", e.dac);
  part("array", e.array);
  part("ADC", e.adc);
  part("periphery", e.periphery);
  part("pulses", e.pulses);
  part("movement", e.movement);
  if (e.digital > 0) part("digital layers", e.digital);
  return out;
}

/// The table: training and one inference pass per layer, beside the digital reference (FP32
/// training, INT8 inference; a layer kept digital, "dig.", costs the same on both sides), then
/// the parts of the totals.
inline void print_energy(const energy::EnergyReport& r) {
  fmt::print(
      "\nenergy and latency on analog hardware, beside a digital accelerator "
      "(docs/energy.md)\n");
  fmt::print("{:<10} {:>5}  {:>11} {:>11} {:>9} {:>9}  {:>12} {:>12} {:>9} {:>10}\n", "layer",
             "tiles", "train J", "digital J", "ratio", "train s", "sample nJ", "digital nJ",
             "ratio", "sample us");
  const auto row = [](const energy::LayerCost& l) {
    fmt::print("{:<10} {:>5}  {:>11} {:>11} {:>9} {:>9}  {:>12} {:>12} {:>9} {:>10}\n", l.name,
               l.digital ? std::string("dig.") : std::to_string(l.tiles),
               sci(l.train.energy.total()), sci(l.digital_train.total()),
               ratio(l.train.energy.total(), l.digital_train.total()), sci(l.train.seconds),
               sci(l.sample.energy.total() * 1e9), sci(l.digital_sample.total() * 1e9),
               ratio(l.sample.energy.total(), l.digital_sample.total()),
               sci(l.sample.seconds * 1e6));
  };
  for (const auto& l : r.layers) row(l);
  if (r.layers.size() > 1) row(r.total);
  const TileEvents& e = r.total.train_events;
  fmt::print(
      "training events: {} forward and {} backward passes ({} and {} samples), {} pulses "
      "in {} slots, {} devices touched\n",
      e.forward.passes, e.backward.passes, e.forward.samples, e.backward.samples, e.pulses,
      e.update_slots, e.devices_touched);
  fmt::print("training:  {}\n", components(r.total.train.energy, "J", 1.0));
  fmt::print("inference: {}\n", components(r.total.sample.energy, "nJ", 1e9));
}

}  // namespace analog::apps
