// dmarcwatch import PATH...: files, directories, mbox and maildir into the store.

#include <Poco/Logger.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "command.h"
#include "dmarcwatch/ingest/sources.h"
#include "dmarcwatch/model/text.h"
#include "analysis_service.h"
#include "importer.h"
#include "output.h"

namespace dmarcwatch::app {
namespace {

namespace fs = std::filesystem;

// The inputs of an import commit together (Store::BeginBatch), this many
// at most, or what came within this long: a transaction per input writes
// the same pages again and again, which for reports of a few records was
// most of an import's time (docs/performance.md). A batch holds the
// database's write lock, so it stays short.
constexpr std::size_t kBatchInputs = 256;
constexpr std::chrono::milliseconds kBatchTime{1000};

// Regular files under the paths, for the progress bar's total.
std::uint64_t CountFiles(const std::vector<std::string>& paths) {
  std::uint64_t n = 0;
  for (const std::string& p : paths) {
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      for (auto it = fs::recursive_directory_iterator(
               p, fs::directory_options::skip_permission_denied, ec);
           !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (it->is_regular_file(ec)) ++n;
      }
    } else {
      ++n;
    }
  }
  return n;
}

// The file part of an origin ("box.mbox#3" -> "box.mbox").
std::string FileOf(const std::string& origin) {
  const auto hash = origin.rfind('#');
  return hash == std::string::npos ? origin : origin.substr(0, hash);
}

void Describe(std::ostream& out, const std::string& origin, const InputOutcome& o) {
  const std::string where = model::Printable(origin, 200);
  if (o.reports.empty() && o.rejections.empty() && o.skipped.empty()) {
    out << where << ": nothing found\n";
  }
  for (const ReportOutcome& r : o.reports) {
    out << where << ": " << store::ToString(r.kind) << " report "
        << model::Printable(r.org_name, 60) << " " << model::Printable(r.report_id, 80) << " for "
        << model::Printable(r.domain, 80) << " (" << Grouped(r.records) << " records, "
        << Grouped(r.messages) << " messages";
    if (r.warnings > 0) out << ", " << r.warnings << " warnings";
    out << ")\n";
  }
  for (const ingest::Rejection& r : o.rejections) {
    out << where << ": rejected";
    if (!r.chain.empty()) out << " [" << r.chain << "]";
    out << " " << r.status.reason() << ": " << model::Printable(r.status.message(), 300) << '\n';
  }
  for (const ingest::Skipped& s : o.skipped) {
    out << where << ": skipped [" << s.chain << "] " << s.reason << '\n';
  }
}

int Run(Context& ctx) {
  const auto& paths = ctx.args.positional();
  if (paths.empty()) {
    ctx.err << "dmarcwatch import: no PATH given (see dmarcwatch import --help)\n";
    return kExitUsage;
  }
  auto store = ctx.OpenStore();
  if (!store) return kExitFailure;
  const bool quiet = ctx.args.Has("quiet");
  auto service = AnalysisService::Create(ctx.config, *store, ctx.clock, ctx.offline);
  if (!service.ok()) {
    ctx.err << "dmarcwatch import: " << service.status().message() << '\n';
    return kExitFailure;
  }

  Importer importer(*store, ctx.config.limits, ctx.clock, &(*service)->analyzer());
  std::vector<std::int64_t> new_reports;
  ImportTotals totals;
  Progress progress(CountFiles(paths));
  std::uint64_t files_done = 0;
  std::string last_file;
  int exit_code = kExitOk;
  Status fatal;
  Poco::Logger& log = Poco::Logger::get("dmarc.ingest");

  // What the inputs of the open batch did, told once the batch commits.
  std::ostringstream told;
  ImportTotals batch_totals;
  std::vector<std::int64_t> batch_reports;
  std::size_t batch_inputs = 0;
  bool batch_failed = false;  // the open batch's inputs are not stored
  auto batch_began = std::chrono::steady_clock::now();
  const auto commit = [&]() -> Status {
    if (Status committed = store->CommitBatch(); !committed.ok()) {
      batch_failed = true;
      return committed;
    }
    totals.Add(batch_totals);
    new_reports.insert(new_reports.end(), batch_reports.begin(), batch_reports.end());
    if (!quiet && told.tellp() > 0) {
      progress.Clear();
      ctx.out << told.str();
    }
    told.str("");
    batch_totals = ImportTotals();
    batch_reports.clear();
    batch_inputs = 0;
    batch_began = std::chrono::steady_clock::now();
    return Status::Ok();
  };
  if (Status begun = store->BeginBatch(); !begun.ok()) {
    ctx.err << "dmarcwatch import: cannot write to the store: " << begun.message() << '\n';
    return kExitFailure;
  }

  for (const std::string& path : paths) {
    Status walked = ingest::ForEachInput(
        path, importer.options().unpack,
        [&](ingest::SourceItem&& item) -> Status {
          const std::string file = FileOf(item.origin);
          if (file != last_file) {
            ++files_done;
            last_file = file;
          }
          progress.Update(files_done, item.name);
          ingest::InputInfo info{"file", item.origin, item.name, ctx.clock()};
          Result<InputOutcome> outcome =
              item.too_large ? importer.ImportTooLarge(info, item.size, file)
                             : importer.Import(item.bytes, info);
          if (!outcome.ok()) {
            // The store failed: stop, the rest would fail the same way.
            fatal = outcome.status();
            return outcome.status();
          }
          batch_totals.Add(*outcome);
          for (const ReportOutcome& r : outcome->reports) {
            if (r.kind != store::SaveKind::kDuplicate) batch_reports.push_back(r.report_row_id);
          }
          if (!quiet) Describe(told, item.origin, *outcome);
          if (++batch_inputs >= kBatchInputs ||
              std::chrono::steady_clock::now() - batch_began >= kBatchTime) {
            if (Status committed = commit(); !committed.ok()) {
              fatal = committed;
              return committed;
            }
          }
          return Status::Ok();
        },
        [&](const std::string& origin, const Status& error) {
          progress.Clear();
          ctx.err << model::Printable(origin, 200) << ": cannot read: " << error.message() << '\n';
          log.error("event=input_unreadable origin=\"" + model::Printable(origin) + "\"");
          ++totals.failed;
          exit_code = kExitFailure;
        });
    if (!fatal.ok()) break;
    if (!walked.ok()) {
      progress.Clear();
      ctx.err << "dmarcwatch import: " << model::Printable(path, 200) << ": " << walked.message()
              << '\n';
      exit_code = kExitFailure;
    }
  }
  // The inputs before a failed one are committed too.
  if (!batch_failed) {
    if (Status committed = commit(); fatal.ok()) fatal = committed;
  }
  if (Status ended = store->EndBatch(); fatal.ok()) fatal = ended;
  progress.Clear();
  if (!fatal.ok()) {
    ctx.err << "dmarcwatch import: cannot write to the store: " << fatal.message() << '\n';
    if (batch_failed && batch_inputs > 0) {
      ctx.err << "dmarcwatch import: the last " << batch_inputs
              << " inputs were not stored; run the same import again\n";
    }
    return kExitFailure;
  }
  // DNS (attribution rule 5) runs after the reports are committed.
  auto enriched = (*service)->EnrichWithDns(new_reports);
  if (!enriched.ok()) {
    ctx.err << "dmarcwatch import: DNS attribution failed: " << enriched.status().message()
            << " (the reports are stored; run dmarcwatch reanalyze later)\n";
  }
  ctx.out << "files " << Grouped(files_done) << ", inputs " << Grouped(totals.inputs)
          << " | reports: " << Grouped(totals.reports_new) << " new, "
          << Grouped(totals.duplicates) << " duplicate, " << Grouped(totals.conflicts)
          << " conflicting | rejected " << Grouped(totals.rejected) << ", skipped "
          << Grouped(totals.skipped) << " | records " << Grouped(totals.records) << ", messages "
          << Grouped(totals.messages) << '\n';
  return exit_code;
}

}  // namespace

Command ImportCommand() {
  return {{"import",
           "import [options] PATH...",
           "import report files, directories, mbox files and maildirs",
           "Each PATH is a file (XML, gzip, zip, zlib, an email, an mbox) or a directory,\n"
           "walked recursively (maildirs included). The kind of every file is taken from\n"
           "its bytes, not its name. Prints one line per report or rejected payload and a\n"
           "summary. Rejected inputs are kept with their reason: see 'dmarcwatch rejected'.\n"
           "Importing the same files again adds nothing; they count as duplicates.\n"
           "On SQLite the inputs are committed in batches of up to 256 (or a second);\n"
           "an interrupted import is completed by running it again.\n\n"
           "Exit status: 0 when every file was processed (rejections included), 1 when\n"
           "the store could not be written or a path could not be read, 2 for bad usage.",
           {{"quiet", "", "print only the summary", ""}}},
          Run};
}

}  // namespace dmarcwatch::app
