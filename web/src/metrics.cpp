#include <cmath>
#include <cstdio>
#include <map>
#include <mutex>

#include "dmarcwatch/web/server.h"

namespace dmarcwatch::web {

struct Metrics::State {
  struct Summary {
    double sum = 0;
    std::uint64_t count = 0;
  };
  mutable std::mutex mu;
  std::map<std::pair<std::string, int>, std::uint64_t> requests;  // (route, status)
  std::map<std::string, Summary> request_seconds;                 // route
  Summary ingest_seconds;
  std::map<std::string, std::uint64_t> ingest_reports;            // result
};

Metrics::Metrics() : state_(std::make_unique<State>()) {}
Metrics::~Metrics() = default;

void Metrics::RecordRequest(const std::string& route, int status, double seconds) {
  std::lock_guard<std::mutex> lock(state_->mu);
  ++state_->requests[{route, status}];
  auto& s = state_->request_seconds[route];
  s.sum += seconds;
  ++s.count;
}

void Metrics::RecordIngest(double seconds, std::uint64_t new_reports, std::uint64_t duplicates,
                           std::uint64_t rejected) {
  std::lock_guard<std::mutex> lock(state_->mu);
  state_->ingest_seconds.sum += seconds;
  ++state_->ingest_seconds.count;
  state_->ingest_reports["new"] += new_reports;
  state_->ingest_reports["duplicate"] += duplicates;
  state_->ingest_reports["rejected"] += rejected;
}

std::string Metrics::Text() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  std::string out;
  char buf[64];
  auto number = [&](double v) {
    std::snprintf(buf, sizeof(buf), "%.6g", v);
    return std::string(buf);
  };
  out += "# HELP dmarcwatch_http_requests_total HTTP requests by route and status.\n";
  out += "# TYPE dmarcwatch_http_requests_total counter\n";
  for (const auto& [key, n] : state_->requests) {
    out += "dmarcwatch_http_requests_total{route=\"" + key.first + "\",status=\"" +
           std::to_string(key.second) + "\"} " + std::to_string(n) + "\n";
  }
  out += "# HELP dmarcwatch_http_request_seconds Time to answer a request, by route.\n";
  out += "# TYPE dmarcwatch_http_request_seconds summary\n";
  for (const auto& [route, s] : state_->request_seconds) {
    out += "dmarcwatch_http_request_seconds_sum{route=\"" + route + "\"} " + number(s.sum) + "\n";
    out += "dmarcwatch_http_request_seconds_count{route=\"" + route + "\"} " +
           std::to_string(s.count) + "\n";
  }
  out += "# HELP dmarcwatch_ingest_seconds Time to import one input (all channels).\n";
  out += "# TYPE dmarcwatch_ingest_seconds summary\n";
  out += "dmarcwatch_ingest_seconds_sum " + number(state_->ingest_seconds.sum) + "\n";
  out += "dmarcwatch_ingest_seconds_count " + std::to_string(state_->ingest_seconds.count) + "\n";
  out += "# HELP dmarcwatch_ingest_reports_total Reports met by this process, by result.\n";
  out += "# TYPE dmarcwatch_ingest_reports_total counter\n";
  for (const char* result : {"new", "duplicate", "rejected"}) {
    auto it = state_->ingest_reports.find(result);
    out += std::string("dmarcwatch_ingest_reports_total{result=\"") + result + "\"} " +
           std::to_string(it == state_->ingest_reports.end() ? 0 : it->second) + "\n";
  }
  return out;
}

}  // namespace dmarcwatch::web
