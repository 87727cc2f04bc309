#include "cli.h"

#include <algorithm>

namespace dmarcwatch::app {
namespace {

const OptionSpec* FindOption(const CommandSpec& spec, std::string_view name) {
  for (const OptionSpec& o : spec.options) {
    if (o.name == name) return &o;
  }
  return nullptr;
}

void AppendOptions(std::string& out, const std::vector<OptionSpec>& options) {
  std::size_t width = 0;
  std::vector<std::string> heads;
  for (const OptionSpec& o : options) {
    std::string head = "  --" + o.name;
    if (!o.value_name.empty()) head += " " + o.value_name;
    width = std::max(width, head.size());
    heads.push_back(std::move(head));
  }
  for (std::size_t i = 0; i < options.size(); ++i) {
    out += heads[i];
    out.append(width + 2 - heads[i].size(), ' ');
    out += options[i].help;
    if (!options[i].default_value.empty()) out += " (default: " + options[i].default_value + ")";
    out += '\n';
  }
}

}  // namespace

bool ParsedArgs::Has(std::string_view name) const { return values_.find(name) != values_.end(); }

std::optional<std::string> ParsedArgs::Get(std::string_view name) const {
  if (auto it = values_.find(name); it != values_.end() && !it->second.empty()) {
    return it->second.back();
  }
  if (auto it = defaults_.find(name); it != defaults_.end()) return it->second;
  return std::nullopt;
}

std::string ParsedArgs::GetOr(std::string_view name, std::string fallback) const {
  auto v = Get(name);
  return v ? *v : std::move(fallback);
}

std::vector<std::string> ParsedArgs::Values(std::string_view name) const {
  if (auto it = values_.find(name); it != values_.end()) return it->second;
  return {};
}

Result<ParsedArgs> ParseArgs(const CommandSpec& spec, const std::vector<std::string>& args) {
  ParsedArgs parsed;
  for (const OptionSpec& o : spec.options) {
    if (!o.value_name.empty() && !o.default_value.empty()) {
      parsed.defaults_[o.name] = o.default_value;
    }
  }
  bool options_done = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (options_done || arg.size() < 2 || arg[0] != '-') {
      parsed.positional_.push_back(arg);
      continue;
    }
    if (arg == "--") {
      options_done = true;
      continue;
    }
    if (arg == "-h") {
      parsed.values_["help"].push_back("");
      continue;
    }
    if (arg.rfind("--", 0) != 0) {
      return Status::InvalidInput("bad_argument", "unknown option " + arg + " (options start with --)");
    }
    std::string name = arg.substr(2);
    std::optional<std::string> inline_value;
    if (auto eq = name.find('='); eq != std::string::npos) {
      inline_value = name.substr(eq + 1);
      name.resize(eq);
    }
    const OptionSpec* option = FindOption(spec, name);
    if (option == nullptr) {
      return Status::InvalidInput("bad_argument",
                                  "unknown option --" + name + " for '" + spec.name +
                                      "' (see dmarcwatch " + spec.name + " --help)");
    }
    if (option->value_name.empty()) {
      if (inline_value) {
        return Status::InvalidInput("bad_argument", "option --" + name + " takes no value");
      }
      parsed.values_[name].push_back("");
      continue;
    }
    if (!inline_value) {
      if (i + 1 >= args.size()) {
        return Status::InvalidInput("bad_argument",
                                    "option --" + name + " needs a value (" + option->value_name + ")");
      }
      inline_value = args[++i];
    }
    parsed.values_[name].push_back(*inline_value);
  }
  return parsed;
}

std::string HelpText(const CommandSpec& spec, const std::vector<OptionSpec>& global_options) {
  std::string out = "usage: dmarcwatch " + spec.usage + "\n\n";
  out += spec.summary + "\n";
  if (!spec.description.empty()) out += "\n" + spec.description + "\n";
  if (!spec.options.empty()) {
    out += "\noptions:\n";
    AppendOptions(out, spec.options);
  }
  if (!global_options.empty()) {
    out += "\nglobal options (before or after the command):\n";
    AppendOptions(out, global_options);
  }
  return out;
}

}  // namespace dmarcwatch::app
