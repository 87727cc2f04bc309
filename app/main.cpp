// dmarcwatch: the executable. Parses the command line, sets up logging, and
// runs one subcommand (command.h). The only place that wires modules.

#include <Poco/AutoPtr.h>
#include <Poco/ConsoleChannel.h>
#include <Poco/FormattingChannel.h>
#include <Poco/Logger.h>
#include <Poco/PatternFormatter.h>


#include <chrono>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "command.h"
#include "importer.h"

namespace dmarcwatch::app {
namespace {

constexpr const char* kVersion = "0.1.0";

std::vector<Command> AllCommands() {
  return {ImportCommand(),    ReportsCommand(),     RejectedCommand(),       PathsCommand(),
          FindingsCommand(),  ProvidersCommand(),   ReanalyzeCommand(),      PollCommand(),
          StatusCommand(),    ServeCommand(),       PasswdCommand(),         TokenCommand(),
          AlertsCheckCommand(), AlertsListCommand(), AlertsAckCommand(),     AlertsSendCommand(),
          ConfigCheckCommand(), ConfigDefaultsCommand()};
}

// Commands that read the configuration file themselves.
bool LoadsOwnConfig(const std::string& name) {
  return name == "config check" || name == "config defaults" || name == "providers";
}

void PrintOverview(std::ostream& out, const std::vector<Command>& commands) {
  out << "usage: dmarcwatch [global options] COMMAND [options] [ARGS]\n\n"
         "dmarcwatch reads DMARC aggregate (rua) reports, attributes every row to your\n"
         "sending paths, and tells you what to fix.\n\ncommands:\n";
  std::size_t width = 0;
  for (const Command& c : commands) width = std::max(width, c.spec.name.size());
  for (const Command& c : commands) {
    out << "  " << c.spec.name << std::string(width + 2 - c.spec.name.size(), ' ')
        << c.spec.summary << '\n';
  }
  out << "\nglobal options:\n";
  for (const OptionSpec& o : GlobalOptions()) {
    std::string head = "--" + o.name + (o.value_name.empty() ? "" : " " + o.value_name);
    out << "  " << head << std::string(head.size() < 22 ? 22 - head.size() : 1, ' ') << o.help;
    if (!o.default_value.empty()) out << " (default: " << o.default_value << ")";
    out << '\n';
  }
  out << "\n'dmarcwatch COMMAND --help' describes a command. Documentation: docs/cli.md\n";
}

// For the one-shot commands that ingest only: in serve, every thread's heap
// would keep as much (KeepFreedHeap, importer.h).
bool IngestsInOneGo(const std::string& command) {
  return command == "import" || command == "poll" || command == "reanalyze";
}

void SetUpLogging(const std::string& level) {
  Poco::AutoPtr<Poco::PatternFormatter> formatter(
      new Poco::PatternFormatter("%Y-%m-%dT%H:%M:%SZ %p %s: %t"));
  formatter->setProperty("times", "UTC");
  Poco::AutoPtr<Poco::ConsoleChannel> console(new Poco::ConsoleChannel(std::cerr));
  Poco::AutoPtr<Poco::FormattingChannel> channel(new Poco::FormattingChannel(formatter, console));
  Poco::Logger::root().setChannel(channel);
  Poco::Logger::root().setLevel(level);
  Poco::Logger::setLevel("", Poco::Logger::parseLevel(level));
}

bool TakesValue(const std::string& name) {
  for (const OptionSpec& o : GlobalOptions()) {
    if (o.name == name) return !o.value_name.empty();
  }
  return false;
}

int Main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  const std::vector<Command> commands = AllCommands();

  // The command is the first word that is not an option or a global
  // option's value; commands may have two words ("config check").
  std::size_t at = 0;
  while (at < args.size() && args[at].rfind("-", 0) == 0) {
    std::string name = args[at].substr(args[at].rfind("--", 0) == 0 ? 2 : 1);
    if (name == "version") {
      std::cout << "dmarcwatch " << kVersion << '\n';
      return kExitOk;
    }
    at += (name.find('=') == std::string::npos && TakesValue(name)) ? 2 : 1;
  }
  if (at >= args.size()) {
    PrintOverview(args.empty() ? std::cerr : std::cout, commands);
    return args.empty() ? kExitUsage : kExitOk;
  }
  const Command* command = nullptr;
  std::size_t words = 0;
  for (const Command& c : commands) {
    const std::string& n = c.spec.name;
    if (at + 1 < args.size() && n == args[at] + " " + args[at + 1]) {
      command = &c;
      words = 2;
      break;
    }
    if (n == args[at] && words == 0) {
      command = &c;
      words = 1;
    }
  }
  if (command == nullptr) {
    std::cerr << "dmarcwatch: unknown command '" << args[at] << "'\n\n";
    PrintOverview(std::cerr, commands);
    return kExitUsage;
  }
  std::vector<std::string> rest(args.begin(), args.begin() + static_cast<std::ptrdiff_t>(at));
  rest.insert(rest.end(), args.begin() + static_cast<std::ptrdiff_t>(at + words), args.end());

  if (IngestsInOneGo(command->spec.name)) KeepFreedHeap();
  CommandSpec spec = command->spec;
  spec.options.insert(spec.options.end(), GlobalOptions().begin(), GlobalOptions().end());
  Result<ParsedArgs> parsed = ParseArgs(spec, rest);
  if (!parsed.ok()) {
    std::cerr << "dmarcwatch: " << parsed.status().message() << '\n';
    return kExitUsage;
  }
  if (parsed->Has("help")) {
    std::cout << HelpText(command->spec, GlobalOptions());
    return kExitOk;
  }
  // A long-running serve says what its scheduled work did; the one-shot
  // commands print their results and log only what went wrong.
  SetUpLogging(parsed->GetOr("log-level", command->spec.name == "serve" ? "information" : "warning"));

  Config config = DefaultConfig();
  std::string config_path = parsed->GetOr("config", "");
  if (config_path.empty()) {
    if (const char* env = std::getenv("DMARCWATCH_CONFIG")) config_path = env;
  }
  if (!config_path.empty() && !LoadsOwnConfig(command->spec.name)) {
    std::vector<ConfigError> errors;
    Result<Config> loaded = LoadConfig(config_path, errors);
    if (!loaded.ok()) {
      for (const ConfigError& e : errors) std::cerr << FormatError(config_path, e) << '\n';
      std::cerr << "dmarcwatch: " << loaded.status().message()
                << " (dmarcwatch config check " << config_path << ")\n";
      return kExitUsage;
    }
    config = std::move(*loaded);
  }
  Context context{*parsed,
                  std::cout,
                  std::cerr,
                  [] {
                    return static_cast<model::UnixTime>(
                        std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count());
                  },
                  config,
                  parsed->Has("offline")};
  return command->run(context);
}

}  // namespace
}  // namespace dmarcwatch::app

int main(int argc, char** argv) {
  try {
    return dmarcwatch::app::Main(argc, argv);
  } catch (const std::exception& e) {
    // A bug: every adapter maps its exceptions to a Status.
    std::cerr << "dmarcwatch: internal error: " << e.what() << '\n';
    return dmarcwatch::app::kExitFailure;
  }
}
