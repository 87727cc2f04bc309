#pragma once
// ServeRuntime: what `dmarcwatch serve` runs besides the web server, and
// the services the web server needs from the rest of the program.
//
//  - web services: a store per web thread, rollups, the SPF check (cached,
//    DNS behind one lock), the upload pipeline (one Importer behind a lock:
//    uploads are rare and the store serialises writers anyway), status;
//  - a scheduler thread running periodic tasks (each with its own
//    interval), stopped cleanly on shutdown.
//
// REQUIRES: the Context and the Store outlive the runtime.

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "analysis_service.h"
#include "command.h"
#include "dmarcwatch/web/server.h"
#include "importer.h"

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

 private:
  struct Task {
    std::string name;
    std::int64_t interval;
    std::function<void()> run;
    std::chrono::steady_clock::time_point next;
  };
  void Loop();
  std::vector<analysis::SpfExpansion> SpfFor(const std::string& domain);
  Result<web::UploadOutcome> Upload(std::string_view bytes, const std::string& token_name);

  Context& ctx_;
  store::Store& store_;  // the scheduler thread's store
  std::shared_ptr<web::Metrics> metrics_;
  std::unique_ptr<AnalysisService> analysis_;  // the scheduler's

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

  std::vector<Task> tasks_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
};

}  // namespace dmarcwatch::app
