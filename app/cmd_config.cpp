// dmarcwatch config check / config defaults / providers.

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

#include <cstdlib>
#include <iostream>

#include "command.h"
#include "dmarcwatch/analysis/catalog.h"
#include "output.h"

namespace dmarcwatch::app {
namespace {

std::string Join(const std::vector<std::string>& v, const char* sep = ", ") {
  std::string out;
  for (const std::string& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

int RunCheck(Context& ctx) {
  std::string path;
  if (!ctx.args.positional().empty()) {
    path = ctx.args.positional().front();
  } else if (auto c = ctx.args.Get("config")) {
    path = *c;
  } else if (const char* env = std::getenv("DMARCWATCH_CONFIG")) {
    path = env;
  }
  if (path.empty()) {
    ctx.err << "dmarcwatch config check: which file? (config check FILE, or --config FILE)\n";
    return kExitUsage;
  }
  std::vector<ConfigError> errors;
  Result<Config> config = LoadConfig(path, errors);
  if (!config.ok()) {
    for (const ConfigError& e : errors) ctx.out << FormatError(path, e) << '\n';
    ctx.out << path << ": " << errors.size() << (errors.size() == 1 ? " error" : " errors")
            << '\n';
    return kExitUsage;
  }
  std::size_t direct = 0;
  for (const auto& p : config->paths) direct += p.kind == analysis::PathKind::kDirect;
  ctx.out << path << ": ok: " << config->domains.size() << " domains (" << Join(config->domains)
          << "), " << config->paths.size() << " paths (" << direct << " direct, "
          << config->paths.size() - direct << " smarthost), store " << config->storage.database
          << '\n';
  return kExitOk;
}

int RunDefaults(Context& ctx) {
  ctx.out << DefaultsText();
  return kExitOk;
}

int RunProviders(Context& ctx) {
  const analysis::Catalog& catalog = analysis::Catalog::Builtin();
  const std::string format = ctx.args.GetOr("format", "table");
  if (!ctx.args.positional().empty()) {
    const analysis::Provider* p = catalog.ById(ctx.args.positional().front());
    if (p == nullptr) {
      ctx.err << "dmarcwatch providers: no provider '" << ctx.args.positional().front()
              << "' (dmarcwatch providers lists them)\n";
      return kExitUsage;
    }
    ctx.out << p->name << " (" << p->id << "), " << analysis::ToString(p->type) << "\n"
            << "  SPF includes:        " << Join(p->spf_includes) << "\n"
            << "  default DKIM d=:     " << Join(p->dkim_domains) << "\n"
            << "  aligned DKIM:        " << p->dkim_setup << "\n"
            << "  return-path domains: " << Join(p->return_path_domains) << "\n"
            << "  custom return-path:  " << analysis::ToString(p->custom_return_path)
            << (p->dkim_only() ? " (DKIM-only: unaligned SPF is expected)" : "") << "\n"
            << "  return-path setup:   " << p->return_path_setup << "\n"
            << "  PTR domains:         " << Join(p->ptr_domains) << "\n"
            << "  runs on:             " << Join(p->via) << "\n"
            << "  notes:               " << p->notes << "\n"
            << "  checked:             " << p->checked << "\n"
            << "  sources:             " << Join(p->sources, "\n                       ")
            << "\n";
    return kExitOk;
  }
  if (format == "json") {
    Poco::JSON::Array::Ptr list = new Poco::JSON::Array;
    auto strings = [](const std::vector<std::string>& v) {
      Poco::JSON::Array::Ptr a = new Poco::JSON::Array;
      for (const auto& s : v) a->add(s);
      return a;
    };
    for (const analysis::Provider& p : catalog.providers()) {
      Poco::JSON::Object::Ptr o = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
      o->set("id", p.id);
      o->set("name", p.name);
      o->set("type", std::string(analysis::ToString(p.type)));
      o->set("spf_includes", strings(p.spf_includes));
      o->set("dkim_domains", strings(p.dkim_domains));
      o->set("dkim_setup", p.dkim_setup);
      o->set("return_path_domains", strings(p.return_path_domains));
      o->set("custom_return_path", std::string(analysis::ToString(p.custom_return_path)));
      o->set("return_path_setup", p.return_path_setup);
      o->set("ptr_domains", strings(p.ptr_domains));
      o->set("via", strings(p.via));
      o->set("sources", strings(p.sources));
      o->set("checked", p.checked);
      o->set("notes", p.notes);
      list->add(o);
    }
    Poco::JSON::Object root(Poco::JSON_PRESERVE_KEY_ORDER);
    root.set("version", 1);
    root.set("providers", list);
    root.stringify(ctx.out);
    ctx.out << '\n';
    return kExitOk;
  }
  Table table({"id", "name", "type", "spf_includes", "dkim_domains", "custom_return_path"});
  for (const analysis::Provider& p : catalog.providers()) {
    table.AddRow({p.id, p.name, analysis::ToString(p.type), Join(p.spf_includes, " "),
                  Join(p.dkim_domains, " "), analysis::ToString(p.custom_return_path)});
  }
  table.PrintText(ctx.out);
  ctx.out << '\n' << catalog.providers().size()
          << " providers. 'dmarcwatch providers ID' shows one with its sources.\n";
  return kExitOk;
}

}  // namespace

Command ConfigCheckCommand() {
  return {{"config check", "config check [FILE]",
           "validate a configuration file, naming the key and line of each error",
           "Checks syntax, unknown keys, types, and meaning: every path has a name and a kind,\n"
           "direct paths have ips, smarthosts name a provider from the catalog, addresses and\n"
           "domains are valid. Exit status 0 when the file is valid, 2 when it is not.",
           {}},
          RunCheck};
}

Command ConfigDefaultsCommand() {
  return {{"config defaults", "config defaults",
           "print every configuration key with its default and documentation",
           "", {}},
          RunDefaults};
}

Command ProvidersCommand() {
  return {{"providers", "providers [ID] [--format table|json]",
           "the built-in provider catalog",
           "Every provider dmarcwatch recognises: SPF includes, the DKIM domains it signs with\n"
           "by default, how to make it sign as your domain, its return-path domains, whether a\n"
           "custom return-path is possible, PTR domains, sources and the date checked.\n"
           "Use the id as provider = \"ID\" in a [[paths]] table.",
           {{"format", "FORMAT", "table or json", "table"}}},
          RunProviders};
}

}  // namespace dmarcwatch::app
