// An iterative JSON scan for depth and repeated keys.
#include "config/json_guard.h"

#include <set>
#include <vector>

#include <c10/util/Exception.h>

#include "analog/quoted.h"

namespace analog {

void check_json_text(const std::string& text, const std::string& what) {
  // One entry per open bracket: for an object, the keys seen in it so far.
  struct Level {
    bool object = false;
    std::set<std::string> keys;
  };
  std::vector<Level> open;
  std::string last_string;  // the last string token, a key if ':' follows it in an object
  bool have_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '"') {
      size_t j = i + 1;
      while (j < text.size() && text[j] != '"') j += text[j] == '\\' ? 2 : 1;
      if (j >= text.size()) return;  // unterminated: the parser's error
      last_string = text.substr(i + 1, j - i - 1);
      have_string = true;
      i = j;
      continue;
    }
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') continue;
    if (c == ':') {
      if (have_string && !open.empty() && open.back().object) {
        TORCH_CHECK(open.back().keys.insert(last_string).second, what, ": key ",
                    analog::quoted(last_string), " appears twice in one object");
      }
    } else if (c == '{' || c == '[') {
      TORCH_CHECK(open.size() < static_cast<size_t>(kMaxJsonDepth), what,
                  ": JSON nested deeper than ", kMaxJsonDepth, " levels");
      open.push_back({c == '{', {}});
    } else if (c == '}' || c == ']') {
      if (!open.empty()) open.pop_back();
    }
    have_string = false;
  }
}

}  // namespace analog
