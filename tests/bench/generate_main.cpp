// dmarcwatch-generate: writes the demo data set or synthetic benchmark load
// as DMARC aggregate report files (see generator.h).
//
//   dmarcwatch-generate demo --out DIR [--start 2026-10-01] [--days 31]
//                            [--seed N] [--truth FILE] [--replace]
//   dmarcwatch-generate synthetic --out DIR --reports N --rows-per-report R
//                            [--reporters K] [--ipv6-share 0.2] [--fail-share 0.3]
//                            [--formats xml,gz,zip,eml] [--huge-rows M] [--sources N]
//                            [--start 2026-10-01] [--domain example.com] [--seed N]
//                            [--replace]
//
// Exit status: 0 done, 1 a file could not be written, 2 bad arguments.

#include <charconv>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "dmarcwatch/model/time.h"
#include "generator.h"

namespace dmarcwatch::bench {
namespace {

namespace fs = std::filesystem;

constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

constexpr std::string_view kUsage =
    "usage:\n"
    "  dmarcwatch-generate demo --out DIR [--start 2026-10-01] [--days 31] [--seed 2026]\n"
    "                           [--truth FILE (default DIR/../TRUTH.tsv)] [--replace]\n"
    "  dmarcwatch-generate synthetic --out DIR --reports N --rows-per-report R\n"
    "                           [--reporters 6] [--ipv6-share 0.2] [--fail-share 0.3]\n"
    "                           [--formats xml,gz,zip,eml] [--huge-rows M] [--sources N]\n"
    "                           [--start 2026-10-01] [--domain example.com] [--seed 1]\n"
    "                           [--replace]\n"
    "--sources N draws rows from N senders seen again every day (default: every row\n"
    "its own IP).\n"
    "The same arguments always write byte-identical files. --replace first removes\n"
    "the report files (.xml, .xml.gz, .zip, .eml) already in DIR; without it DIR\n"
    "must hold none, so that stale reports never mix with new ones.\n";

struct UsageError {
  std::string message;
};

// --name value pairs and bare --flags, in any order.
class Arguments {
 public:
  Arguments(int argc, char** argv, int first, const std::vector<std::string_view>& flags) {
    for (int i = first; i < argc; ++i) {
      std::string_view arg = argv[i];
      if (arg.substr(0, 2) != "--") throw UsageError{"unexpected argument " + std::string(arg)};
      std::string name(arg.substr(2));
      bool is_flag = false;
      for (std::string_view f : flags) is_flag = is_flag || f == name;
      if (is_flag) {
        values_[name] = "";
        continue;
      }
      if (i + 1 >= argc) throw UsageError{"--" + name + " needs a value"};
      values_[name] = argv[++i];
    }
  }

  // Every option given must be one of `known`.
  void Check(const std::vector<std::string_view>& known) const {
    for (const auto& [name, value] : values_) {
      bool ok = false;
      for (std::string_view k : known) ok = ok || k == name;
      if (!ok) throw UsageError{"unknown option --" + name};
    }
  }
  bool Has(const std::string& name) const { return values_.count(name) > 0; }
  std::string Text(const std::string& name, std::string fallback) const {
    auto it = values_.find(name);
    return it == values_.end() ? fallback : it->second;
  }
  std::uint64_t Number(const std::string& name, std::uint64_t fallback) const {
    auto it = values_.find(name);
    if (it == values_.end()) return fallback;
    std::uint64_t v = 0;
    const std::string& s = it->second;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size()) {
      throw UsageError{"--" + name + " wants a whole number, not \"" + s + "\""};
    }
    return v;
  }
  double Share(const std::string& name, double fallback) const {
    auto it = values_.find(name);
    if (it == values_.end()) return fallback;
    double v = 0;
    const std::string& s = it->second;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size() || !(v >= 0 && v <= 1)) {
      throw UsageError{"--" + name + " wants a number from 0 to 1, not \"" + s + "\""};
    }
    return v;
  }
  model::UnixTime Date(const std::string& name, model::UnixTime fallback) const {
    auto it = values_.find(name);
    if (it == values_.end()) return fallback;
    auto t = model::ParseIsoTime(it->second);
    if (!t || *t % 86400 != 0) {
      throw UsageError{"--" + name + " wants a date such as 2026-10-01, not \"" + it->second +
                       "\""};
    }
    return *t;
  }

 private:
  std::map<std::string, std::string> values_;
};

bool IsReportFile(const fs::path& p) {
  const std::string name = p.filename().string();
  for (std::string_view ext : {".xml", ".xml.gz", ".zip", ".eml"}) {
    if (name.size() > ext.size() && name.compare(name.size() - ext.size(), ext.size(), ext) == 0) {
      return true;
    }
  }
  return false;
}

// Creates `dir`, or checks that it holds no report files (removing them
// with `replace`).
Status PrepareDirectory(const fs::path& dir, bool replace) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::IoError("cannot create " + dir.string() + ": " + ec.message());
  std::vector<fs::path> existing;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.is_regular_file() && IsReportFile(entry.path())) existing.push_back(entry.path());
  }
  if (ec) return Status::IoError("cannot list " + dir.string() + ": " + ec.message());
  if (existing.empty()) return Status::Ok();
  if (!replace) {
    return Status(StatusCode::kFailedPrecondition, "directory_not_empty",
                  dir.string() + " already holds " + std::to_string(existing.size()) +
                      " report files; pass --replace to remove them first");
  }
  for (const fs::path& p : existing) {
    if (!fs::remove(p, ec) || ec) return Status::IoError("cannot remove " + p.string());
  }
  return Status::Ok();
}

Status WriteFile(const fs::path& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) return Status::IoError("cannot write " + path.string());
  return Status::Ok();
}

// "samples/demo/reports/" and "samples/demo/reports" both give
// "samples/demo/TRUTH.tsv".
fs::path DefaultTruthPath(const fs::path& out) {
  fs::path dir = out.lexically_normal();
  if (!dir.has_filename()) dir = dir.parent_path();
  return dir.parent_path() / "TRUTH.tsv";
}

int Fail(const Status& status) {
  std::fprintf(stderr, "dmarcwatch-generate: %s\n", status.ToString().c_str());
  return kExitFailure;
}

int RunDemo(const Arguments& args) {
  args.Check({"out", "start", "days", "seed", "truth", "replace"});
  if (!args.Has("out")) throw UsageError{"demo needs --out DIR"};
  const fs::path out = args.Text("out", "");
  DemoOptions options;
  options.start = args.Date("start", options.start);
  const std::uint64_t days = args.Number("days", static_cast<std::uint64_t>(options.days));
  if (days < 1 || days > 3660) throw UsageError{"--days wants 1 to 3660"};
  options.days = static_cast<int>(days);
  options.seed = args.Number("seed", options.seed);
  const fs::path truth_path =
      args.Has("truth") ? fs::path(args.Text("truth", "")) : DefaultTruthPath(out);

  auto demo = BuildDemo(options);
  if (!demo) return Fail(demo.status());
  if (Status s = PrepareDirectory(out, args.Has("replace")); !s.ok()) return Fail(s);
  for (const GeneratedFile& file : demo->files) {
    if (Status s = WriteFile(out / file.name, file.bytes); !s.ok()) return Fail(s);
  }
  if (!truth_path.parent_path().empty()) {
    std::error_code ec;
    fs::create_directories(truth_path.parent_path(), ec);
  }
  if (Status s = WriteFile(truth_path, FormatTruthTsv(demo->truth)); !s.ok()) return Fail(s);

  std::uint64_t messages = 0;
  std::map<std::string, std::uint64_t> by_kind;
  for (const TruthRow& row : demo->truth) {
    messages += row.count;
    by_kind[row.kind] += row.count;
  }
  std::printf("wrote %zu reports (%zu rows, %llu messages) to %s\n", demo->files.size(),
              demo->truth.size(), static_cast<unsigned long long>(messages), out.string().c_str());
  std::printf("truth: %s\n", truth_path.string().c_str());
  for (const auto& [kind, count] : by_kind) {
    std::printf("  %-10s %llu messages\n", kind.c_str(), static_cast<unsigned long long>(count));
  }
  return 0;
}

std::vector<Container> ParseFormats(const std::string& text) {
  std::vector<Container> formats;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t comma = text.find(',', pos);
    if (comma == std::string::npos) comma = text.size();
    const std::string word = text.substr(pos, comma - pos);
    if (word == "xml") {
      formats.push_back(Container::kXml);
    } else if (word == "gz") {
      formats.push_back(Container::kGzip);
    } else if (word == "zip") {
      formats.push_back(Container::kZip);
    } else if (word == "eml") {
      formats.push_back(Container::kEmail);
    } else {
      throw UsageError{"--formats takes xml, gz, zip and eml, not \"" + word + "\""};
    }
    pos = comma + 1;
  }
  return formats;
}

int RunSynthetic(const Arguments& args) {
  args.Check({"out", "reports", "rows-per-report", "reporters", "ipv6-share", "fail-share",
              "formats", "huge-rows", "sources", "start", "domain", "seed", "replace"});
  if (!args.Has("out") || !args.Has("reports") || !args.Has("rows-per-report")) {
    throw UsageError{"synthetic needs --out DIR, --reports N and --rows-per-report R"};
  }
  const fs::path out = args.Text("out", "");
  SyntheticOptions options;
  options.reports = args.Number("reports", 0);
  options.rows_per_report = args.Number("rows-per-report", 0);
  if (options.rows_per_report == 0) throw UsageError{"--rows-per-report must be at least 1"};
  const std::uint64_t reporters = args.Number("reporters", options.reporters);
  if (reporters == 0 || reporters > 100000) throw UsageError{"--reporters wants 1 to 100000"};
  options.reporters = static_cast<std::uint32_t>(reporters);
  options.ipv6_share = args.Share("ipv6-share", options.ipv6_share);
  options.fail_share = args.Share("fail-share", options.fail_share);
  options.formats = ParseFormats(args.Text("formats", "xml"));
  options.huge_rows = args.Number("huge-rows", 0);
  options.sources = args.Number("sources", 0);
  options.start = args.Date("start", options.start);
  options.domain = args.Text("domain", options.domain);
  options.seed = args.Number("seed", options.seed);
  if (options.reports == 0 && options.huge_rows == 0) {
    throw UsageError{"nothing to write: --reports is 0 and there is no --huge-rows"};
  }

  if (Status s = PrepareDirectory(out, args.Has("replace")); !s.ok()) return Fail(s);
  auto summary = BuildSynthetic(
      options, [&](const GeneratedFile& file) { return WriteFile(out / file.name, file.bytes); });
  if (!summary) return Fail(summary.status());
  std::printf("wrote %llu reports (%llu rows, %llu messages) to %s\n",
              static_cast<unsigned long long>(summary->files),
              static_cast<unsigned long long>(summary->rows),
              static_cast<unsigned long long>(summary->messages), out.string().c_str());
  return 0;
}

int Main(int argc, char** argv) {
  if (argc < 2) {
    std::fputs(kUsage.data(), stderr);
    return kExitUsage;
  }
  const std::string_view command = argv[1];
  if (command == "--help" || command == "-h" || command == "help") {
    std::fputs(kUsage.data(), stdout);
    return 0;
  }
  try {
    if (command == "demo") return RunDemo(Arguments(argc, argv, 2, {"replace"}));
    if (command == "synthetic") return RunSynthetic(Arguments(argc, argv, 2, {"replace"}));
    throw UsageError{"unknown command " + std::string(command)};
  } catch (const UsageError& e) {
    std::fprintf(stderr, "dmarcwatch-generate: %s\n\n%s", e.message.c_str(), kUsage.data());
    return kExitUsage;
  }
}

}  // namespace
}  // namespace dmarcwatch::bench

int main(int argc, char** argv) { return dmarcwatch::bench::Main(argc, argv); }
