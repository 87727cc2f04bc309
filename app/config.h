#pragma once
// Configuration: the one TOML file dmarcwatch reads (only app/ reads it;
// libraries get typed option structs).
//
// Every key is declared once, in ConfigKeys(), with its type, default and
// documentation; that table drives the checks (unknown keys and wrong
// types fail, naming the key and line), the defaults, and
// `dmarcwatch config defaults`. The format is in docs/configuration.md.

#include <string>
#include <string_view>
#include <vector>

#include "dmarcwatch/analysis/attribution.h"
#include "dmarcwatch/analysis/dns.h"
#include "dmarcwatch/ingest/pipeline.h"
#include "dmarcwatch/model/status.h"
#include "dmarcwatch/store/store.h"

namespace dmarcwatch::app {

enum class KeyType { kString, kInteger, kBool, kDuration, kStringArray };

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
  std::string listen = "127.0.0.1:8080";
};

struct Config {
  std::string source;  // the file it was read from, or "" for the defaults
  store::StoreOptions storage;
  WebConfig web;
  std::vector<std::string> domains;
  std::vector<analysis::DeclaredPath> paths;
  analysis::DnsOptions dns;
  ingest::IngestOptions limits;

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

// "FILE:LINE: key: message".
std::string FormatError(const std::string& file, const ConfigError& error);

// Every key with its default and documentation, as a commented TOML file.
std::string DefaultsText();

}  // namespace dmarcwatch::app
