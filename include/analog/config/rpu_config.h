// RPUConfig: the whole hardware description of an analog layer, with JSON and dotted-name access.
#pragma once
#include <string>
#include <vector>

#include <torch/arg.h>

#include "analog/config/device_parameters.h"
#include "analog/config/energy_parameters.h"
#include "analog/config/inference_parameters.h"
#include "analog/config/io_parameters.h"
#include "analog/config/mapping_parameters.h"
#include "analog/config/update_parameters.h"

namespace analog {

/// Which tile simulates the layer.
enum class TileType {
  kSingleDevice,   ///< one pulsed device per cross-point, noisy IO, pulsed update
  kFloatingPoint,  ///< exact float32 MVMs and SGD update (aihwkit FloatingPointRPUConfig)
  /// Trained by gradient (hardware-aware: noisy forward, exact backward, SGD on the clean
  /// weights, then clip, remap and modifier), then programmed into devices that drift
  /// (aihwkit InferenceRPUConfig). backward.*, update.* and device.* are not used.
  kInference,
};

/// The configuration of an analog layer. Every field has a dotted name (`forward.out_noise`,
/// `update.desired_bl`, `device.dw_min`, `mapping.max_input_size`, `type`, and for inference
/// tiles `noise_model.g_max`, `drift_compensation`, `clip.type`, `remap.type`, `modifier.std_dev`;
/// `energy.adc_fom_fj` and the other figures of the energy model).
///
/// Example:
///   auto cfg = analog::RPUConfig();
///   cfg.forward().out_noise(0.25);
///   cfg.update().desired_bl(4);
///   cfg.set("backward.out_noise", "0.25");
struct RPUConfig {
  TORCH_ARG(TileType, type) = TileType::kSingleDevice;
  TORCH_ARG(IOParameters, forward) = IOParameters();
  TORCH_ARG(IOParameters, backward) = IOParameters();
  TORCH_ARG(UpdateParameters, update) = UpdateParameters();
  TORCH_ARG(PulsedDevice, device) = PulsedDevice();
  TORCH_ARG(MappingParameters, mapping) = MappingParameters();
  // Used by inference tiles only.
  TORCH_ARG(NoiseModelParameters, noise_model) = NoiseModelParameters();
  TORCH_ARG(DriftCompensation, drift_compensation) = DriftCompensation::kGlobal;
  TORCH_ARG(WeightClipParameters, clip) = WeightClipParameters();
  TORCH_ARG(WeightRemapParameters, remap) = WeightRemapParameters();
  TORCH_ARG(WeightModifierParameters, modifier) = WeightModifierParameters();
  /// What the hardware's events cost (energy/energy_model.h); changes no simulated number.
  TORCH_ARG(EnergyParameters, energy) = EnergyParameters();

 public:
  /// The floating-point configuration (exact tile, default mapping).
  static RPUConfig floating_point();
  /// The inference configuration: PCM-like devices, global drift compensation, no clip, remap
  /// or modifier, the default forward IO.
  static RPUConfig inference();

  /// Throws c10::Error naming the dotted key, the value and the allowed range on a bad field.
  void validate() const;

  /// Sets one field by dotted name from its text form ("0.25", "true", "abs_max", ...).
  void set(const std::string& dotted_key, const std::string& value);
  /// The text form of one field.
  std::string get(const std::string& dotted_key) const;
  /// All dotted names, in declaration order.
  static std::vector<std::string> keys();

  /// Compact JSON of every field.
  std::string to_json(int indent = -1) const;
  /// Reads a JSON object; missing keys keep their defaults, unknown keys and bad values throw.
  static RPUConfig from_json(const std::string& text);
  static RPUConfig from_json_file(const std::string& path);

  bool operator==(const RPUConfig& other) const { return to_json() == other.to_json(); }
};

}  // namespace analog
