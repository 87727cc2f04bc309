#pragma once
// ProcessInput: the single entry point from the bytes of one input to the
// reports in it and the reasons for everything that was not a report.
// Unpack (unpack.h) then parse (parse.h) each payload. This is what every
// source (files, IMAP, upload, watched folders) and the fuzzer call, the
// importer in its two steps (UnpackInput, ParsePayload) so that it can store
// a report while it is parsed.
//
// No I/O, no store: the caller keeps the raw input, saves the reports and
// records the rejections, in that order. Never throws; never fails as a whole.

#include <string>
#include <string_view>
#include <vector>

#include "dmarcwatch/ingest/digest.h"
#include "dmarcwatch/ingest/limits.h"
#include "dmarcwatch/ingest/parse.h"
#include "dmarcwatch/ingest/unpack.h"
#include "dmarcwatch/model/report.h"
#include "dmarcwatch/model/status.h"

namespace dmarcwatch::ingest {

struct IngestOptions {
  UnpackLimits unpack;
  ParseLimits parse;
};

// Where an input came from; copied into each report's provenance.
struct InputInfo {
  std::string channel = "file";  // "file", "imap", "upload", "watch"
  std::string origin;            // path, "mailbox:uidvalidity:uid", token name
  std::string name;              // file name or attachment name
  model::UnixTime received_at = 0;
};

struct Rejection {
  std::string chain;  // how far unpacking got: "eml>gz>xml"
  std::string name;   // payload name
  Status status;      // reason() is stable, message() is one line
};

struct ProcessedInput {
  std::string sha256_raw;  // hex SHA-256 of the input bytes
  std::vector<model::Report> reports;     // provenance filled, content_digest set
  std::vector<std::string> content_digests;  // parallel to reports (ContentDigest)
  std::vector<Rejection> rejections;
  std::vector<Skipped> skipped;
  std::optional<std::string> message_id;
};

ProcessedInput ProcessInput(std::string_view bytes, const InputInfo& info,
                            const IngestOptions& options);

// ProcessInput in steps, for a caller that stores each report while it is
// parsed instead of holding every report of the input at once (the
// importer): UnpackInput, then ParsePayload for each payload in order. The
// reports, warnings, provenance and rejections are ProcessInput's.
struct UnpackedInput {
  std::string sha256_raw;  // hex SHA-256 of the input bytes
  Unpacked unpacked;
};

UnpackedInput UnpackInput(std::string_view bytes, const InputInfo& info,
                          const IngestOptions& options);

// Parses one payload of `input` into `sink` (parse.h): the header it gets
// has its provenance filled, and the summary's warnings begin with the
// payload's own. The caller frees the payload's bytes when done with them.
// On failure, a Status the sink did not return is the payload's rejection,
// {payload.chain, payload.name, status} in ProcessedInput::rejections.
Result<ParseSummary> ParsePayload(const Payload& payload, const UnpackedInput& input,
                                  const InputInfo& info, const IngestOptions& options,
                                  ReportSink& sink);

// Moves the payloads that unpacking could not open into `rejections`, as
// ProcessedInput::rejections holds them, after the parse failures.
void TakeFailures(Unpacked& unpacked, std::vector<Rejection>& rejections);

}  // namespace dmarcwatch::ingest
