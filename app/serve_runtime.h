#pragma once
// ServeRuntime: what `dmarcwatch serve` runs besides the web server, and
// the services the web server needs from the rest of the program.
//
//  - web services: a store per web thread, rollups, the SPF check (cached,
//    DNS behind one lock), the upload pipeline (one Importer behind a lock:
//    uploads are rare and the store serialises writers anyway), status;
//  - a scheduler thread running periodic tasks (each with its own
//    interval), stopped cleanly on shutdown: every [[mailboxes]] entry is
//    polled and every [[watch]] folder scanned on its interval; after each
//    ingest that stored new reports (poll, scan or upload) the DNS
//    attribution runs, then the alert rules are evaluated and the outbox
//    delivered; the rules are also evaluated hourly (silence and
//    resolution need no new report) and the outbox retried every minute.
//    All of it runs on the scheduler thread, one task at a time, over the
//    scheduler's store.
//
// REQUIRES: the Context and the Store outlive the runtime.

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "alerts_wiring.h"
#include "analysis_service.h"
#include "command.h"
#include "dmarcwatch/web/server.h"
#include "importer.h"
#include "poller.h"
#include "watcher.h"

namespace dmarcwatch::app {

class ServeRuntime {
 public:
  ServeRuntime(Context& ctx, store::Store& store);
  ~ServeRuntime();
  ServeRuntime(const ServeRuntime&) = delete;
  ServeRuntime& operator=(const ServeRuntime&) = delete;

  // Builds the analysis and the upload pipeline; registers the periodic tasks.
  Status Prepare();
  web::WebServices WebServicesFor();
  std::shared_ptr<web::Metrics> metrics() { return metrics_; }

  // A periodic task: `run` is called every `interval` seconds on the
  // scheduler thread (first right after start). It must not throw.
  void AddTask(std::string name, std::int64_t interval, std::function<void()> run);
  void StartScheduler();
  void StopScheduler();
  // Runs the task `name` as soon as the scheduler is free (any thread).
  void RunSoon(const std::string& name);

 private:
  struct Task {
    std::string name;
    std::int64_t interval;
    std::function<void()> run;
    std::chrono::steady_clock::time_point next;
    bool soon = false;  // RunSoon asked for it
  };
  void Loop();
  void AddIngestTasks();
  // After an ingest on the scheduler thread: DNS attribution of the new
  // reports, then (when any) an alerts evaluation and delivery.
  void AfterIngest(const char* source, const std::string& name, const Status& error,
                   const std::vector<std::int64_t>& new_reports);
  void EvaluateAlerts();
  void DeliverAlerts();
  // When the rollups changed since the last run: computes the dashboard's
  // default period views of each domain, which the store keeps for every
  // process (store::StoreOptions::keep_answers), so that no request waits
  // for them.
  void RefreshViews();
  std::vector<analysis::SpfExpansion> SpfFor(const std::string& domain);
  Result<web::UploadOutcome> Upload(std::string_view bytes, const std::string& token_name);

  Context& ctx_;
  store::Store& store_;  // the scheduler thread's store
  std::shared_ptr<web::Metrics> metrics_;
  std::unique_ptr<AnalysisService> analysis_;  // the scheduler's
  std::unique_ptr<Importer> importer_;         // the scheduler's: polls and scans
  std::unique_ptr<MailboxPoller> poller_;
  std::unique_ptr<FolderWatcher> watcher_;
  std::unique_ptr<AlertsService> alerts_;      // null when alerts are off

  // Uploads arrive on web threads: one pipeline with its own store, locked.
  std::mutex upload_mu_;
  std::unique_ptr<store::Store> upload_store_;
  std::unique_ptr<AnalysisService> upload_analysis_;
  std::unique_ptr<Importer> upload_importer_;

  // The SPF check, for the web threads: one resolver, locked, and answers
  // kept for a few minutes on top of the DNS cache.
  std::mutex spf_mu_;
  std::unique_ptr<store::Store> spf_store_;
  std::unique_ptr<AnalysisService> spf_analysis_;
  std::map<std::string, std::pair<model::UnixTime, std::vector<analysis::SpfExpansion>>> spf_cache_;

  // Bumped by this process's ingests; with the store's rollup generation it
  // makes the web server's data_generation (WebServicesFor).
  std::atomic<std::uint64_t> data_generation_{0};
  // The store's rollup generation RefreshViews last computed the views of.
  std::optional<std::int64_t> refreshed_generation_;

  std::vector<Task> tasks_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
};

}  // namespace dmarcwatch::app
