// The message of an exception as the user sees it: one line, without LibTorch's backtrace.
#pragma once
#include <exception>
#include <new>
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

/// Whether `e` reports a failed allocation: std::bad_alloc, or LibTorch's message for one
/// ("DefaultCPUAllocator: can't allocate memory" in 1.13, "... not enough memory" later, CUDA's
/// "... out of memory"). NB: LibTorch 1.13 throws the CPU's as a plain c10::Error, so the
/// message is what tells.
inline bool is_out_of_memory(const std::exception& e) {
  if (dynamic_cast<const std::bad_alloc*>(&e) != nullptr) return true;
  const auto* c10_error = dynamic_cast<const c10::Error*>(&e);
  if (c10_error == nullptr) return false;
  const std::string& m = c10_error->msg();
  return m.find("can't allocate memory") != std::string::npos ||
         m.find("not enough memory") != std::string::npos ||
         m.find("out of memory") != std::string::npos;
}

}  // namespace analog
