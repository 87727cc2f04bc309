// dmarcwatch poll [--mailbox NAME]: every configured mailbox (or one) once.

#include <iostream>

#include "analysis_service.h"
#include "command.h"
#include "dmarcwatch/model/text.h"
#include "importer.h"
#include "output.h"
#include "poller.h"

namespace dmarcwatch::app {
namespace {

void Describe(std::ostream& out, const MessageOutcome& m) {
  const std::string where = model::Printable(m.mailbox, 60) + " uid " + std::to_string(m.uid);
  for (const ReportOutcome& r : m.input.reports) {
    out << where << ": " << store::ToString(r.kind) << " report "
        << model::Printable(r.org_name, 60) << " " << model::Printable(r.report_id, 80) << " for "
        << model::Printable(r.domain, 80) << " (" << Grouped(r.records) << " records, "
        << Grouped(r.messages) << " messages)\n";
  }
  for (const ingest::Rejection& r : m.input.rejections) {
    out << where << ": rejected";
    if (!r.chain.empty()) out << " [" << r.chain << "]";
    out << " " << r.status.reason() << ": " << model::Printable(r.status.message(), 300) << '\n';
  }
  for (const ingest::Skipped& s : m.input.skipped) {
    out << where << ": skipped [" << s.chain << "] " << s.reason << '\n';
  }
  out << where << ": " << (m.usable ? "imported" : "invalid (" + m.reason + ")");
  if (!m.fetched && !m.usable) out << ", " << Grouped(m.size) << " bytes, not fetched";
  if (m.target_folder.empty()) {
    out << ", flagged \\Seen\n";
  } else {
    out << ", goes to " << model::Printable(m.target_folder, 120) << '\n';
  }
}

void Summarise(std::ostream& out, const PollOutcome& p) {
  const ImportTotals& t = p.totals;
  out << model::Printable(p.mailbox, 60) << ": messages " << Grouped(p.seen) << " ("
      << Grouped(p.imported) << " imported, " << Grouped(p.invalid) << " invalid), "
      << Grouped(p.moved) << " moved";
  if (p.left > 0) out << ", " << Grouped(p.left) << " left for the next poll";
  out << " | reports: " << Grouped(t.reports_new) << " new, " << Grouped(t.duplicates)
      << " duplicate, " << Grouped(t.conflicts) << " conflicting | rejected " << Grouped(t.rejected)
      << ", skipped " << Grouped(t.skipped) << '\n';
}

int Run(Context& ctx) {
  if (!ctx.args.positional().empty()) {
    ctx.err << "dmarcwatch poll: unexpected argument '" << ctx.args.positional().front()
            << "' (see dmarcwatch poll --help)\n";
    return kExitUsage;
  }
  std::vector<const MailboxConfig*> mailboxes;
  const std::optional<std::string> only = ctx.args.Get("mailbox");
  for (const MailboxConfig& m : ctx.config.mailboxes) {
    if (!only || m.name == *only) mailboxes.push_back(&m);
  }
  if (mailboxes.empty()) {
    ctx.err << "dmarcwatch poll: "
            << (only ? "no [[mailboxes]] entry is named '" + model::Printable(*only) + "'"
                     : std::string("no [[mailboxes]] in the configuration"))
            << " (docs/imap.md)\n";
    return kExitUsage;
  }
  auto store = ctx.OpenStore();
  if (!store) return kExitFailure;
  auto service = AnalysisService::Create(ctx.config, *store, ctx.clock, ctx.offline);
  if (!service.ok()) {
    ctx.err << "dmarcwatch poll: " << service.status().message() << '\n';
    return kExitFailure;
  }
  Importer importer(*store, ctx.config.limits, ctx.clock, &(*service)->analyzer());
  const bool quiet = ctx.args.Has("quiet");
  PollerOptions options;
  if (!quiet) {
    options.on_message = [&ctx](const MessageOutcome& m) {
      Describe(ctx.out, m);
      ctx.out.flush();
    };
  }
  MailboxPoller poller(*store, importer, ctx.clock, options);

  int exit_code = kExitOk;
  std::vector<std::int64_t> new_reports;
  for (const MailboxConfig* m : mailboxes) {
    Result<PollOutcome> polled = poller.PollOnce(*m);
    if (!polled.ok()) {
      ctx.err << "dmarcwatch poll: " << model::Printable(m->name, 60)
              << ": cannot write to the store: " << polled.status().message() << '\n';
      exit_code = kExitFailure;
      break;
    }
    if (polled->locked_elsewhere) {
      ctx.out << model::Printable(m->name, 60)
              << ": skipped: another dmarcwatch process is polling it right now\n";
      continue;
    }
    if (polled->uidvalidity_changed) {
      ctx.out << model::Printable(m->name, 60)
              << ": the folder's UIDVALIDITY changed; its messages are read again and their "
                 "reports deduplicated\n";
    }
    Summarise(ctx.out, *polled);
    if (!polled->error.ok()) {
      ctx.err << "dmarcwatch poll: " << model::Printable(m->name, 60) << ": "
              << polled->error.reason() << ": " << polled->error.message() << '\n';
      exit_code = kExitFailure;
    }
    new_reports.insert(new_reports.end(), polled->new_report_ids.begin(),
                       polled->new_report_ids.end());
  }
  // DNS (attribution rule 5) runs after the reports are committed.
  auto enriched = (*service)->EnrichWithDns(new_reports);
  if (!enriched.ok()) {
    ctx.err << "dmarcwatch poll: DNS attribution failed: " << enriched.status().message()
            << " (the reports are stored; run dmarcwatch reanalyze later)\n";
  }
  return exit_code;
}

}  // namespace

Command PollCommand() {
  return {{"poll",
           "poll [options]",
           "poll the configured IMAP mailboxes once",
           "Connects to every [[mailboxes]] entry (or only --mailbox NAME), imports the\n"
           "reports of every new message, and then moves the message: to archive_folder\n"
           "once its reports are stored (or flags it \\Seen with after_import = \"mark\"),\n"
           "to invalid_folder when it holds no usable report, with the reason recorded.\n"
           "A poll that is interrupted at any point is completed by the next one, with\n"
           "no report lost or stored twice (docs/imap.md). Prints one line per report\n"
           "and per message, and a summary per mailbox. A mailbox that another\n"
           "dmarcwatch process is polling right now is skipped, with a line that says so.\n\n"
           "Exit status: 0 when every mailbox was polled (invalid messages included), 1\n"
           "when a mailbox could not be reached or read, or the store not written, 2 for\n"
           "bad usage or no such mailbox.",
           {{"mailbox", "NAME", "poll only the [[mailboxes]] entry with this name", ""},
            {"quiet", "", "print only the summaries", ""}}},
          Run};
}

}  // namespace dmarcwatch::app
