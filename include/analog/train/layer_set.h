// Which weight layers of a network: "first,last" on the command line, "first+last" in a grid.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace analog::train {

/// A set of weight layers as text: "none", or items "first", "last" or a 1-based number joined
/// by `separator` ("first,last" on the command line, "first+last" as a grid value). Returns the
/// layer numbers of a network with `layer_count` weight layers, sorted, each once. An unknown
/// word or a layer the network lacks is an error that starts with `what` and quotes `text`.
std::vector<int64_t> parse_layer_set(const std::string& text, int64_t layer_count, char separator,
                                     const std::string& what);

}  // namespace analog::train
