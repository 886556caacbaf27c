// The message of an exception as the user sees it: one line, without LibTorch's backtrace.
#pragma once
#include <exception>
#include <string>

#include <c10/util/Exception.h>

#include "analog/quoted.h"

namespace analog {

/// What `e` says on one line of at most about 2000 bytes (one_line): a c10::Error's message alone
/// (its what() appends a multi-line backtrace), any other exception's what(). NB: messages quote
/// input (a JSON parser's "last read" token, say), which may hold newlines or be huge.
inline std::string error_message(const std::exception& e) {
  if (const auto* c10_error = dynamic_cast<const c10::Error*>(&e))
    return one_line(c10_error->msg());
  return one_line(e.what());
}

}  // namespace analog
