// The error a NaN or inf inside an analog layer raises: a training loop reports it as divergence
// (and goes on with the next run) instead of matching error texts.
#pragma once
#include <c10/util/Exception.h>
#include <c10/util/StringUtil.h>

namespace analog {

/// A non-finite value reached an analog tile (its input, back-propagated error or update).
/// A c10::Error, so code that catches those keeps working.
class NonFiniteError : public c10::Error {
 public:
  using c10::Error::Error;
};

}  // namespace analog

/// TORCH_CHECK for finiteness: throws analog::NonFiniteError with the message parts joined.
#define ANALOG_CHECK_FINITE(cond, ...)                                                      \
  do {                                                                                      \
    if (C10_UNLIKELY(!(cond))) {                                                            \
      throw ::analog::NonFiniteError({__func__, __FILE__, static_cast<uint32_t>(__LINE__)}, \
                                     ::c10::str(__VA_ARGS__));                              \
    }                                                                                       \
  } while (false)
