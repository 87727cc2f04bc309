// dmarcwatch serve: the dashboard and API (web module), plus the scheduled
// work of a long-running process. Stops gracefully on SIGTERM or SIGINT.

#include <Poco/Logger.h>
#include <signal.h>

#include <chrono>
#include <condition_variable>
#include <iostream>
#include <map>
#include <mutex>
#include <thread>

#include "analysis_service.h"
#include "command.h"
#include "dmarcwatch/analysis/dns_evidence.h"
#include "dmarcwatch/web/server.h"
#include "importer.h"
#include "serve_runtime.h"

namespace dmarcwatch::app {
namespace {

web::WebOptions WebOptionsFrom(const Config& c, const std::string& listen_override) {
  web::WebOptions o;
  const std::string listen = listen_override.empty() ? c.web.listen : listen_override;
  auto parsed = ParseListenAddress(listen);
  if (parsed) {
    o.host = parsed->first;
    o.port = parsed->second;
  }
  o.tls_cert = c.web.tls_cert;
  o.tls_key = c.web.tls_key;
  o.threads = c.web.threads;
  o.max_queued = c.web.max_queued;
  o.request_timeout = c.web.request_timeout;
  o.keep_alive_timeout = c.web.keep_alive_timeout;
  o.cache_seconds = c.web.cache_seconds;
  o.max_body_bytes = c.web.max_body_bytes;
  o.session_ttl = c.web.session_ttl;
  o.login_attempts = c.web.login_attempts;
  o.login_window = c.web.login_window;
  o.access_log = c.web.access_log;
  for (const UserConfig& u : c.users) o.users.push_back({u.name, u.password_hash, u.domains});
  for (const UploadTokenConfig& t : c.upload_tokens) o.upload_tokens.push_back({t.name, t.token_hash});
  o.domains = c.domains;
  return o;
}

int RunServe(Context& ctx) {
  // Block the termination signals in every thread started from here on;
  // the main thread waits for them with sigwait.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  const std::string listen = ctx.args.GetOr("listen", "");
  if (!listen.empty() && !ParseListenAddress(listen)) {
    ctx.err << "dmarcwatch serve: --listen must be host:port\n";
    return kExitUsage;
  }
  auto store = ctx.OpenStore();
  if (!store) return kExitFailure;
  ServeRuntime runtime(ctx, *store);
  if (Status ready = runtime.Prepare(); !ready.ok()) {
    ctx.err << "dmarcwatch serve: " << ready.message() << '\n';
    return kExitFailure;
  }

  auto server = web::Server::Start(WebOptionsFrom(ctx.config, listen), runtime.WebServicesFor(),
                                   runtime.metrics());
  if (!server.ok()) {
    ctx.err << "dmarcwatch serve: " << server.status().message() << '\n';
    return server.status().code() == StatusCode::kInvalidInput ? kExitUsage : kExitFailure;
  }
  web::WebOptions shown = WebOptionsFrom(ctx.config, listen);
  std::string host = shown.host.empty() || shown.host == "0.0.0.0" ? "127.0.0.1" : shown.host;
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  ctx.out << "dmarcwatch: the dashboard is at " << ((*server)->tls() ? "https" : "http") << "://"
          << host << ":" << (*server)->port() << "/  (stop with Ctrl-C)" << std::endl;

  runtime.StartScheduler();
  int signal_number = 0;
  sigwait(&signals, &signal_number);
  Poco::Logger::get("dmarc.web.http")
      .information(std::string("event=stopping signal=") + (signal_number == SIGINT ? "INT" : "TERM"));
  runtime.StopScheduler();
  (*server)->Stop(10);
  ctx.out << "dmarcwatch: stopped" << std::endl;
  return kExitOk;
}

}  // namespace

Command ServeCommand() {
  return {{"serve", "serve [--listen HOST:PORT]",
           "serve the dashboard and the JSON API, and run scheduled work",
           "Listens on web.listen (default 127.0.0.1:8080; --listen overrides it) and prints\n"
           "the dashboard's address. Without [[users]] only loopback addresses are allowed and no\n"
           "login is asked. Stops gracefully on SIGTERM or Ctrl-C: running requests finish.\n"
           "The API is described in docs/api.md.\n\n"
           "Scheduled work, one task at a time: each [[mailboxes]] entry is polled and each\n"
           "[[watch]] folder scanned on its interval; new reports get their DNS attribution\n"
           "and an alert evaluation ([alerts]), which also runs hourly; unsent alert emails\n"
           "are retried every minute. When the data changed (here or in another process,\n"
           "checked every minute), the last 30 days of each domain are summed once and kept\n"
           "in the store (storage.keep_answers). Logs at information level unless\n"
           "--log-level says otherwise (docs/cli.md).",
           {{"listen", "HOST:PORT", "listen here instead of web.listen", ""}}},
          RunServe};
}

}  // namespace dmarcwatch::app
