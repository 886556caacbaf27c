// libFuzzer target: RPU config JSON; an accepted config must survive its own JSON round trip.
#include <cstddef>
#include <cstdint>
#include <string>

#include "analog/config/rpu_config.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  analog::fuzz::expect_clean_error([&] {
    const analog::RPUConfig cfg = analog::RPUConfig::from_json(text);
    const analog::RPUConfig again = analog::RPUConfig::from_json(cfg.to_json());
    analog::fuzz::require(again == cfg, "to_json/from_json round trip changed the config");
    for (const auto& key : analog::RPUConfig::keys()) {
      analog::RPUConfig copy;
      copy.set(key, cfg.get(key));
      analog::fuzz::require(copy.get(key) == cfg.get(key), "get/set round trip changed a key");
    }
  });
  return 0;
}
