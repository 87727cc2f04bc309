#pragma once
// FolderWatcher: one scan of one [[watch]] folder.
//
// One ScanOnce() imports every new regular file directly in `path` (not in
// its subfolders, so done/ and rejected/ are never read again) in name
// order, and then moves it: to done_dir when at least one report of it is in
// the store (new, or a duplicate of one stored before), else to
// rejected_dir. Skipped: dot-files (an upload in progress is often one) and
// files modified less than min_age_seconds ago, which may still be being
// written; the next scan takes them. A file is imported through the
// Importer (raw bytes kept, unpacked, parsed, each report committed) before
// it is moved, so a crash between the two only means the next scan imports
// it again, its reports as duplicates, and moves it then. Nothing is ever
// deleted: a name already taken in the target gets a numeric suffix
// ("report.1.xml"), and a move across file systems copies before it
// removes the original.
//
// Files larger than the importer's max_input_bytes are not read: they are
// recorded by name, size and SHA-256 with the reason and moved to
// rejected_dir. An mbox file is imported message by message.
//
// What it does not do: watch with inotify or schedule (`serve` calls
// ScanOnce every interval), recurse, or DNS attribution (the caller runs
// AnalysisService::EnrichWithDns on WatchOutcome::new_report_ids).
//
// Errors: ScanOnce fails only when the store could not be written (or the
// scan could not be recorded). A folder that cannot be read or a file that
// cannot be moved is in WatchOutcome::error and recorded in the folder's
// ingest run (`dmarcwatch status`).
//
// Threading: one thread at a time. REQUIRES: store and importer outlive the
// watcher.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "config.h"
#include "dmarcwatch/model/status.h"
#include "dmarcwatch/store/store.h"
#include "importer.h"

namespace dmarcwatch::app {

struct FileOutcome {
  std::string path;      // where it was found
  std::string moved_to;  // where it is now; "" when it could not be moved
  bool usable = false;   // at least one report stored (new or duplicate)
  std::string reason;    // why not usable
  std::vector<InputOutcome> inputs;  // one per message for an mbox, else one
};

struct WatchOutcome {
  std::string path;
  std::uint64_t seen = 0;      // files imported
  std::uint64_t imported = 0;  // of those, moved to done_dir
  std::uint64_t invalid = 0;   // of those, moved to rejected_dir
  std::uint64_t moved = 0;
  std::uint64_t too_recent = 0;  // skipped: modified less than min_age_seconds ago
  ImportTotals totals;
  std::vector<std::int64_t> new_report_ids;
  std::vector<FileOutcome> files;
  Status error;  // OK when the scan did its work
};

struct WatcherOptions {
  // Files modified more recently than this are left for the next scan.
  std::int64_t min_age_seconds = 2;
  // Called for each file once it has been imported and moved; may be empty.
  std::function<void(const FileOutcome&)> on_file;
};

class FolderWatcher {
 public:
  using Clock = std::function<model::UnixTime()>;

  // REQUIRES: store and importer outlive the watcher.
  FolderWatcher(store::Store& store, Importer& importer, Clock clock, WatcherOptions options = {});

  Result<WatchOutcome> ScanOnce(const WatchConfig& watch);

 private:
  store::Store& store_;
  Importer& importer_;
  Clock clock_;
  WatcherOptions options_;
};

// Moves `from` into the directory `dir` (created when missing) under its
// own name, or with ".1", ".2", ... inserted before its extensions when the
// name is taken ("report.xml.gz" -> "report.1.xml.gz"). Never replaces a
// file. Returns the new path.
Result<std::string> MoveWithoutClobbering(const std::string& from, const std::string& dir);

}  // namespace dmarcwatch::app
