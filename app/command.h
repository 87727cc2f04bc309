#pragma once
// The shape every subcommand has: a spec (options and help, cli.h) and a
// function that runs it. main.cpp lists the commands; each lives in its own
// cmd_*.cpp file.

#include <functional>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "cli.h"
#include "config.h"
#include "dmarcwatch/model/report.h"
#include "dmarcwatch/store/store.h"

namespace dmarcwatch::app {

// Exit codes, stable for scripts.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;    // could not do the work (store, network, files)
inline constexpr int kExitUsage = 2;      // bad arguments or configuration

struct Context {
  const ParsedArgs& args;
  std::ostream& out;
  std::ostream& err;
  std::function<model::UnixTime()> clock;
  // From --config FILE (or $DMARCWATCH_CONFIG), else the defaults.
  const Config& config;
  // --offline: no DNS lookups in this run.
  bool offline = false;

  // The store: --db, else storage.database. Prints the reason to `err` and
  // returns nullptr when it cannot be opened.
  std::unique_ptr<store::Store> OpenStore() const;
  // The configured domains, or those with data in the store when none are
  // configured; --domain when given.
  std::vector<std::string> Domains(store::Store& store) const;
};

struct Command {
  CommandSpec spec;
  std::function<int(Context&)> run;
};

// The global options every command accepts.
const std::vector<OptionSpec>& GlobalOptions();

Command ImportCommand();
Command ReportsCommand();
Command RejectedCommand();
Command PathsCommand();
Command FindingsCommand();
Command ProvidersCommand();
Command ConfigCheckCommand();
Command ConfigDefaultsCommand();
Command ReanalyzeCommand();
Command ServeCommand();
Command PasswdCommand();
Command TokenCommand();
Command PollCommand();
Command StatusCommand();
Command AlertsCheckCommand();
Command AlertsListCommand();
Command AlertsAckCommand();
Command AlertsSendCommand();

}  // namespace dmarcwatch::app
