#include "command.h"

#include <iostream>

#include "dmarcwatch/model/text.h"

namespace dmarcwatch::app {

const std::vector<OptionSpec>& GlobalOptions() {
  static const std::vector<OptionSpec> kOptions = {
      {"config", "FILE", "the configuration file (also $DMARCWATCH_CONFIG); see docs/configuration.md",
       ""},
      {"db", "PATH",
       "the store: a SQLite file, or postgresql://user@host:port/db (default: storage.database, "
       "var/dmarcwatch.db)",
       ""},
      {"offline", "", "no DNS lookups in this run", ""},
      {"log-level", "LEVEL", "log to stderr at this level and above: fatal, critical, error, "
                             "warning, notice, information, debug (default: warning; information for serve)",
       ""},
      {"help", "", "show help for the command", ""},
  };
  return kOptions;
}

std::unique_ptr<store::Store> Context::OpenStore() const {
  store::StoreOptions options = config.storage;
  if (args.Has("db")) options.database = *args.Get("db");
  Result<std::unique_ptr<store::Store>> opened = store::Store::Open(options);
  if (!opened.ok()) {
    err << "dmarcwatch: cannot open the store " << options.database << ": "
        << opened.status().message() << '\n';
    return nullptr;
  }
  return std::move(opened).value();
}

std::vector<std::string> Context::Domains(store::Store& store) const {
  if (auto d = args.Get("domain")) return {model::AsciiLower(*d)};
  if (!config.domains.empty()) return config.domains;
  auto stored = store.Domains();
  return stored.ok() ? *stored : std::vector<std::string>{};
}

}  // namespace dmarcwatch::app
