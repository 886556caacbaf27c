// RPUConfig: aihwkit defaults, dotted-name access, JSON round trip and error messages.
#include <c10/util/Exception.h>
#include <gtest/gtest.h>

#include "support/test_support.h"

#include <cstdio>
#include <fstream>
#include <string>

#include "analog/config/rpu_config.h"

namespace analog {
namespace {

using test::error_of;

TEST(RPUConfig, DefaultsAreAihwkits) {
  const RPUConfig c;
  EXPECT_EQ(c.type(), TileType::kSingleDevice);
  EXPECT_DOUBLE_EQ(c.forward().inp_res(), 1.0 / 126.0);
  EXPECT_DOUBLE_EQ(c.forward().out_res(), 1.0 / 510.0);
  EXPECT_DOUBLE_EQ(c.forward().out_bound(), 12.0);
  EXPECT_DOUBLE_EQ(c.forward().out_noise(), 0.06);
  EXPECT_DOUBLE_EQ(c.backward().out_noise(), 0.06);
  EXPECT_EQ(c.forward().bound_management(), BoundManagement::kIterative);
  EXPECT_EQ(c.forward().noise_management(), NoiseManagement::kAbsMax);
  EXPECT_DOUBLE_EQ(c.forward().max_bm_res(), 0.25);
  EXPECT_EQ(c.update().desired_bl(), 31);
  EXPECT_TRUE(c.update().update_bl_management());
  EXPECT_EQ(c.update().pulse_type(), PulseType::kStochasticCompressed);
  EXPECT_EQ(c.device().model(), DeviceModel::kConstantStep);
  EXPECT_DOUBLE_EQ(c.device().dw_min(), 0.001);
  EXPECT_DOUBLE_EQ(c.device().dw_min_dtod(), 0.3);
  EXPECT_DOUBLE_EQ(c.device().dw_min_std(), 0.3);
  EXPECT_DOUBLE_EQ(c.device().up_down_dtod(), 0.01);
  EXPECT_DOUBLE_EQ(c.device().w_max(), 0.6);
  EXPECT_DOUBLE_EQ(c.device().w_min(), -0.6);
  EXPECT_DOUBLE_EQ(c.device().w_max_dtod(), 0.3);
  EXPECT_EQ(c.mapping().max_input_size(), 512);
  EXPECT_TRUE(c.mapping().digital_bias());
  EXPECT_NO_THROW(c.validate());
}

TEST(RPUConfig, SetAndGetByDottedName) {
  RPUConfig c;
  c.set("forward.out_noise", "0.25");
  c.set("update.desired_bl", "4");
  c.set("forward.noise_management", "max");
  c.set("update.fixed_bl", "false");
  c.set("type", "floating_point");
  c.set("device.model", "soft_bounds");
  EXPECT_DOUBLE_EQ(c.forward().out_noise(), 0.25);
  EXPECT_DOUBLE_EQ(c.backward().out_noise(), 0.06);
  EXPECT_EQ(c.update().desired_bl(), 4);
  EXPECT_EQ(c.forward().noise_management(), NoiseManagement::kMax);
  EXPECT_FALSE(c.update().fixed_bl());
  EXPECT_EQ(c.type(), TileType::kFloatingPoint);
  EXPECT_EQ(c.device().model(), DeviceModel::kSoftBounds);
  EXPECT_EQ(c.get("device.model"), "soft_bounds");
  EXPECT_EQ(c.get("update.desired_bl"), "4");
  EXPECT_EQ(c.get("forward.noise_management"), "max");
  const auto keys = RPUConfig::keys();
  EXPECT_EQ(keys.front(), "type");
  EXPECT_NE(std::find(keys.begin(), keys.end(), "device.dw_min"), keys.end());
  EXPECT_NE(std::find(keys.begin(), keys.end(), "mapping.digital_bias"), keys.end());
}

TEST(RPUConfig, JsonRoundTripKeepsEveryField) {
  RPUConfig c;
  c.forward().out_noise(0.5).w_noise_type(WeightNoiseType::kPcmRead).w_noise(0.01);
  c.backward().bound_management(BoundManagement::kNone);
  c.update().desired_bl(3).pulse_type(PulseType::kMeanCount).res(0.01);
  c.device().model(DeviceModel::kSoftBounds).dw_min(0.002).up_down(-0.1).construction_seed(17);
  c.mapping().max_input_size(256).digital_bias(false);
  const RPUConfig back = RPUConfig::from_json(c.to_json());
  EXPECT_EQ(back.to_json(), c.to_json());
  EXPECT_DOUBLE_EQ(back.forward().out_noise(), 0.5);
  EXPECT_EQ(back.update().pulse_type(), PulseType::kMeanCount);
  EXPECT_EQ(back.device().construction_seed(), 17);
  EXPECT_EQ(back.device().model(), DeviceModel::kSoftBounds);
  EXPECT_FALSE(back.mapping().digital_bias());
  // Partial JSON keeps the other defaults.
  const RPUConfig partial = RPUConfig::from_json(R"({"forward": {"out_noise": 0.2}})");
  EXPECT_DOUBLE_EQ(partial.forward().out_noise(), 0.2);
  EXPECT_DOUBLE_EQ(partial.backward().out_noise(), 0.06);
}

TEST(RPUConfig, BadKeysTypesAndValuesNameTheKey) {
  EXPECT_THAT(error_of([] { RPUConfig::from_json(R"({"forward": {"out_nosie": 0.1}})"); }),
              HasSubstr("unknown key 'forward.out_nosie'"));
  EXPECT_THAT(error_of([] { RPUConfig::from_json(R"({"colour": 1})"); }),
              HasSubstr("unknown key 'colour'"));
  EXPECT_THAT(error_of([] { RPUConfig::from_json(R"({"forward": {"out_noise": "high"}})"); }),
              HasSubstr("'forward.out_noise': got \"high\", expected a number"));
  const std::string neg =
      error_of([] { RPUConfig::from_json(R"({"backward": {"out_noise": -0.1}})"); });
  EXPECT_THAT(neg, HasSubstr("'backward.out_noise': got -0.1"));
  const std::string bl = error_of([] { RPUConfig().set("update.desired_bl", "0"); });
  EXPECT_THAT(bl, HasSubstr("'update.desired_bl': got 0"));
  EXPECT_THAT(error_of([] { RPUConfig().set("update.desired_bl", "2.5"); }),
              HasSubstr("expected an integer"));
  EXPECT_THAT(error_of([] { RPUConfig().set("forward.noise_management", "loud"); }),
              HasSubstr("expected one of none | abs_max | max | constant"));
  EXPECT_THAT(error_of([] { RPUConfig().set("nope.key", "1"); }),
              HasSubstr("unknown key 'nope.key'"));
  EXPECT_THAT(error_of([] { RPUConfig::from_json("{not json"); }), HasSubstr("invalid JSON"));
  // A number beyond a double is the JSON parser's out_of_range, not a parse_error (fuzz finding).
  EXPECT_THAT(error_of([] { RPUConfig::from_json(R"({"forward": {"out_noise": 1e400}})"); }),
              HasSubstr("invalid JSON"));
  EXPECT_THAT(error_of([] { RPUConfig().set("forward.out_noise", "nan"); }), HasSubstr("finite"));
  RPUConfig bounds;
  bounds.device().w_min(0.7);
  EXPECT_THAT(error_of([&] { bounds.validate(); }), HasSubstr("device.w_min"));
  EXPECT_THAT(error_of([] { RPUConfig().set("device.model", "hard_bounds"); }),
              HasSubstr("'device.model': got 'hard_bounds', expected one of constant_step | "
                        "soft_bounds | linear_step"));
  // A soft-bounds step scales with 1 - w / bound: each bound must lie on its own side of 0.
  RPUConfig soft;
  soft.device().model(DeviceModel::kSoftBounds).w_min(0.1).w_max(0.5);
  const std::string w_min = error_of([&] { soft.validate(); });
  EXPECT_THAT(w_min,
              HasSubstr("'device.w_min': got 0.1, expected a value < 0 for a soft_bounds device"))
      << w_min;
  soft.device().w_min(-0.5).w_max(0.0);
  EXPECT_THAT(error_of([&] { soft.validate(); }),
              HasSubstr("'device.w_max': got 0, expected a value > 0"));
  soft.device().w_max(0.5);
  EXPECT_NO_THROW(soft.validate());
  // So does a linear-step one's (its slopes refer to the bounds), and its slope spreads are stds.
  RPUConfig linear;
  linear.set("device.model", "linear_step");
  linear.set("device.w_min", "0.2");
  EXPECT_THAT(error_of([&] { linear.validate(); }),
              HasSubstr("expected a value < 0 for a linear_step device"));
  EXPECT_THAT(error_of([&] { linear.set("device.gamma_up_dtod", "-0.1"); }),
              HasSubstr("device.gamma_up_dtod"));
  EXPECT_THAT(error_of([&] { linear.set("device.gamma_up", "inf"); }),
              HasSubstr("'device.gamma_up': got inf, expected a finite"));
  linear.set("device.w_min", "-0.6");
  linear.set("device.gamma_down",
             "-0.3");  // a negative slope is allowed (with allow_increasing it grows steps)
  linear.set("device.allow_increasing", "true");
  EXPECT_NO_THROW(linear.validate());
  const RPUConfig back = RPUConfig::from_json(linear.to_json());
  EXPECT_EQ(back.device().model(), DeviceModel::kLinearStep);
  EXPECT_DOUBLE_EQ(back.device().gamma_down(), -0.3);
  EXPECT_TRUE(back.device().allow_increasing());
  EXPECT_TRUE(back.device().mult_noise());  // the defaults of the others (aihwkit's)
  EXPECT_TRUE(back.device().mean_bound_reference());
  EXPECT_DOUBLE_EQ(back.device().gamma_up_dtod(), 0.05);
}

TEST(RPUConfig, FromFileNamesTheFile) {
  const std::string path = ::testing::TempDir() + "bad_config.json";
  std::ofstream(path) << R"({"update": {"desired_bl": -3}})";
  const std::string msg = error_of([&] { RPUConfig::from_json_file(path); });
  EXPECT_THAT(msg, HasSubstr(path));
  EXPECT_THAT(msg, HasSubstr("update.desired_bl"));
  EXPECT_THAT(error_of([] { RPUConfig::from_json_file("/nonexistent/cfg.json"); }),
              HasSubstr("cannot open"));
  std::remove(path.c_str());
}

}  // namespace
}  // namespace analog
