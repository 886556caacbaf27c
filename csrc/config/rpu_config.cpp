// RPUConfig: validation, dotted-name access and JSON, all driven by the structs' visit().
#include "analog/config/rpu_config.h"

#include <cmath>
#include <cstdlib>
#include <set>
#include <sstream>
#include <type_traits>
#include <utility>

#include <c10/util/Exception.h>
#include <nlohmann/json.hpp>

#include "analog/quoted.h"
#include "config/json_guard.h"
#include "io/input_file.h"

namespace analog {
namespace {

using Json = nlohmann::json;

template <class E>
struct EnumTable;
template <>
struct EnumTable<NoiseManagement> {
  static constexpr std::pair<NoiseManagement, const char*> kEntries[] = {
      {NoiseManagement::kNone, "none"},
      {NoiseManagement::kAbsMax, "abs_max"},
      {NoiseManagement::kMax, "max"},
      {NoiseManagement::kConstant, "constant"}};
};
template <>
struct EnumTable<BoundManagement> {
  static constexpr std::pair<BoundManagement, const char*> kEntries[] = {
      {BoundManagement::kNone, "none"}, {BoundManagement::kIterative, "iterative"}};
};
template <>
struct EnumTable<WeightNoiseType> {
  static constexpr std::pair<WeightNoiseType, const char*> kEntries[] = {
      {WeightNoiseType::kNone, "none"},
      {WeightNoiseType::kAdditiveConstant, "additive_constant"},
      {WeightNoiseType::kPcmRead, "pcm_read"}};
};
template <>
struct EnumTable<PulseType> {
  static constexpr std::pair<PulseType, const char*> kEntries[] = {
      {PulseType::kStochasticCompressed, "stochastic_compressed"},
      {PulseType::kNone, "none"},
      {PulseType::kNoneWithDevice, "none_with_device"},
      {PulseType::kMeanCount, "mean_count"},
      {PulseType::kDeterministicImplicit, "deterministic_implicit"}};
};
template <>
struct EnumTable<DeviceModel> {
  static constexpr std::pair<DeviceModel, const char*> kEntries[] = {
      {DeviceModel::kConstantStep, "constant_step"},
      {DeviceModel::kSoftBounds, "soft_bounds"},
      {DeviceModel::kLinearStep, "linear_step"}};
};
template <>
struct EnumTable<TileType> {
  static constexpr std::pair<TileType, const char*> kEntries[] = {
      {TileType::kSingleDevice, "single_device"},
      {TileType::kFloatingPoint, "floating_point"},
      {TileType::kInference, "inference"}};
};
template <>
struct EnumTable<NoiseModelType> {
  static constexpr std::pair<NoiseModelType, const char*> kEntries[] = {
      {NoiseModelType::kNone, "none"},
      {NoiseModelType::kPcmLike, "pcm_like"},
      {NoiseModelType::kStateIndependent, "state_independent"}};
};
template <>
struct EnumTable<DriftCompensation> {
  static constexpr std::pair<DriftCompensation, const char*> kEntries[] = {
      {DriftCompensation::kNone, "none"}, {DriftCompensation::kGlobal, "global"}};
};
template <>
struct EnumTable<ClipType> {
  static constexpr std::pair<ClipType, const char*> kEntries[] = {
      {ClipType::kNone, "none"},
      {ClipType::kFixedValue, "fixed_value"},
      {ClipType::kLayerGaussian, "layer_gaussian"},
      {ClipType::kAverageChannelMax, "average_channel_max"}};
};
template <>
struct EnumTable<RemapType> {
  static constexpr std::pair<RemapType, const char*> kEntries[] = {
      {RemapType::kNone, "none"},
      {RemapType::kLayerwiseSymmetric, "layerwise_symmetric"},
      {RemapType::kChannelwiseSymmetric, "channelwise_symmetric"}};
};
template <>
struct EnumTable<ModifierType> {
  static constexpr std::pair<ModifierType, const char*> kEntries[] = {
      {ModifierType::kNone, "none"},
      {ModifierType::kAddNormal, "add_normal"},
      {ModifierType::kMultNormal, "mult_normal"},
      {ModifierType::kDiscretize, "discretize"},
      {ModifierType::kDiscretizeAddNormal, "discretize_add_normal"},
      {ModifierType::kPoly, "poly"},
      {ModifierType::kProgNoise, "prog_noise"},
      {ModifierType::kDropConnect, "drop_connect"}};
};

template <>
struct EnumTable<EnergyPreset> {
  static constexpr std::pair<EnergyPreset, const char*> kEntries[] = {
      {EnergyPreset::kReRam, "reram"},
      {EnergyPreset::kPcm, "pcm"},
      {EnergyPreset::kEcram, "ecram"},
      {EnergyPreset::kNeuRRAM, "neurram"},
      {EnergyPreset::kIbmPcm64, "ibm_pcm64"}};
};

template <class E>
std::string enum_name(E e) {
  for (const auto& [value, name] : EnumTable<E>::kEntries) {
    if (value == e) return name;
  }
  return "?";
}

template <class E>
std::string enum_choices() {
  std::string out;
  for (const auto& entry : EnumTable<E>::kEntries) {
    out += (out.empty() ? "" : " | ") + std::string(entry.second);
  }
  return out;
}

template <class E>
E parse_enum(const std::string& key, const std::string& text) {
  for (const auto& [value, name] : EnumTable<E>::kEntries) {
    if (text == name) return value;
  }
  TORCH_CHECK(false, "config key '", key, "': got ", analog::quoted(text), ", expected one of ",
              enum_choices<E>());
}

template <class T>
constexpr bool kIsEnum = std::is_enum_v<T>;

double parse_number(const std::string& key, const std::string& text) {
  const char* begin = text.c_str();
  char* end = nullptr;
  const double v = std::strtod(begin, &end);
  TORCH_CHECK(
      !text.empty() && end == begin + text.size() && text.find_first_of("xX") == std::string::npos,
      "config key '", key, "': got ", analog::quoted(text), ", expected a decimal number");
  return v;
}

bool parse_bool(const std::string& key, const std::string& text) {
  if (text == "true" || text == "1") return true;
  if (text == "false" || text == "0") return false;
  TORCH_CHECK(false, "config key '", key, "': got ", analog::quoted(text),
              ", expected true or false");
}

std::string format_number(double v) {
  std::ostringstream s;
  s.precision(17);
  s << v;
  return s.str();
}

void check_range(const std::string& key, double v, double lo, double hi, bool lo_open = false) {
  // NB: inf is refused even where the range has no upper end: a noise of inf trains to chance
  // and prints as null in JSON, which reads back as no number.
  TORCH_CHECK(std::isfinite(v), "config key '", key, "': got ", v, ", expected a finite number");
  const bool ok = (lo_open ? v > lo : v >= lo) && v <= hi;
  TORCH_CHECK(ok, "config key '", key, "': got ", v, ", expected a value in ", lo_open ? "(" : "[",
              lo, ", ", hi, "]");
}

/// Visits every field of a config with its dotted name.
template <class V>
void visit_config(RPUConfig& cfg, V& v) {
  v("type", cfg.type());
  const auto group = [&](const std::string& prefix, auto& part) {
    auto prefixed = [&](const char* name, auto& member, auto... range) {
      v((prefix + "." + name).c_str(), member, range...);
    };
    part.visit(prefixed);
  };
  group("forward", cfg.forward());
  group("backward", cfg.backward());
  group("update", cfg.update());
  group("device", cfg.device());
  group("mapping", cfg.mapping());
  group("noise_model", cfg.noise_model());
  v("drift_compensation", cfg.drift_compensation());
  group("clip", cfg.clip());
  group("remap", cfg.remap());
  group("modifier", cfg.modifier());
  group("energy", cfg.energy());
}

/// The key that sets every energy figure at once.
constexpr const char* kEnergyPresetKey = "energy.preset";

/// energy.preset = `name`: every energy figure becomes the preset's.
void apply_energy_preset(RPUConfig& cfg, const std::string& name) {
  cfg.energy(EnergyParameters::of(parse_enum<EnergyPreset>(kEnergyPresetKey, name)));
}

struct KeyLister {
  std::vector<std::string> keys;
  template <class T, class... R>
  void operator()(const char* key, T&, R...) {
    keys.emplace_back(key);
  }
};

struct Validator {
  template <class T>
  void operator()(const char*, T&) {}
  template <class T>
  void operator()(const char* key, T& member, double lo, double hi, bool lo_open = false) {
    check_range(key, static_cast<double>(member), lo, hi, lo_open);
  }
};

/// Sets (or reads) the field named `key` from text.
struct TextAccess {
  std::string key;
  const std::string* input = nullptr;  // set when writing
  std::string output;
  bool found = false;

  template <class T, class... R>
  void operator()(const char* name, T& member, R... range) {
    if (key != name) return;
    found = true;
    if constexpr (std::is_same_v<T, bool>) {
      if (input) member = parse_bool(key, *input);
      output = member ? "true" : "false";
    } else if constexpr (kIsEnum<T>) {
      if (input) member = parse_enum<T>(key, *input);
      output = enum_name(member);
    } else {
      if (input) {
        const double v = parse_number(key, *input);
        analog::check_range(key, v, range...);
        if constexpr (std::is_integral_v<T>) {
          TORCH_CHECK(v == std::floor(v), "config key '", key, "': got ", analog::quoted(*input),
                      ", expected an integer");
        }
        member = static_cast<T>(v);
      }
      output = format_number(static_cast<double>(member));
    }
  }
};

struct JsonWriter {
  Json root = Json::object();
  template <class T, class... R>
  void operator()(const char* key, T& member, R...) {
    const std::string k(key);
    const auto dot = k.find('.');
    Json& slot = dot == std::string::npos ? root[k] : root[k.substr(0, dot)][k.substr(dot + 1)];
    if constexpr (kIsEnum<T>) {
      slot = enum_name(member);
    } else {
      slot = member;
    }
  }
};

struct JsonReader {
  const Json* root = nullptr;
  std::set<std::string> seen;

  template <class T, class... R>
  void operator()(const char* key, T& member, R... range) {
    const std::string k(key);
    const auto dot = k.find('.');
    const Json* node = root;
    std::string leaf = k;
    if (dot != std::string::npos) {
      const auto it = root->find(k.substr(0, dot));
      if (it == root->end()) return;
      node = &*it;
      leaf = k.substr(dot + 1);
    }
    const auto it = node->find(leaf);
    if (it == node->end()) return;
    seen.insert(k);
    const Json& value = *it;
    if constexpr (std::is_same_v<T, bool>) {
      TORCH_CHECK(value.is_boolean(), "config key '", k, "': got ", shortened(value.dump()),
                  ", expected true or false");
      member = value.get<bool>();
    } else if constexpr (kIsEnum<T>) {
      TORCH_CHECK(value.is_string(), "config key '", k, "': got ", shortened(value.dump()),
                  ", expected one of ", enum_choices<T>());
      member = parse_enum<T>(k, value.get<std::string>());
    } else {
      TORCH_CHECK(value.is_number(), "config key '", k, "': got ", shortened(value.dump()),
                  ", expected a number");
      const double v = value.get<double>();
      if constexpr (sizeof...(R) > 0) analog::check_range(k, v, range...);
      if constexpr (std::is_integral_v<T>) {
        TORCH_CHECK(v == std::floor(v), "config key '", k, "': got ", shortened(value.dump()),
                    ", expected an integer");
      }
      member = static_cast<T>(v);
    }
  }
};

void check_unknown_keys(const Json& root, const std::set<std::string>& known_groups,
                        const std::vector<std::string>& keys) {
  const std::set<std::string> known(keys.begin(), keys.end());
  for (auto it = root.begin(); it != root.end(); ++it) {
    if (it.value().is_object() && known_groups.count(it.key())) {
      for (auto jt = it.value().begin(); jt != it.value().end(); ++jt) {
        const std::string k = it.key() + "." + jt.key();
        TORCH_CHECK(known.count(k), "config: unknown key '", k, "'");
      }
    } else {
      TORCH_CHECK(known.count(it.key()), "config: unknown key '", it.key(), "'",
                  known_groups.count(it.key()) ? " (expected an object)" : "");
    }
  }
}

}  // namespace

RPUConfig RPUConfig::floating_point() { return RPUConfig().type(TileType::kFloatingPoint); }

RPUConfig RPUConfig::inference() { return RPUConfig().type(TileType::kInference); }

void RPUConfig::validate() const {
  RPUConfig copy = *this;
  Validator v;
  visit_config(copy, v);
  for (const auto* io : {&forward(), &backward()}) {
    const char* name = io == &forward() ? "forward" : "backward";
    TORCH_CHECK(io->noise_management() == NoiseManagement::kNone || io->inp_bound() == 1.0,
                "config key '", name, ".inp_bound': got ", io->inp_bound(),
                ", expected 1 when noise_management is not none");
  }
  TORCH_CHECK(modifier().pdrop() == 0.0 || modifier().type() != ModifierType::kNone,
              "config key 'modifier.pdrop': got ", modifier().pdrop(),
              ", expected 0 when modifier.type is none (drop-connect alone is type drop_connect)");
  TORCH_CHECK(device().w_min() < device().w_max(), "config key 'device.w_min': got ",
              device().w_min(), ", expected less than device.w_max = ", device().w_max());
  if (device().model() != DeviceModel::kConstantStep) {
    // Its steps scale with 1 - g w / bound: a bound on the wrong side of 0 would reverse them.
    // This checks the mean bounds; with enforce_consistency = false a device whose drawn bound
    // crosses 0 (z < -1 / w_*_dtod) still has reversed steps, as in aihwkit.
    const std::string model = get("device.model");
    TORCH_CHECK(device().w_max() > 0.0, "config key 'device.w_max': got ", device().w_max(),
                ", expected a value > 0 for a ", model, " device");
    TORCH_CHECK(device().w_min() < 0.0, "config key 'device.w_min': got ", device().w_min(),
                ", expected a value < 0 for a ", model, " device");
  }
}

void RPUConfig::set(const std::string& dotted_key, const std::string& value) {
  if (dotted_key == kEnergyPresetKey) {
    apply_energy_preset(*this, value);
    return;
  }
  TextAccess access;
  access.key = dotted_key;
  access.input = &value;
  visit_config(*this, access);
  TORCH_CHECK(access.found, "config: unknown key '", dotted_key, "'");
}

std::string RPUConfig::get(const std::string& dotted_key) const {
  RPUConfig copy = *this;
  TextAccess access;
  access.key = dotted_key;
  visit_config(copy, access);
  TORCH_CHECK(access.found, "config: unknown key '", dotted_key, "'");
  return access.output;
}

std::vector<std::string> RPUConfig::keys() {
  RPUConfig cfg;
  KeyLister lister;
  visit_config(cfg, lister);
  return lister.keys;
}

std::string RPUConfig::to_json(int indent) const {
  RPUConfig copy = *this;
  JsonWriter writer;
  visit_config(copy, writer);
  return writer.root.dump(indent);
}

RPUConfig RPUConfig::from_json(const std::string& text) {
  check_json_text(text, "config");
  Json root;
  try {
    root = Json::parse(text);
  } catch (
      const Json::exception& e) {  // NB: not only parse_error: a number too big is out_of_range
    TORCH_CHECK(false, "config: invalid JSON: ", e.what());
  }
  TORCH_CHECK(root.is_object(), "config: expected a JSON object, got ", root.type_name());
  check_unknown_keys(root,
                     {"forward", "backward", "update", "device", "mapping", "noise_model", "clip",
                      "remap", "modifier", "energy"},
                     keys());
  RPUConfig cfg;
  // The preset first: the energy figures the object gives replace its figures.
  const auto energy = root.find("energy");
  if (energy != root.end() && energy->is_object()) {
    const auto preset = energy->find("preset");
    if (preset != energy->end()) {
      TORCH_CHECK(preset->is_string(), "config key '", kEnergyPresetKey, "': got ",
                  shortened(preset->dump()), ", expected one of ", enum_choices<EnergyPreset>());
      apply_energy_preset(cfg, preset->get<std::string>());
    }
  }
  JsonReader reader;
  reader.root = &root;
  visit_config(cfg, reader);
  cfg.validate();
  return cfg;
}

RPUConfig RPUConfig::from_json_file(const std::string& path) {
  const std::string text = read_input_file(path, "config", kMaxJsonFileBytes);
  try {
    return from_json(text);
  } catch (const c10::Error& e) {
    TORCH_CHECK(false, path, ": ", e.msg());
  }
}

}  // namespace analog
