#pragma once
// Configuration: the one TOML file dmarcwatch reads (only app/ reads it;
// libraries get typed option structs).
//
// Every key is declared once, in ConfigKeys(), with its type, default and
// documentation; that table drives the checks (unknown keys and wrong
// types fail, naming the key and line), the defaults, and
// `dmarcwatch config defaults`. The format is in docs/configuration.md.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dmarcwatch/analysis/attribution.h"
#include "dmarcwatch/analysis/dns.h"
#include "dmarcwatch/ingest/pipeline.h"
#include "dmarcwatch/model/status.h"
#include "dmarcwatch/store/store.h"

namespace dmarcwatch::app {

enum class KeyType { kString, kInteger, kBool, kDuration, kStringArray, kNumber };

struct KeySpec {
  std::string_view name;  // "storage.database", "paths[].ips"
  KeyType type;
  std::string_view default_value;  // as written in TOML; "" when none
  std::string_view doc;
};

// Every configuration key, in the order `config defaults` prints them.
const std::vector<KeySpec>& ConfigKeys();

struct ConfigError {
  std::string key;   // "paths[2].ips"
  int line = 0;      // 0 when unknown
  std::string message;
};

struct WebConfig {
  std::string listen;            // "127.0.0.1:8080", "[::1]:8080", "0.0.0.0:443"
  std::string tls_cert;          // PEM files; both or neither
  std::string tls_key;
  std::string public_url;        // for links in alert mails; derived from listen when empty
  int threads = 16;
  int max_queued = 512;
  std::int64_t request_timeout = 30;   // seconds
  std::int64_t keep_alive_timeout = 5;
  std::int64_t cache_seconds = 60;
  std::uint64_t max_body_bytes = 0;    // uploads
  std::int64_t session_ttl = 0;        // seconds
  int login_attempts = 5;              // per user and address, per login_window
  std::int64_t login_window = 0;       // seconds
  std::string access_log;              // file, or "" for the log channel
};

// [[users]]: dashboard logins.
struct UserConfig {
  std::string name;
  std::string password_hash;          // "$argon2id$..." from `dmarcwatch passwd`
  std::vector<std::string> domains;   // domains the user may see; "*" = all
  int line = 0;
};

// [[upload_tokens]]: POST /api/v1/reports.
struct UploadTokenConfig {
  std::string name;
  std::string token_hash;  // "$argon2id$..." from `dmarcwatch token`
  int line = 0;
};

// [[mailboxes]]: IMAP mailboxes polled for reports.
struct MailboxConfig {
  std::string name;
  std::string host;
  int port = 993;
  std::string tls;                  // "implicit", "starttls", "none" (loopback only)
  std::string ca_file;              // trusted CAs; "" = the system's
  std::string username;
  std::string password_file;
  std::string oauth2_token_file;    // XOAUTH2: an access token in a file ...
  std::string oauth2_token_command; // ... or printed by a command
  std::string folder;
  std::string archive_folder;
  std::string invalid_folder;
  std::string after_import;         // "move" or "mark" (flag \Seen and keep)
  std::int64_t interval = 0;        // seconds
  std::int64_t connect_timeout = 0;
  std::int64_t command_timeout = 0;
  std::int64_t session_timeout = 0;
  std::uint64_t max_message_bytes = 0;
  std::uint32_t max_messages_per_poll = 0;
  int line = 0;
};

// [[watch]]: folders whose new files are imported.
struct WatchConfig {
  std::string path;
  std::string done_dir;       // default <path>/done
  std::string rejected_dir;   // default <path>/rejected
  std::int64_t interval = 0;  // seconds
  int line = 0;
};

struct SmtpConfig {
  std::string host;
  int port = 587;
  std::string tls;            // "starttls", "implicit", "none" (loopback only)
  std::string ca_file;
  std::string username;
  std::string password_file;
  std::string from;
  std::int64_t timeout = 0;   // seconds
};

// [alerts]
struct AlertsConfig {
  std::vector<std::string> recipients;
  std::string dashboard_url;
  std::string digest;                    // "none", "daily", "weekly"
  double pass_rate_below = 0;            // percent, a declared path's DMARC pass rate
  std::uint64_t min_messages = 0;        // in the window, before the pass rate counts
  std::int64_t window = 0;               // seconds
  std::uint64_t unknown_failures_per_day = 0;
  std::int64_t reporter_silence = 0;     // seconds without a report from a usual reporter
  std::uint32_t ingest_failure_streak = 0;
  std::int64_t renotify = 0;             // seconds
  double worsen_step = 0;                // percentage points
  std::int64_t resolve_after = 0;        // seconds clear before an incident resolves
  std::int64_t retry_max = 0;            // seconds an undelivered mail is retried
  SmtpConfig smtp;
  bool enabled() const { return !recipients.empty() && !smtp.host.empty(); }
};

struct Config {
  std::string source;  // the file it was read from, or "" for the defaults
  store::StoreOptions storage;
  WebConfig web;
  std::vector<std::string> domains;
  std::vector<analysis::DeclaredPath> paths;
  analysis::DnsOptions dns;
  ingest::IngestOptions limits;
  std::vector<UserConfig> users;
  std::vector<UploadTokenConfig> upload_tokens;
  std::vector<MailboxConfig> mailboxes;
  std::vector<WatchConfig> watch;
  AlertsConfig alerts;

  analysis::AnalysisConfig Analysis() const;
};

// The configuration with every default and no domains or paths.
Config DefaultConfig();

// Reads and validates `path`. On failure, `errors` holds every problem
// found (not just the first), and the result's status says how many.
Result<Config> LoadConfig(const std::string& path, std::vector<ConfigError>& errors);
// The same, from text (for tests); `name` is used in messages.
Result<Config> ParseConfig(std::string_view text, const std::string& name,
                           std::vector<ConfigError>& errors);

// Reads a secret (password, token) from a file, which must not be
// readable by group or others (mode 0600 or stricter) and must not be
// empty; one trailing newline is dropped. Errors name the file and why.
Result<std::string> ReadSecretFile(const std::string& path);

// "host:port" or "[v6]:port" (web.listen, --listen).
std::optional<std::pair<std::string, int>> ParseListenAddress(const std::string& listen);

// "FILE:LINE: key: message".
std::string FormatError(const std::string& file, const ConfigError& error);

// Every key with its default and documentation, as a commented TOML file.
std::string DefaultsText();

}  // namespace dmarcwatch::app
