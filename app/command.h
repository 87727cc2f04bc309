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

  // The store named by --db (default var/dmarcwatch.db). Prints the reason
  // to `err` and returns nullptr when it cannot be opened.
  std::unique_ptr<store::Store> OpenStore() const;
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

}  // namespace dmarcwatch::app
