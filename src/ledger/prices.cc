#include "ledger/prices.h"

namespace hearth::ledger {

std::optional<double> CostUsd(const PriceTable& prices, std::string_view model,
                              int64_t prompt_tokens, int64_t completion_tokens) {
  auto it = prices.find(model);
  if (it == prices.end()) return std::nullopt;
  return (static_cast<double>(prompt_tokens) * it->second.input_per_mtok +
          static_cast<double>(completion_tokens) * it->second.output_per_mtok) / 1e6;
}

}  // namespace hearth::ledger
