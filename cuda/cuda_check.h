// Error check for raw CUDA calls in the launchers: throws with file:line and CUDA's message.
#pragma once
#include "cuda/runtime.h"

#include <stdexcept>
#include <string>

#define ANALOG_CUDA_CHECK(expr)                                                                \
  do {                                                                                         \
    const cudaError_t analog_err_ = (expr);                                                    \
    if (analog_err_ != cudaSuccess) {                                                          \
      throw std::runtime_error(std::string(__FILE__) + ":" + std::to_string(__LINE__) + ": " + \
                               #expr + ": " + cudaGetErrorString(analog_err_));                \
    }                                                                                          \
  } while (0)
