#pragma once
// Sources: the inputs found at a path on disk. A regular file is one input,
// except an mbox (first line "From "), which is one input per message. A
// directory is walked recursively in name order; in a maildir (a directory
// with cur/ and new/) the messages in cur/ and new/ are inputs and tmp/ is
// skipped, since files there are still being written; nothing else in a
// maildir is read. Hidden files and directories (".name") are skipped.
// Symbolic links are not followed out of the walked tree: a link to a file
// inside it is read under the link's name, a link leading out of it is
// reported through on_error (reason "symlink_outside_tree"), and links to
// directories are not followed at all, so the walk cannot loop. Anything that
// is not a regular file or a directory (a FIFO, a socket) is reported through
// on_error and never opened for reading.
//
// Files are read one at a time, so memory holds one input whatever the
// number of files. A file over UnpackLimits::max_input_bytes is not read; it
// is yielded with `too_large` set, so the caller can record why. An mbox is
// streamed line by line whatever its size; max_input_bytes then applies to
// each message, and max_mbox_messages to the file (reported through
// on_error; the messages before the limit are yielded).

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
// Exposed for tests. Returns the messages without their "From " lines and
// without the blank line that precedes each separator. Text before the first
// "From " line is a message unless it is only whitespace. More than
// max_messages messages: the first max_messages are returned and *status is
// kLimitExceeded "max_mbox_messages"; otherwise *status is OK. `status` may
// be null.
std::vector<std::string> SplitMbox(std::string_view mbox, std::uint32_t max_messages,
                                   Status* status);

}  // namespace dmarcwatch::ingest
