#include "serve_runtime.h"

#include <Poco/Logger.h>

#include <algorithm>
#include <chrono>

#include "dmarcwatch/analysis/dns_evidence.h"
#include "dmarcwatch/model/text.h"
#include "dmarcwatch/store/sessions.h"
#include "status.h"

namespace dmarcwatch::app {

ServeRuntime::ServeRuntime(Context& ctx, store::Store& store)
    : ctx_(ctx), store_(store), metrics_(std::make_shared<web::Metrics>()) {}

ServeRuntime::~ServeRuntime() { StopScheduler(); }

Status ServeRuntime::Prepare() {
  auto analysis = AnalysisService::Create(ctx_.config, store_, ctx_.clock, ctx_.offline);
  if (!analysis.ok()) return std::move(analysis).status();
  analysis_ = std::move(*analysis);

  upload_store_ = ctx_.OpenStore();
  if (!upload_store_) return Status::IoError("cannot open the store for uploads");
  auto upload_analysis = AnalysisService::Create(ctx_.config, *upload_store_, ctx_.clock, ctx_.offline);
  if (!upload_analysis.ok()) return std::move(upload_analysis).status();
  upload_analysis_ = std::move(*upload_analysis);
  upload_importer_ = std::make_unique<Importer>(*upload_store_, ctx_.config.limits, ctx_.clock,
                                                &upload_analysis_->analyzer());

  if (!ctx_.offline && ctx_.config.dns.enabled) {
    spf_store_ = ctx_.OpenStore();
    if (!spf_store_) return Status::IoError("cannot open the store for the SPF check");
    auto spf = AnalysisService::Create(ctx_.config, *spf_store_, ctx_.clock, false);
    if (!spf.ok()) return std::move(spf).status();
    spf_analysis_ = std::move(*spf);
  }

  // Expired sessions are removed now and then; the store keeps them.
  AddTask("purge_sessions", 3600, [this] {
    Status purged = store::PurgeSessions(store_, ctx_.clock());
    if (!purged.ok()) {
      Poco::Logger::get("dmarc.store").error("event=purge_sessions_failed detail=\"" +
                                             model::Printable(purged.message()) + "\"");
    }
  });
  AddIngestTasks();
  if (ctx_.config.storage.keep_answers) AddTask("refresh_views", 60, [this] { RefreshViews(); });
  if (ctx_.config.alerts.enabled()) {
    auto alerts = AlertsService::Create(ctx_.config, store_, *analysis_);
    if (!alerts.ok()) return std::move(alerts).status();
    alerts_ = std::move(*alerts);
    AddTask("alerts_evaluate", 3600, [this] { EvaluateAlerts(); });
    AddTask("alerts_deliver", 60, [this] { DeliverAlerts(); });
  }
  return Status::Ok();
}

void ServeRuntime::AddIngestTasks() {
  if (ctx_.config.mailboxes.empty() && ctx_.config.watch.empty()) return;
  importer_ = std::make_unique<Importer>(store_, ctx_.config.limits, ctx_.clock, &analysis_->analyzer());
  poller_ = std::make_unique<MailboxPoller>(store_, *importer_, ctx_.clock);
  watcher_ = std::make_unique<FolderWatcher>(store_, *importer_, ctx_.clock);
  for (const MailboxConfig& m : ctx_.config.mailboxes) {
    AddTask("poll " + m.name, m.interval, [this, &m] {
      Result<PollOutcome> polled = poller_->PollOnce(m);
      if (!polled.ok()) {
        AfterIngest("mailbox", m.name, polled.status(), {});
        return;
      }
      if (polled->locked_elsewhere) return;  // another process polls it now (logged)
      Poco::Logger::get("dmarc.ingest.imap")
          .information("event=poll mailbox=\"" + model::Printable(m.name, 60) +
                       "\" seen=" + std::to_string(polled->seen) +
                       " imported=" + std::to_string(polled->imported) +
                       " invalid=" + std::to_string(polled->invalid) +
                       " moved=" + std::to_string(polled->moved) +
                       " reports_new=" + std::to_string(polled->totals.reports_new));
      AfterIngest("mailbox", m.name, polled->error, polled->new_report_ids);
    });
  }
  for (const WatchConfig& w : ctx_.config.watch) {
    AddTask("watch " + w.path, w.interval, [this, &w] {
      Result<WatchOutcome> scanned = watcher_->ScanOnce(w);
      if (!scanned.ok()) {
        AfterIngest("watch", w.path, scanned.status(), {});
        return;
      }
      if (scanned->seen > 0) {
        Poco::Logger::get("dmarc.ingest")
            .information("event=scan path=\"" + model::Printable(w.path, 200) +
                         "\" files=" + std::to_string(scanned->seen) +
                         " imported=" + std::to_string(scanned->imported) +
                         " invalid=" + std::to_string(scanned->invalid) +
                         " reports_new=" + std::to_string(scanned->totals.reports_new));
      }
      AfterIngest("watch", w.path, scanned->error, scanned->new_report_ids);
    });
  }
}

void ServeRuntime::AfterIngest(const char* source, const std::string& name, const Status& error,
                               const std::vector<std::int64_t>& new_reports) {
  if (!error.ok()) {
    Poco::Logger::get("dmarc.ingest")
        .error(std::string("event=ingest_failed source=") + source + " name=\"" +
               model::Printable(name, 200) + "\" reason=" + error.reason() + " detail=\"" +
               model::Printable(error.message(), 300) + "\"");
  }
  if (!new_reports.empty()) {
    ++data_generation_;
    RunSoon("refresh_views");
    auto enriched = analysis_->EnrichWithDns(new_reports);
    if (!enriched.ok()) {
      Poco::Logger::get("dmarc.analysis.dns")
          .error("event=dns_enrichment_failed detail=\"" +
                 model::Printable(enriched.status().message()) + "\"");
    }
  }
  // New reports can open or resolve incidents; a failed poll can open the
  // ingest_failures one.
  if (alerts_ != nullptr && (!new_reports.empty() || !error.ok())) EvaluateAlerts();
}

void ServeRuntime::RefreshViews() {
  auto generation = store_.RollupGeneration();
  if (!generation.ok() || *generation == refreshed_generation_) return;
  const auto start = std::chrono::steady_clock::now();
  auto views = analysis_->RefreshViews();
  auto& log = Poco::Logger::get("dmarc.analysis");
  if (!views.ok()) {  // the next run tries again
    log.error("event=refresh_views_failed detail=\"" + model::Printable(views.status().message()) +
              "\"");
    return;
  }
  refreshed_generation_ = *generation;
  log.information("event=views_refreshed generation=" + std::to_string(*generation) +
                  " views=" + std::to_string(*views) + " ms=" +
                  std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::steady_clock::now() - start)
                                     .count()));
}

void ServeRuntime::EvaluateAlerts() {
  if (alerts_ == nullptr) return;
  auto& log = Poco::Logger::get("dmarc.alerts");
  alerts::EvaluateRequest request;
  request.as_of = ctx_.clock();
  auto health = MailboxHealthFrom(ctx_.config, store_);
  if (health.ok()) {
    request.mailboxes = std::move(*health);
  } else {
    log.error("event=mailbox_health_failed detail=\"" +
              model::Printable(health.status().message()) + "\"");
  }
  auto result = alerts_->engine().Evaluate(request);
  if (!result.ok()) {
    log.error("event=evaluate_failed detail=\"" + model::Printable(result.status().message()) +
              "\"");
    return;
  }
  log.information("event=evaluated opened=" + std::to_string(result->opened) +
                  " worsened=" + std::to_string(result->worsened) +
                  " reminded=" + std::to_string(result->reminded) +
                  " resolved=" + std::to_string(result->resolved) +
                  " notifications=" + std::to_string(result->notifications.size()));
  if (!result->notifications.empty() || !result->digests.empty()) DeliverAlerts();
}

void ServeRuntime::DeliverAlerts() {
  if (alerts_ == nullptr) return;
  auto& log = Poco::Logger::get("dmarc.alerts");
  auto outbox = alerts_->outbox();
  if (!outbox.ok()) {
    log.error("event=outbox_unavailable detail=\"" + model::Printable(outbox.status().message()) +
              "\"");
    return;
  }
  auto delivered = (*outbox)->Deliver(ctx_.clock());
  if (!delivered.ok()) {
    log.error("event=deliver_failed detail=\"" + model::Printable(delivered.status().message()) +
              "\"");
  }
}

std::vector<analysis::SpfExpansion> ServeRuntime::SpfFor(const std::string& domain) {
  std::lock_guard<std::mutex> lock(spf_mu_);
  const model::UnixTime now = ctx_.clock();
  auto it = spf_cache_.find(domain);
  if (it != spf_cache_.end() && now - it->second.first < 300) return it->second.second;
  std::vector<analysis::SpfExpansion> spf;
  if (spf_analysis_ != nullptr && spf_analysis_->resolver() != nullptr) {
    spf = analysis::SpfForDomain(*spf_analysis_->resolver(), spf_analysis_->analyzer().config(),
                                 domain);
  }
  if (spf_cache_.size() > 1000) spf_cache_.clear();
  spf_cache_[domain] = {now, spf};
  return spf;
}

Result<web::UploadOutcome> ServeRuntime::Upload(std::string_view bytes,
                                                const std::string& token_name) {
  std::lock_guard<std::mutex> lock(upload_mu_);
  const auto start = std::chrono::steady_clock::now();
  ingest::InputInfo info{"upload", "upload:" + token_name, "upload", ctx_.clock()};
  auto outcome = upload_importer_->Import(bytes, info);
  if (!outcome.ok()) return std::move(outcome).status();
  web::UploadOutcome out;
  out.input_id = outcome->input_id;
  std::vector<std::int64_t> fresh;
  std::uint64_t new_reports = 0, duplicates = 0;
  for (const ReportOutcome& r : outcome->reports) {
    out.reports.push_back({r.report_row_id, store::ToString(r.kind), r.org_name, r.report_id,
                           r.domain, r.records, r.messages});
    if (r.kind != store::SaveKind::kDuplicate) fresh.push_back(r.report_row_id);
    (r.kind == store::SaveKind::kDuplicate ? duplicates : new_reports) += 1;
  }
  for (const ingest::Rejection& r : outcome->rejections) {
    out.rejected.push_back({r.chain, r.name, r.status.reason(), r.status.message()});
  }
  for (const ingest::Skipped& s : outcome->skipped) {
    out.skipped.push_back({s.chain, s.name, s.reason, ""});
  }
  if (!fresh.empty()) {
    ++data_generation_;
    RunSoon("refresh_views");
  }
  auto enriched = upload_analysis_->EnrichWithDns(fresh);
  if (!enriched.ok()) {
    Poco::Logger::get("dmarc.analysis.dns")
        .error("event=dns_enrichment_failed detail=\"" +
               model::Printable(enriched.status().message()) + "\"");
  }
  // The alert rules see the new reports on the scheduler thread.
  if (!fresh.empty() && ctx_.config.alerts.enabled()) RunSoon("alerts_evaluate");
  metrics_->RecordIngest(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(),
      new_reports, duplicates, outcome->rejections.size());
  Poco::Logger::get("dmarc.ingest")
      .information("event=upload token=\"" + model::Printable(token_name, 64) +
                   "\" reports=" + std::to_string(out.reports.size()) +
                   " rejected=" + std::to_string(out.rejected.size()));
  return out;
}

web::WebServices ServeRuntime::WebServicesFor() {
  web::WebServices s;
  s.open_store = [this]() -> Result<std::unique_ptr<store::Store>> {
    store::StoreOptions options = ctx_.config.storage;
    if (ctx_.args.Has("db")) options.database = *ctx_.args.Get("db");
    return store::Store::Open(options);
  };
  s.rollups = [](store::Store& store) -> std::unique_ptr<analysis::RollupReader> {
    return std::make_unique<StoreRollups>(store);
  };
  s.analysis_config = &analysis_->analyzer().config();
  s.catalog = &analysis_->analyzer().catalog();
  if (spf_analysis_ != nullptr) {
    s.spf_for_domain = [this](const std::string& domain) { return SpfFor(domain); };
  }
  s.upload = [this](std::string_view bytes, const std::string& token_name) {
    return Upload(bytes, token_name);
  };
  s.status_json = [this](store::Store& store) { return StatusJson(ctx_.config, store); };
  // Both numbers only grow, so their sum changes when either does: this
  // process's ingests (also those that stored no analysed row) and any
  // process's change to the rollups.
  s.data_generation = [this](store::Store& store) {
    auto stored = store.RollupGeneration();
    return data_generation_.load() + (stored.ok() ? static_cast<std::uint64_t>(*stored) : 0);
  };
  s.clock = ctx_.clock;
  return s;
}

void ServeRuntime::AddTask(std::string name, std::int64_t interval, std::function<void()> run) {
  tasks_.push_back({std::move(name), interval, std::move(run), std::chrono::steady_clock::now()});
}

void ServeRuntime::RunSoon(const std::string& name) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (Task& task : tasks_) {
      if (task.name == name) task.soon = true;
    }
  }
  wake_.notify_all();
}

void ServeRuntime::StartScheduler() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] { Loop(); });
}

void ServeRuntime::StopScheduler() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void ServeRuntime::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    auto next = std::chrono::steady_clock::now() + std::chrono::hours(1);
    for (Task& task : tasks_) {
      if (task.soon || std::chrono::steady_clock::now() >= task.next) {
        task.soon = false;
        lock.unlock();
        task.run();
        lock.lock();
        if (stopping_) return;
        task.next = std::chrono::steady_clock::now() + std::chrono::seconds(task.interval);
      }
      next = std::min(next, task.next);
    }
    wake_.wait_until(lock, next, [this] {
      return stopping_ || std::any_of(tasks_.begin(), tasks_.end(),
                                      [](const Task& t) { return t.soon; });
    });
  }
}

}  // namespace dmarcwatch::app
