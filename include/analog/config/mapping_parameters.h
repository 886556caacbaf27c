// MappingParameters: how a layer is split over tiles and where its bias lives.
#pragma once
#include <cstdint>

#include <torch/arg.h>

namespace analog {

/// Tile mapping of a layer. Defaults are aihwkit 1.1.0's.
struct MappingParameters {
  /// Largest tile input size (0: no limit). 784 inputs with 512 become two tiles of 392.
  TORCH_ARG(int64_t, max_input_size) = 512;
  /// Largest tile output size (0: no limit).
  TORCH_ARG(int64_t, max_output_size) = 512;
  /// The bias is a digital parameter (true) or an extra crossbar column fed with 1 (false).
  TORCH_ARG(bool, digital_bias) = true;

 public:
  template <class V>
  void visit(V& v) {
    v("max_input_size", max_input_size_, 0.0, 1.0e9);
    v("max_output_size", max_output_size_, 0.0, 1.0e9);
    v("digital_bias", digital_bias_);
  }
};

}  // namespace analog
