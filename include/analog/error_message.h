// The message of an exception without LibTorch's C++ backtrace.
#pragma once
#include <exception>
#include <string>

#include <c10/util/Exception.h>

namespace analog {

/// What `e` says: a c10::Error's message alone (its what() appends a multi-line backtrace), any
/// other exception's what().
inline std::string error_message(const std::exception& e) {
  if (const auto* c10_error = dynamic_cast<const c10::Error*>(&e)) return c10_error->msg();
  return e.what();
}

}  // namespace analog
