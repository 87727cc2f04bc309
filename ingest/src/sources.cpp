#include "dmarcwatch/ingest/sources.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <exception>
#include <limits>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "dmarcwatch/model/text.h"

namespace dmarcwatch::ingest {
namespace {

namespace fs = std::filesystem;

using Sink = std::function<Status(SourceItem&&)>;
using ErrorSink = std::function<void(const std::string& origin, const Status&)>;

constexpr std::size_t kReadChunk = 64 * 1024;
// An mbox line longer than this is handed to the splitter in pieces; only
// the first piece of a line is looked at for "From " and ">From ".
constexpr std::size_t kMaxLinePiece = 64 * 1024;
constexpr std::string_view kFromLine = "From ";

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && s.substr(0, prefix.size()) == prefix;
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::string Quoted(const fs::path& path) { return model::Printable(path.string()); }

Status ErrnoStatus(std::string_view what, const fs::path& path, int error) {
  return Status::IoError(std::string(what) + " " + Quoted(path) + ": " + std::strerror(error));
}

class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// Reads up to `size` bytes, retrying short reads. Returns the number read,
// or -1 with errno set.
ssize_t ReadSome(int fd, char* buffer, std::size_t size) {
  std::size_t done = 0;
  while (done < size) {
    const ssize_t n = ::read(fd, buffer + done, size - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  return static_cast<ssize_t>(done);
}

// Splits an mbox into messages, one line at a time, so that a file of any
// size is read with bounded memory (RFC 4155; mboxo and mboxrd). A "From "
// line at the start or after a blank line begins a message and is not part
// of it. In a message, a line matching ^>+From  loses one '>' (mboxrd; in
// mboxo files this also unquotes what the writer quoted). The blank line
// that a writer puts before each "From " line, and after the last message,
// is removed. Text before the first "From " line is a message too, unless it
// is only whitespace.
class MboxSplitter {
 public:
  using MessageSink =
      std::function<Status(std::string&& bytes, std::uint64_t size, bool too_large)>;

  MboxSplitter(std::uint64_t max_message_bytes, std::uint32_t max_messages, MessageSink sink)
      : max_message_bytes_(max_message_bytes),
        max_messages_(max_messages),
        sink_(std::move(sink)) {}

  // Feeds a line with its line break, or, for a line longer than the
  // reader's buffer, consecutive pieces of it: `line_start` marks the first
  // piece, `line_end` the last. Returns the first failure of the sink or of
  // max_mbox_messages; nothing more should be fed after one.
  Status Feed(std::string_view piece, bool line_start, bool line_end) {
    if (!line_start) {
      if (!skipping_from_line_) Append(piece);
      if (line_end) {
        skipping_from_line_ = false;
        after_blank_ = false;
      }
      return Status::Ok();
    }
    if (after_blank_ && StartsWith(piece, kFromLine)) {
      DMARC_RETURN_IF_ERROR(EndMessage());
      in_message_ = true;
      preamble_ = false;
      skipping_from_line_ = !line_end;
      after_blank_ = false;
      return Status::Ok();
    }
    if (!in_message_) {
      in_message_ = true;
      preamble_ = true;
    }
    const std::size_t arrows = piece.find_first_not_of('>');
    if (arrows != 0 && arrows != std::string_view::npos &&
        StartsWith(piece.substr(arrows), kFromLine)) {
      Append(piece.substr(1));
    } else {
      Append(piece);
    }
    after_blank_ = line_end && (piece == "\n" || piece == "\r\n");
    return Status::Ok();
  }

  Status Finish() { return EndMessage(); }

 private:
  void Append(std::string_view bytes) {
    size_ += bytes.size();
    if (too_large_) return;
    if (size_ > max_message_bytes_) {
      too_large_ = true;
      std::string().swap(current_);
      return;
    }
    current_.append(bytes);
  }

  Status EndMessage() {
    if (!in_message_) return Status::Ok();
    in_message_ = false;
    std::string bytes = std::move(current_);
    current_.clear();
    std::uint64_t size = size_;
    const bool too_large = too_large_;
    const bool preamble = preamble_;
    size_ = 0;
    too_large_ = false;
    preamble_ = false;
    if (preamble && !too_large && model::TrimAscii(bytes).empty()) return Status::Ok();
    if (!too_large) {
      if (EndsWith(bytes, "\r\n\r\n")) {
        bytes.resize(bytes.size() - 2);
      } else if (EndsWith(bytes, "\n\n")) {
        bytes.resize(bytes.size() - 1);
      }
      size = bytes.size();
    }
    if (count_ >= max_messages_) {
      return Status::LimitExceeded("max_mbox_messages",
                                   "number of mbox messages exceeds max_mbox_messages (" +
                                       std::to_string(max_messages_) + ")");
    }
    ++count_;
    return sink_(std::move(bytes), size, too_large);
  }

  const std::uint64_t max_message_bytes_;
  const std::uint32_t max_messages_;
  MessageSink sink_;
  std::string current_;
  std::uint64_t size_ = 0;
  std::uint32_t count_ = 0;
  bool too_large_ = false;
  bool in_message_ = false;
  bool preamble_ = false;
  bool after_blank_ = true;  // the start of the file counts as one
  bool skipping_from_line_ = false;
};

// Feeds the rest of `fd` to the splitter line by line, holding at most one
// line piece beyond the read buffer. `line_continues`: the first bytes read
// continue a line whose start was already fed.
Status StreamLines(int fd, const fs::path& path, bool line_continues, MboxSplitter& splitter) {
  std::vector<char> buffer(kReadChunk);
  std::string pending;
  for (;;) {
    const ssize_t n = ReadSome(fd, buffer.data(), buffer.size());
    if (n < 0) return ErrnoStatus("cannot read", path, errno);
    if (n == 0) break;
    pending.append(buffer.data(), static_cast<std::size_t>(n));
    std::size_t start = 0;
    for (;;) {
      const std::size_t nl = pending.find('\n', start);
      if (nl == std::string::npos) break;
      DMARC_RETURN_IF_ERROR(splitter.Feed(std::string_view(pending).substr(start, nl + 1 - start),
                                          !line_continues, true));
      line_continues = false;
      start = nl + 1;
    }
    pending.erase(0, start);
    if (pending.size() >= kMaxLinePiece) {
      DMARC_RETURN_IF_ERROR(splitter.Feed(pending, !line_continues, false));
      line_continues = true;
      pending.clear();
    }
  }
  if (!pending.empty() || line_continues) {
    DMARC_RETURN_IF_ERROR(splitter.Feed(pending, !line_continues, true));
  }
  return splitter.Finish();
}

// Reads one regular file and hands its inputs to `sink`. `path` is opened;
// `shown` (the path as walked, which differs for a symbolic link) names the
// inputs. Returns the sink's failure (which stops everything); a file that
// cannot be read is reported in *read_error instead, and a limit on the
// messages of an mbox through on_error.
Status VisitFile(const fs::path& path, const fs::path& shown, const UnpackLimits& limits,
                 const Sink& sink, const ErrorSink& on_error, Status* read_error) {
  const std::string origin = shown.string();
  const std::string name = shown.filename().string();
  // O_NONBLOCK: a FIFO that appears between the directory listing and the
  // open must not block the walk; fstat then refuses it.
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  if (fd.get() < 0) {
    *read_error = ErrnoStatus("cannot open", path, errno);
    return Status::Ok();
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    *read_error = ErrnoStatus("cannot stat", path, errno);
    return Status::Ok();
  }
  if (!S_ISREG(st.st_mode)) {
    *read_error = Status::IoError("not a regular file: " + Quoted(path));
    return Status::Ok();
  }
  const auto file_size = static_cast<std::uint64_t>(st.st_size);

  char head[5] = {};
  const ssize_t head_size = ReadSome(fd.get(), head, sizeof(head));
  if (head_size < 0) {
    *read_error = ErrnoStatus("cannot read", path, errno);
    return Status::Ok();
  }
  if (std::string_view(head, static_cast<std::size_t>(head_size)) == kFromLine) {
    // An mbox: one input per message, however large the file.
    Status sink_status;
    std::uint32_t index = 0;
    MboxSplitter splitter(limits.max_input_bytes, limits.max_mbox_messages,
                          [&](std::string&& bytes, std::uint64_t size, bool too_large) {
                            ++index;
                            SourceItem item;
                            item.origin = origin + "#" + std::to_string(index);
                            item.name = name;
                            item.bytes = std::move(bytes);
                            item.size = size;
                            item.too_large = too_large;
                            sink_status = sink(std::move(item));
                            return sink_status;
                          });
    // The first line's start was read already; no message exists yet, so
    // feeding it cannot fail.
    splitter.Feed(std::string_view(head, sizeof(head)), true, false).IgnoreError();
    const Status status = StreamLines(fd.get(), path, true, splitter);
    if (!sink_status.ok()) return sink_status;
    if (status.code() == StatusCode::kLimitExceeded) {
      on_error(origin, status);
    } else if (!status.ok()) {
      *read_error = status;
    }
    return Status::Ok();
  }

  SourceItem item;
  item.origin = origin;
  item.name = name;
  if (file_size > limits.max_input_bytes) {
    item.size = file_size;
    item.too_large = true;
    return sink(std::move(item));
  }
  // Read at most one byte more than allowed: the file may have grown since
  // fstat.
  const std::uint64_t cap = limits.max_input_bytes == std::numeric_limits<std::uint64_t>::max()
                                ? limits.max_input_bytes
                                : limits.max_input_bytes + 1;
  std::string bytes(head, static_cast<std::size_t>(head_size));
  bytes.reserve(static_cast<std::size_t>(std::min<std::uint64_t>(file_size, cap)));
  std::vector<char> buffer(kReadChunk);
  while (bytes.size() < cap) {
    const std::size_t want =
        static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), cap - bytes.size()));
    const ssize_t n = ReadSome(fd.get(), buffer.data(), want);
    if (n < 0) {
      *read_error = ErrnoStatus("cannot read", path, errno);
      return Status::Ok();
    }
    if (n == 0) break;
    bytes.append(buffer.data(), static_cast<std::size_t>(n));
  }
  if (bytes.size() > limits.max_input_bytes) {
    item.size = bytes.size();
    item.too_large = true;
    return sink(std::move(item));
  }
  item.size = bytes.size();
  item.bytes = std::move(bytes);
  return sink(std::move(item));
}

bool IsHidden(const fs::path& path) {
  const std::string name = path.filename().string();
  return name.empty() || name[0] == '.';
}

// A maildir (cur/, new/, tmp/): only cur/ and new/ hold finished messages.
bool IsMaildir(const fs::path& dir) {
  std::error_code ec;
  return fs::is_directory(dir / "cur", ec) && fs::is_directory(dir / "new", ec);
}

bool IsWithin(const fs::path& path, const fs::path& root) {
  const auto [root_end, path_end] =
      std::mismatch(root.begin(), root.end(), path.begin(), path.end());
  (void)path_end;
  return root_end == root.end();
}

Result<std::vector<fs::path>> ListDirectory(const fs::path& dir) {
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) return Status::IoError("cannot list " + Quoted(dir) + ": " + ec.message());
  std::vector<fs::path> entries;
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (!IsHidden(it->path())) entries.push_back(it->path());
  }
  if (ec) return Status::IoError("cannot list " + Quoted(dir) + ": " + ec.message());
  std::sort(entries.begin(), entries.end(), [](const fs::path& a, const fs::path& b) {
    return a.filename().string() < b.filename().string();
  });
  return entries;
}

enum class DirKind : std::uint8_t {
  kPlain,          // walked recursively
  kMaildir,        // only its cur/ and new/
  kMaildirFolder,  // cur/ or new/: messages only, no subdirectories
};

struct DirFrame {
  std::vector<fs::path> entries;
  std::size_t next = 0;
  DirKind kind = DirKind::kPlain;
};

Result<DirFrame> OpenDirectory(const fs::path& dir, DirKind kind) {
  DirFrame frame;
  frame.kind = kind;
  if (kind == DirKind::kMaildir) {
    frame.entries = {dir / "cur", dir / "new"};
    return frame;
  }
  Result<std::vector<fs::path>> entries = ListDirectory(dir);
  if (!entries.ok()) return std::move(entries).status();
  frame.entries = std::move(*entries);
  return frame;
}

// Depth first, in name order, with an explicit stack: directory depth is
// not bounded by anything we control.
Status WalkDirectory(const fs::path& root, const UnpackLimits& limits, const Sink& sink,
                     const ErrorSink& on_error) {
  std::error_code ec;
  const fs::path canonical_root = fs::canonical(root, ec);
  if (ec) return Status::IoError("cannot resolve " + Quoted(root) + ": " + ec.message());
  std::vector<DirFrame> stack;
  {
    Result<DirFrame> top =
        OpenDirectory(root, IsMaildir(root) ? DirKind::kMaildir : DirKind::kPlain);
    if (!top.ok()) return std::move(top).status();
    stack.push_back(std::move(*top));
  }
  while (!stack.empty()) {
    DirFrame& frame = stack.back();
    if (frame.next >= frame.entries.size()) {
      stack.pop_back();
      continue;
    }
    const fs::path path = frame.entries[frame.next++];
    const DirKind parent_kind = frame.kind;  // `frame` may move when the stack grows
    const std::string origin = path.string();
    const fs::file_status link_status = fs::symlink_status(path, ec);
    if (ec) {
      on_error(origin, Status::IoError("cannot stat " + Quoted(path) + ": " + ec.message()));
      continue;
    }
    fs::path file_path = path;
    if (fs::is_symlink(link_status)) {
      // Links to files inside the tree are read; links out of it, and links
      // to directories (which could loop), are not followed.
      const fs::path target = fs::canonical(path, ec);
      if (ec) {
        on_error(origin, Status::IoError("broken symbolic link " + Quoted(path)));
        continue;
      }
      if (!IsWithin(target, canonical_root)) {
        on_error(origin, Status(StatusCode::kPermissionDenied, "symlink_outside_tree",
                                "symbolic link leads out of the walked tree: " + Quoted(path)));
        continue;
      }
      if (!fs::is_regular_file(fs::status(target, ec))) continue;
      file_path = target;
    } else if (fs::is_directory(link_status)) {
      if (parent_kind == DirKind::kMaildirFolder) continue;
      const DirKind kind = parent_kind == DirKind::kMaildir ? DirKind::kMaildirFolder
                           : IsMaildir(path)                ? DirKind::kMaildir
                                                            : DirKind::kPlain;
      Result<DirFrame> child = OpenDirectory(path, kind);
      if (!child.ok()) {
        on_error(origin, child.status());
        continue;
      }
      stack.push_back(std::move(*child));
      continue;
    } else if (!fs::is_regular_file(link_status)) {
      on_error(origin, Status::IoError("not a regular file: " + Quoted(path)));
      continue;
    }
    Status read_error;
    DMARC_RETURN_IF_ERROR(VisitFile(file_path, path, limits, sink, on_error, &read_error));
    if (!read_error.ok()) on_error(origin, read_error);
  }
  return Status::Ok();
}

}  // namespace

Status ForEachInput(const std::filesystem::path& path, const UnpackLimits& limits,
                    const std::function<Status(SourceItem&&)>& sink,
                    const std::function<void(const std::string& origin, const Status&)>& on_error) {
  try {
    std::error_code ec;
    const fs::file_status st = fs::status(path, ec);
    if (st.type() == fs::file_type::not_found) {
      return Status::NotFound("no such file or directory: " + Quoted(path));
    }
    if (ec) return Status::IoError("cannot stat " + Quoted(path) + ": " + ec.message());
    if (fs::is_directory(st)) return WalkDirectory(path, limits, sink, on_error);
    if (!fs::is_regular_file(st)) return Status::IoError("not a regular file: " + Quoted(path));
    Status read_error;
    DMARC_RETURN_IF_ERROR(VisitFile(path, path, limits, sink, on_error, &read_error));
    return read_error;
  } catch (const std::exception& e) {
    return Status::Internal("walking " + Quoted(path) + " stopped: " + model::Printable(e.what()));
  }
}

std::vector<std::string> SplitMbox(std::string_view mbox, std::uint32_t max_messages,
                                   Status* status) {
  std::vector<std::string> messages;
  MboxSplitter splitter(std::numeric_limits<std::uint64_t>::max(), max_messages,
                        [&](std::string&& bytes, std::uint64_t, bool) {
                          messages.push_back(std::move(bytes));
                          return Status::Ok();
                        });
  Status result;
  std::size_t pos = 0;
  while (pos < mbox.size() && result.ok()) {
    const std::size_t nl = mbox.find('\n', pos);
    const std::size_t end = nl == std::string_view::npos ? mbox.size() : nl + 1;
    result = splitter.Feed(mbox.substr(pos, end - pos), true, true);
    pos = end;
  }
  if (result.ok()) result = splitter.Finish();
  if (status != nullptr) *status = std::move(result);
  return messages;
}

}  // namespace dmarcwatch::ingest
