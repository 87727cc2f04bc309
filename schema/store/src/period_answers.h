#pragma once
// The binary form of a period query's answer, as kept in period_answers
// (migration 0007). Only this store writes and reads it; a body that does
// not decode (an older format, a damaged row) is treated as absent and the
// answer is computed again.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dmarcwatch/model/analysis.h"

namespace dmarcwatch::store {

std::string EncodePathTotals(const std::vector<model::PathTotals>& totals);
std::optional<std::vector<model::PathTotals>> DecodePathTotals(std::string_view body);

std::string EncodeSources(const std::vector<model::SourceCounts>& sources);
// The first max_groups groups only.
std::optional<std::vector<model::SourceCounts>> DecodeSources(std::string_view body,
                                                              std::size_t max_groups);

// The text that names a query and its filter in period_answers.query.
std::string AnswerKey(std::string_view kind, const model::RollupQuery& filter);

}  // namespace dmarcwatch::store
