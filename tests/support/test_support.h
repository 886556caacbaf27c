// Helpers shared by the tests: configs with the noise switched off, error messages, statistics,
// and the matchers the tests use on messages (EXPECT_THAT(message, HasSubstr("...")): the
// message is printed when it does not match).
#pragma once
#include <c10/util/Exception.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <vector>

#include "analog/config/rpu_config.h"
#include "analog/nonfinite_error.h"

namespace analog {
using ::testing::AllOf;
using ::testing::AnyOf;
using ::testing::HasSubstr;
using ::testing::Not;
}  // namespace analog

namespace analog::test {

/// IO parameters without noise, quantisation, clipping or management: y = W x exactly.
inline IOParameters exact_io() {
  return IOParameters()
      .inp_res(0)
      .out_res(0)
      .out_noise(0)
      .inp_bound(0)
      .out_bound(0)
      .noise_management(NoiseManagement::kNone)
      .bound_management(BoundManagement::kNone);
}

/// The message of the c10::Error that f throws ("" if it throws none).
inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const c10::Error& e) {
    return e.msg();
  }
  return "";
}

/// The message of the NonFiniteError (the error a training loop reports as divergence) that f
/// throws ("" if it throws none; any other error propagates and fails the test).
inline std::string nonfinite_error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const NonFiniteError& e) {
    return e.msg();
  }
  return "";
}

/// A path in the test temporary folder, with no file there (removed if one was).
inline std::string fresh_temp_path(const std::string& name) {
  const std::string path = ::testing::TempDir() + name;
  std::remove(path.c_str());
  return path;
}

/// The whole content of a file, byte for byte ("" if it cannot be read).
inline std::string file_contents(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

/// Sample mean and (unbiased) standard deviation.
inline std::pair<double, double> mean_std(const std::vector<double>& v) {
  double m = 0;
  for (double x : v) m += x;
  m /= static_cast<double>(v.size());
  double s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return {m, std::sqrt(s / static_cast<double>(v.size() - 1))};
}

}  // namespace analog::test
