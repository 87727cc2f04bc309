#pragma once
// Command-line parsing for dmarcwatch's subcommands.
//
// Each subcommand declares its options once (name, whether it takes a
// value, default, help); the same declaration parses the arguments and
// prints --help, so the two cannot disagree. Accepted forms: "--name value",
// "--name=value", "--flag", and "--" to end options. A repeated option keeps
// every value (Values()); Get() returns the last one.

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dmarcwatch/model/status.h"

namespace dmarcwatch::app {

struct OptionSpec {
  std::string name;         // without the leading "--"
  std::string value_name;   // empty for a flag; e.g. "PATH"
  std::string help;
  std::string default_value;  // shown in --help; empty for none
};

struct CommandSpec {
  std::string name;        // "import", "config check"
  std::string usage;       // "import [options] PATH..."
  std::string summary;     // one line, for the command list
  std::string description; // paragraphs for --help
  std::vector<OptionSpec> options;
};

class ParsedArgs {
 public:
  bool Has(std::string_view name) const;
  // The last value given, or the spec's default, or nullopt.
  std::optional<std::string> Get(std::string_view name) const;
  std::string GetOr(std::string_view name, std::string fallback) const;
  std::vector<std::string> Values(std::string_view name) const;
  const std::vector<std::string>& positional() const { return positional_; }

 private:
  friend Result<ParsedArgs> ParseArgs(const CommandSpec&, const std::vector<std::string>&);
  std::map<std::string, std::vector<std::string>, std::less<>> values_;
  std::map<std::string, std::string, std::less<>> defaults_;
  std::vector<std::string> positional_;
};

// Parses `args` (the words after the command name) against `spec`. An
// unknown option or a missing value is kInvalidInput naming the option.
Result<ParsedArgs> ParseArgs(const CommandSpec& spec, const std::vector<std::string>& args);

// The --help text of a command, global options included.
std::string HelpText(const CommandSpec& spec, const std::vector<OptionSpec>& global_options);

}  // namespace dmarcwatch::app
