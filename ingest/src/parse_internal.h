#pragma once
// The parser's two ways of reading a document, chosen explicitly, for
// tests (parse.cpp). ParseAggregateReport reads a document of a megabyte or
// more in pieces when it can and anything smaller whole; whatever the
// document, both ways must return exactly the same, which the differential
// tests check on documents of every size.

#include <string_view>

#include "dmarcwatch/ingest/limits.h"
#include "dmarcwatch/model/report.h"
#include "dmarcwatch/model/status.h"

namespace dmarcwatch::ingest {

enum class ReadAs {
  kDefault,             // as ParseAggregateReport: in pieces from 1 MiB on
  kWhole,               // one DOM of the whole document, always
  kPiecesWhenPossible,  // in pieces whenever the outline allows, any size
};

Result<model::Report> ParseAggregateReportAs(std::string_view xml, const ParseLimits& limits,
                                             ReadAs how);

}  // namespace dmarcwatch::ingest
