#include "command.h"

#include <iostream>

namespace dmarcwatch::app {

const std::vector<OptionSpec>& GlobalOptions() {
  static const std::vector<OptionSpec> kOptions = {
      {"db", "PATH", "the store: a SQLite file, or postgresql://user@host:port/db",
       "var/dmarcwatch.db"},
      {"log-level", "LEVEL", "log to stderr at this level and above: fatal, critical, error, "
                             "warning, notice, information, debug",
       "warning"},
      {"help", "", "show help for the command", ""},
  };
  return kOptions;
}

std::unique_ptr<store::Store> Context::OpenStore() const {
  store::StoreOptions options;
  options.database = args.GetOr("db", "var/dmarcwatch.db");
  Result<std::unique_ptr<store::Store>> opened = store::Store::Open(options);
  if (!opened.ok()) {
    err << "dmarcwatch: cannot open the store " << options.database << ": "
        << opened.status().message() << '\n';
    return nullptr;
  }
  return std::move(opened).value();
}

}  // namespace dmarcwatch::app
