#include "watcher.h"

#include <Poco/Logger.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>

#include "dmarcwatch/ingest/sources.h"
#include "dmarcwatch/model/text.h"
#include "dmarcwatch/store/mailboxes.h"
#include "poller.h"

namespace dmarcwatch::app {
namespace {

namespace fs = std::filesystem;

constexpr const char* kLoggerName = "dmarc.ingest";
constexpr int kMaxSuffix = 10000;

std::string LogValue(std::string_view s) {
  std::string out = model::Printable(s);
  for (char& c : out) {
    if (c == '"') c = '\'';
  }
  return out;
}

Status Errno(const std::string& what, int err) {
  return Status::IoError(what + ": " + std::strerror(err));
}

// Copies `from` to `to`, which must not exist yet (O_EXCL). EEXIST is
// returned as is so that the caller tries the next name.
int CopyExclusive(const std::string& from, const std::string& to) {
  struct stat st {};
  const int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) return errno;
  if (::fstat(in, &st) != 0) {
    const int err = errno;
    ::close(in);
    return err;
  }
  const int out = ::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, st.st_mode & 0777);
  if (out < 0) {
    const int err = errno;
    ::close(in);
    return err;
  }
  char buf[1 << 16];
  int err = 0;
  while (true) {
    const ssize_t n = ::read(in, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      err = errno;
      break;
    }
    if (n == 0) break;
    for (ssize_t done = 0; done < n;) {
      const ssize_t w = ::write(out, buf + done, static_cast<std::size_t>(n - done));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) {
        err = errno;
        break;
      }
      done += w;
    }
    if (err != 0) break;
  }
  if (err == 0 && ::fsync(out) != 0) err = errno;
  ::close(out);
  ::close(in);
  if (err != 0) {
    ::unlink(to.c_str());  // our own partial copy; the original is untouched
    return err == EEXIST ? EIO : err;
  }
  return 0;
}

}  // namespace

Result<std::string> MoveWithoutClobbering(const std::string& from, const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::IoError("cannot create " + model::Printable(dir) + ": " + ec.message());
  const std::string name = fs::path(from).filename().string();
  // "report.xml.gz" -> "report" + ".xml.gz": the suffix goes before every
  // extension, so the name still says what the file is.
  const std::size_t dot = name.find('.', 1);
  const std::string stem = dot == std::string::npos ? name : name.substr(0, dot);
  const std::string extensions = dot == std::string::npos ? "" : name.substr(dot);
  for (int n = 0; n < kMaxSuffix; ++n) {
    const std::string candidate =
        (fs::path(dir) / (n == 0 ? name : stem + "." + std::to_string(n) + extensions)).string();
    // link() fails with EEXIST instead of replacing, which rename() would.
    if (::link(from.c_str(), candidate.c_str()) == 0) {
      if (::unlink(from.c_str()) != 0) {
        return Errno("moved " + model::Printable(from) + " to " + model::Printable(candidate) +
                         " but cannot remove the original",
                     errno);
      }
      return candidate;
    }
    const int err = errno;
    if (err == EEXIST) continue;
    if (err != EXDEV && err != EPERM && err != ENOTSUP) {
      return Errno("cannot move " + model::Printable(from) + " to " + model::Printable(dir), err);
    }
    // Another file system (or one without hard links): copy, then remove.
    const int copied = CopyExclusive(from, candidate);
    if (copied == EEXIST) continue;
    if (copied != 0) {
      return Errno("cannot copy " + model::Printable(from) + " to " + model::Printable(dir), copied);
    }
    if (::unlink(from.c_str()) != 0) {
      return Errno("copied " + model::Printable(from) + " to " + model::Printable(candidate) +
                       " but cannot remove the original",
                   errno);
    }
    return candidate;
  }
  return Status::IoError("no free name for " + model::Printable(name) + " in " +
                         model::Printable(dir));
}

FolderWatcher::FolderWatcher(store::Store& store, Importer& importer, Clock clock,
                             WatcherOptions options)
    : store_(store), importer_(importer), clock_(std::move(clock)), options_(std::move(options)) {}

Result<WatchOutcome> FolderWatcher::ScanOnce(const WatchConfig& watch) {
  Poco::Logger& log = Poco::Logger::get(kLoggerName);
  WatchOutcome out;
  out.path = watch.path;
  store::IngestRun run;
  run.kind = store::SourceKind::kWatch;
  run.source = watch.path;
  run.started_at = clock_();
  Result<std::int64_t> id = store::StartIngestRun(store_, run.kind, run.source, run.started_at);
  if (!id.ok()) return id.status();
  run.id = *id;

  Status store_error;
  auto scan = [&]() -> Status {
    std::error_code ec;
    std::vector<fs::path> files;
    for (fs::directory_iterator it(watch.path, ec), end; !ec && it != end; it.increment(ec)) {
      const std::string name = it->path().filename().string();
      if (name.empty() || name[0] == '.') continue;
      // Symbolic links and anything but a regular file are left alone.
      std::error_code type_ec;
      if (it->symlink_status(type_ec).type() != fs::file_type::regular) continue;
      files.push_back(it->path());
    }
    if (ec) {
      return Status::IoError("cannot read the watched folder " + model::Printable(watch.path) +
                             ": " + ec.message());
    }
    std::sort(files.begin(), files.end());
    Status first_error;
    for (const fs::path& file : files) {
      const model::UnixTime now = clock_();
      std::error_code time_ec;
      const auto written = fs::last_write_time(file, time_ec);
      if (time_ec) continue;  // gone meanwhile
      const double age =
          static_cast<double>(now) -
          std::chrono::duration<double>(
              std::chrono::file_clock::to_sys(written).time_since_epoch())
              .count();
      if (age < static_cast<double>(options_.min_age_seconds)) {
        ++out.too_recent;
        continue;
      }
      FileOutcome fo;
      fo.path = file.string();
      Status read_error;
      const Status walked = ingest::ForEachInput(
          file, importer_.options().unpack,
          [&](ingest::SourceItem&& item) -> Status {
            const ingest::InputInfo info{"watch", item.origin, item.name, now};
            Result<InputOutcome> o =
                item.too_large ? importer_.ImportTooLarge(info, item.size, fo.path)
                               : importer_.Import(item.bytes, info);
            if (!o.ok() && o.status().code() == StatusCode::kInvalidInput) {
              // The store refused a report's content (a NUL in a text
              // field): bad input, so the file is rejected, not retried.
              InputOutcome refused;
              refused.rejections.push_back({"", item.name, o.status()});
              fo.inputs.push_back(std::move(refused));
              return Status::Ok();
            }
            if (!o.ok()) {
              store_error = o.status();
              return o.status();
            }
            fo.inputs.push_back(std::move(*o));
            return Status::Ok();
          },
          [&](const std::string&, const Status& error) { read_error = error; });
      if (!store_error.ok()) return store_error;
      if (read_error.ok() && !walked.ok()) read_error = walked;
      if (!read_error.ok()) {
        // Left in place: an unreadable file is an environment problem,
        // not a bad report.
        log.error("event=watch_file_unreadable path=\"" + LogValue(fo.path) + "\" reason=" +
                  read_error.reason() + " detail=\"" + LogValue(read_error.message()) + "\"");
        if (first_error.ok()) first_error = read_error;
        continue;
      }
      for (const InputOutcome& o : fo.inputs) {
        out.totals.Add(o);
        if (!o.reports.empty()) fo.usable = true;
        for (const ReportOutcome& r : o.reports) {
          if (r.kind != store::SaveKind::kDuplicate) out.new_report_ids.push_back(r.report_row_id);
        }
      }
      if (!fo.usable) {
        fo.reason = fo.inputs.empty() ? "no_report_in_message" : NoReportReason(fo.inputs.front());
      }
      ++out.seen;
      ++(fo.usable ? out.imported : out.invalid);
      Result<std::string> moved =
          MoveWithoutClobbering(fo.path, fo.usable ? watch.done_dir : watch.rejected_dir);
      if (moved.ok()) {
        fo.moved_to = *moved;
        ++out.moved;
        log.information("event=watch_file_done path=\"" + LogValue(fo.path) + "\" to=\"" +
                        LogValue(fo.moved_to) + "\" usable=" + (fo.usable ? "1" : "0") +
                        (fo.usable ? "" : " reason=" + fo.reason));
      } else {
        // Imported but not moved: the next scan imports it again (its
        // reports as duplicates) and tries the move again.
        log.error("event=watch_move_failed path=\"" + LogValue(fo.path) + "\" detail=\"" +
                  LogValue(moved.status().message()) + "\"");
        if (first_error.ok()) first_error = moved.status();
      }
      if (options_.on_file) options_.on_file(fo);
      out.files.push_back(std::move(fo));
    }
    return first_error;
  };
  out.error = scan();

  FillIngestRun(run, out, clock_());
  const Status finished = store::FinishIngestRun(store_, run);
  if (!store_error.ok()) return store_error;
  if (!finished.ok()) return finished;
  return out;
}

}  // namespace dmarcwatch::app
