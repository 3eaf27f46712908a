// Prices per model, in US dollars per million tokens, and the cost of one request.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace hearth::ledger {

struct Price {
  double input_per_mtok = 0;    // USD per 1e6 prompt tokens
  double output_per_mtok = 0;   // USD per 1e6 completion tokens
};
using PriceTable = std::map<std::string, Price, std::less<>>;

// Cost in USD, or nullopt when `model` has no price.
std::optional<double> CostUsd(const PriceTable& prices, std::string_view model,
                              int64_t prompt_tokens, int64_t completion_tokens);

}  // namespace hearth::ledger
