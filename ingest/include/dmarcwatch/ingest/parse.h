#pragma once
// Parse: one DMARC aggregate report document (XML) into model::Report.
//
// Implements RFC 7489 appendix C and RFC 9990 (namespace
// urn:ietf:params:xml:ns:dmarc-2.0, with np, testing, discovery_method,
// generator, human_result), and what real reporters send. It is lenient
// where the data is intact and says so in Report::warnings: a UTF-8 BOM or
// whitespace before the declaration, windows-1252 / latin-1 text, junk
// around <feedback> (an unclosed wrapper, trailing bytes), padded values,
// upper-case words, unknown elements, several reasons / DKIM / SPF results,
// a missing SPF result. It is strict where the data is not there, and then
// returns kInvalidInput with a reason: no <feedback> root, a missing
// report_id / date_range / policy domain, a count or time that is not a
// number in range, begin after end, a source_ip that is not an address, no
// <record>. A <!DOCTYPE> is rejected before anything is parsed, so no entity
// is ever expanded.
//
// Does not fill Report::provenance (the caller knows where it came from).
// No I/O, no shared state; safe to call from several threads.

#include <string_view>

#include "dmarcwatch/ingest/limits.h"
#include "dmarcwatch/model/report.h"
#include "dmarcwatch/model/status.h"

namespace dmarcwatch::ingest {

Result<model::Report> ParseAggregateReport(std::string_view xml, const ParseLimits& limits);

// Hex SHA-256 over a canonical serialisation of the report's content
// (metadata, policy, records; not provenance or warnings). Two reports with
// the same data in different wrappers, encodings or formatting have the same
// digest; this is the "content" in duplicate detection.
std::string ContentDigest(const model::Report& report);

}  // namespace dmarcwatch::ingest
