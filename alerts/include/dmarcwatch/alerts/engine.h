#pragma once
// AlertEngine: evaluates the rules for every monitored domain, moves the
// incidents through their life cycle, and queues the notifications (and
// digests) in the outbox. Sending is the Outbox's job (outbox.h).
//
// How `serve` uses it (and `dmarcwatch alerts check` does the same once):
//
//   auto engine = AlertEngine::Create(options, analysis_config, catalog,
//                                     rollups, resolver, incident_store);
//   auto outbox = Outbox::Create(outbox_options, from, outbox_store, transport);
//   // after each committed ingest batch (and, say, hourly, so that
//   // silence and resolution are noticed when no reports arrive):
//   auto result = (*engine)->Evaluate(now);      // or Evaluate(request) with mailbox health
//   // on a timer (every minute), and right after an evaluation that queued:
//   auto sent = (*outbox)->Deliver(now);
//
// Each Evaluate() reads the rollups (and DNS, when the resolver is set),
// then writes its incident changes, their messages and its marks in one
// IncidentTransaction: a crash leaves all of it or none, and a restart
// (a new engine over the same store) neither repeats nor forgets an alert.
// Evaluations may run in several processes against one store: the open
// incidents are read inside the transaction.
//
// Time is a parameter: Evaluate(as_of) evaluates as if it were that
// moment (backfills, tests). Nothing here reads a clock.
//
// Threading: one thread at a time per engine. The engine borrows
// everything passed to Create, which must outlive it.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dmarcwatch/alerts/incident.h"
#include "dmarcwatch/alerts/message.h"
#include "dmarcwatch/alerts/options.h"
#include "dmarcwatch/alerts/rules.h"
#include "dmarcwatch/alerts/state_store.h"
#include "dmarcwatch/analysis/attribution.h"
#include "dmarcwatch/analysis/catalog.h"
#include "dmarcwatch/analysis/dns.h"
#include "dmarcwatch/analysis/domain_report.h"
#include "dmarcwatch/model/status.h"

namespace dmarcwatch::alerts {

struct EvaluateRequest {
  // The moment the rules and incidents are evaluated at.
  model::UnixTime as_of = 0;
  // The outbox's clock: when the messages are queued (their Date and first
  // attempt). 0 means as_of; `alerts check --as-of` passes the real time
  // so that a backfill's mail is sent now, not "three weeks ago".
  model::UnixTime queued_at = 0;
  // Mailbox health from the poller; without it the ingest_failures rule
  // cannot tell and its incidents stay as they are.
  std::optional<std::vector<MailboxHealth>> mailboxes;
  // Evaluate and render, change nothing.
  bool dry_run = false;
};

// One notification of an evaluation: what was (or would be) sent.
struct Notification {
  std::int64_t incident_id = 0;  // 0: a new incident in a dry run
  Notice notice = Notice::kOpened;
  Rule rule = Rule::kUnknown;
  std::string domain;
  std::string subject;
  analysis::Severity severity = analysis::Severity::kWarning;
  MessageContent content;
};

struct EvaluationResult {
  model::UnixTime as_of = 0;
  std::vector<std::string> domains;
  std::vector<Notification> notifications;
  std::vector<MessageContent> digests;
  std::uint32_t opened = 0;
  std::uint32_t worsened = 0;
  std::uint32_t reminded = 0;
  std::uint32_t resolved = 0;
  std::uint32_t firing = 0;    // observations firing now (open incidents still true)
  std::uint32_t queued = 0;    // messages put in the outbox (one per recipient)
};

class AlertEngine {
 public:
  // kInvalidInput when the options are unusable (a window under one day,
  // recipients without a from address).
  static Result<std::unique_ptr<AlertEngine>> Create(AlertsOptions options,
                                                     const analysis::AnalysisConfig& analysis,
                                                     const analysis::Catalog& catalog,
                                                     analysis::RollupReader& reader,
                                                     analysis::Resolver* resolver,
                                                     IncidentStore& store);
  AlertEngine(const AlertEngine&) = delete;
  AlertEngine& operator=(const AlertEngine&) = delete;

  // What serve calls after each ingest batch: evaluates as of `now`.
  Result<EvaluationResult> Evaluate(model::UnixTime now);
  Result<EvaluationResult> Evaluate(const EvaluateRequest& request);

  const AlertsOptions& options() const { return options_; }

 private:
  AlertEngine(AlertsOptions options, const analysis::AnalysisConfig& analysis,
              const analysis::Catalog& catalog, analysis::RollupReader& reader,
              analysis::Resolver* resolver, IncidentStore& store);

  AlertsOptions options_;
  const analysis::AnalysisConfig& analysis_;
  const analysis::Catalog& catalog_;
  analysis::RollupReader& reader_;
  analysis::Resolver* resolver_;
  IncidentStore& store_;
};

}  // namespace dmarcwatch::alerts
