// Layer sets: parsing "first,last" / "first+last" into 1-based weight layer numbers.
#include "analog/train/layer_set.h"

#include <algorithm>

#include <c10/util/Exception.h>

namespace analog::train {

std::vector<int64_t> parse_layer_set(const std::string& text, int64_t layer_count, char separator,
                                     const std::string& what) {
  std::vector<int64_t> layers;
  if (text.empty() || text == "none") return layers;
  size_t start = 0;
  for (;;) {
    const size_t end = text.find(separator, start);
    const std::string item = text.substr(start, end == std::string::npos ? end : end - start);
    int64_t k = 0;
    if (item == "first") {
      k = 1;
    } else if (item == "last") {
      k = layer_count;
    } else {
      TORCH_CHECK(!item.empty() && item.size() <= 3 &&
                      item.find_first_not_of("0123456789") == std::string::npos,
                  what, ": expected none, first, last or layer numbers joined by '", separator,
                  "', got '", text, "'");
      k = std::stoll(item);
    }
    TORCH_CHECK(k >= 1 && k <= layer_count, what, ": the network has weight layers 1 to ",
                layer_count, ", got '", text, "'");
    if (std::find(layers.begin(), layers.end(), k) == layers.end()) layers.push_back(k);
    if (end == std::string::npos) break;
    start = end + 1;
  }
  std::sort(layers.begin(), layers.end());
  return layers;
}

}  // namespace analog::train
