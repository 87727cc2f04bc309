#pragma once
// Sources: the inputs found at a path on disk. A regular file is one input,
// except an mbox (first line "From "), which is one input per message. A
// directory is walked recursively in name order; in a maildir (a directory
// with cur/ new/ tmp/) the messages in cur/ and new/ are inputs and tmp/ is
// skipped, since files there are still being written. Hidden files and
// directories (".name") are skipped. Symbolic links are not followed out of
// the walked tree.
//
// Files are read one at a time, so memory holds one input whatever the
// number of files. A file over UnpackLimits::max_input_bytes is not read; it
// is yielded with `too_large` set, so the caller can record why.

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

#include "dmarcwatch/ingest/limits.h"
#include "dmarcwatch/model/status.h"

namespace dmarcwatch::ingest {

struct SourceItem {
  std::string origin;  // the path, or "path#N" for the N-th (1-based) message of an mbox
  std::string name;    // file name (last path component)
  std::string bytes;   // empty when too_large
  std::uint64_t size = 0;  // bytes on disk (or of the mbox message)
  bool too_large = false;
};

// Calls `sink` for every input under `path`, in a stable order. Stops and
// returns the sink's status when it is not OK. A path that does not exist or
// cannot be read returns kNotFound / kIoError; unreadable files inside a
// directory are yielded as errors through `on_error` and the walk goes on.
Status ForEachInput(const std::filesystem::path& path, const UnpackLimits& limits,
                    const std::function<Status(SourceItem&&)>& sink,
                    const std::function<void(const std::string& origin, const Status&)>& on_error);

// Splits an mbox into messages (mboxo/mboxrd: a "From " line after a blank
// line or at the start begins a message; ">From " is unquoted once).
// Exposed for tests. Returns the messages without their "From " lines.
std::vector<std::string> SplitMbox(std::string_view mbox, std::uint32_t max_messages,
                                   Status* status);

}  // namespace dmarcwatch::ingest
