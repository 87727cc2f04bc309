#pragma once
// The alerts module's options: what the rules measure against, how often an
// open incident may notify, how the outbox retries, and how to reach the
// SMTP server. Typed structs only; app/ fills them from [alerts] of the
// configuration file (docs/alerts.md lists the keys and their defaults).
//
// Every default below is the configuration's default, so a struct built
// with no arguments behaves like an empty [alerts] section.

#include <cstdint>
#include <string>
#include <vector>

namespace dmarcwatch::alerts {

inline constexpr std::int64_t kDay = 86400;

// alerts.digest: a per-path summary mailed once per period, or never.
enum class Digest { kNone, kDaily, kWeekly };
const char* ToString(Digest digest);

struct AlertsOptions {
  // Who gets alert emails (alerts.recipients).
  std::vector<std::string> recipients;
  // The envelope and header sender (alerts.smtp.from). Also names the
  // domain of generated Message-IDs.
  std::string from;
  // Base URL of the dashboard for links (alerts.dashboard_url, else
  // web.public_url); "" leaves the links out.
  std::string dashboard_url;
  Digest digest = Digest::kNone;
  // The monitored domains; empty means every domain the rollups hold.
  std::vector<std::string> domains;

  // pass_rate: a declared path's DMARC pass rate over `window` below this
  // percentage, with at least min_messages messages in the window.
  double pass_rate_below = 95.0;
  // Also the floor of the per-path rules (new undeclared provider, direct
  // IP failing SPF), so one stray report row does not page anyone.
  std::uint64_t min_messages = 20;
  // The period the rules look at, in seconds; whole UTC days (at least one).
  std::int64_t window = 3 * kDay;
  // unknown_failures: unknown sources failing DMARC more than this many
  // times on one UTC day.
  std::uint64_t unknown_failures_per_day = 100;
  // reporter_silence: a usual reporter has sent nothing for this long.
  std::int64_t reporter_silence = 3 * kDay;
  // ingest_failures: this many failed polls of a mailbox in a row.
  std::uint32_t ingest_failure_streak = 3;

  // An open incident reminds this often while its condition holds.
  std::int64_t renotify = 7 * kDay;
  // It notifies again when its measure worsens by this much: percentage
  // points for a rate, percent of the notified value for a count.
  double worsen_step = 10.0;
  // It resolves once its condition has been clear for this long.
  std::int64_t resolve_after = 2 * kDay;

  // Not in the configuration file: the longest period the first
  // evaluation (or one after a long pause) looks back over for events
  // (unknown-source spikes, new providers), in days.
  int catch_up_days = 30;
  // Not in the configuration file: the weeks before a reporter's silence
  // that say whether it usually reports, in days.
  int baseline_days = 28;
};

// How the outbox retries. A message that has not been accepted by the
// SMTP server retry_max seconds after it was queued is marked failed.
struct OutboxOptions {
  std::int64_t retry_max = 3 * kDay;  // alerts.retry_max
  std::int64_t first_retry = 60;      // then doubled after each failure ...
  std::int64_t max_interval = 3600;   // ... up to this
  // How long a claimed message is left alone by other deliverers; also
  // when a message whose delivery was cut short (a crash) is tried again.
  std::int64_t lease = 600;
  std::uint32_t max_per_run = 100;    // messages one Deliver() sends at most
};

enum class SmtpTls { kStartTls, kImplicit, kNone };

struct SmtpOptions {
  std::string host;
  int port = 587;
  SmtpTls tls = SmtpTls::kStartTls;
  // PEM file of the CAs to trust; "" trusts the system's.
  std::string ca_file;
  // AUTH PLAIN or LOGIN (whichever the server offers, PLAIN first) when
  // set; the password is the secret itself, never a file name.
  std::string username;
  std::string password;
  std::string from;
  // Each SMTP step (connect, TLS handshake, every command and reply).
  std::int64_t timeout = 30;
  // The EHLO name; "" uses the machine's host name.
  std::string helo_name;
};

}  // namespace dmarcwatch::alerts
