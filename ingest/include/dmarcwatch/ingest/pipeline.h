#pragma once
// ProcessInput: the single entry point from the bytes of one input to the
// reports in it and the reasons for everything that was not a report.
// Unpack (unpack.h) then parse (parse.h) each payload. This is what every
// source (files, IMAP, upload, watched folders) and the fuzzer call.
//
// No I/O, no store: the caller keeps the raw input, saves the reports and
// records the rejections, in that order. Never throws; never fails as a whole.

#include <string>
#include <string_view>
#include <vector>

#include "dmarcwatch/ingest/digest.h"
#include "dmarcwatch/ingest/limits.h"
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


}  // namespace dmarcwatch::ingest
