// What every fuzz target asserts: input is accepted or refused with a c10::Error whose message
// is one line of bounded length; anything else (another exception, a crash, a sanitizer report)
// is a finding.
#pragma once
#include <cstdio>
#include <cstdlib>
#include <string>

#include <c10/util/Exception.h>

#include "analog/error_message.h"

namespace analog::fuzz {

/// Aborts (a libFuzzer finding) with `what` unless `ok`.
inline void require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "fuzz: %s\n", what);
    std::abort();
  }
}

/// Runs `body`; a c10::Error is the clean refusal, checked for one short line. Any other
/// exception escapes to libFuzzer, which reports it.
template <class Body>
void expect_clean_error(Body&& body) {
  try {
    body();
  } catch (const c10::Error& e) {
    const std::string message = analog::error_message(e);
    require(!message.empty(), "empty error message");
    require(message.find('\n') == std::string::npos, "multi-line error message");
    require(message.size() <= 4096, "error message longer than 4096 characters");
  }
}

}  // namespace analog::fuzz
