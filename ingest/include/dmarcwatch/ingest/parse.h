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
//
// Memory: a document that is well-formed with <feedback> as its document
// element is read one piece at a time: an outline of <feedback>'s children
// first (xml_scan.h), then each header element and each batch of records
// through pugixml on its own, so that what is held besides the document is
// one batch. A document the outline cannot split (a wrapper or junk around
// <feedback>, text outside it, an unusual construct) is read whole, as one
// DOM; the result, warnings and error messages are the same either way.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dmarcwatch/ingest/limits.h"
#include "dmarcwatch/model/report.h"
#include "dmarcwatch/model/status.h"

namespace dmarcwatch::ingest {

Result<model::Report> ParseAggregateReport(std::string_view xml, const ParseLimits& limits);

// Receives one report while it is parsed: the report without its records
// first, then its records in batches, in document order. A non-OK Status
// from the sink stops the parse, which returns that Status.
class ReportSink {
 public:
  virtual ~ReportSink() = default;
  // The report without records and without warnings (those come with the
  // summary). Called once before the first OnRecords; called again only when
  // the parser had to start over, and then everything received so far is
  // void (a document it could not finish reading in pieces after all).
  virtual Status OnHeader(const model::Report& header) = 0;
  // The next records; the sink may move from them.
  virtual Status OnRecords(std::vector<model::Record>& records) = 0;
};

// A sink that keeps the whole report (its warnings are the summary's).
class ReportCollector : public ReportSink {
 public:
  Status OnHeader(const model::Report& header) override;
  Status OnRecords(std::vector<model::Record>& records) override;
  model::Report report;
};

// What is known of a report only at its end.
struct ParseSummary {
  std::vector<model::ParseWarning> warnings;  // Report::warnings
  std::uint64_t records = 0;
  std::uint64_t messages = 0;   // Report::MessageCount()
  std::string content_digest;   // ContentDigest() of the whole report
};

// The same parse, handing the report to `sink` piece by piece instead of
// returning it whole. When it fails, what the sink received is void.
Result<ParseSummary> ParseAggregateReport(std::string_view xml, const ParseLimits& limits,
                                          ReportSink& sink);

// Hex SHA-256 over a canonical serialisation of the report's content
// (metadata, policy, records; not provenance or warnings). Two reports with
// the same data in different wrappers, encodings or formatting have the same
// digest; this is the "content" in duplicate detection.
std::string ContentDigest(const model::Report& report);

}  // namespace dmarcwatch::ingest
