// Sending paths end to end, through the binary as a user runs it:
//  - the demo month (samples/demo, made by tests/bench's generator with the
//    true path of every row in TRUTH.tsv) is attributed exactly, row by row
//    and in `dmarcwatch paths`;
//  - a configuration change is followed by `dmarcwatch reanalyze`;
//  - the DNS rules (SPF includes, forward-confirmed PTR) and the domain SPF
//    check, against a real unbound server on loopback.

#define BOOST_TEST_MODULE paths
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <boost/test/unit_test.hpp>
#include <map>
#include <set>
#include <sstream>

#include "dmarcwatch/store/store.h"
#include "test_support.h"
#include "unbound_server.h"

namespace fs = std::filesystem;
namespace store = dmarcwatch::store;
using dmarcwatch::testing::RunDmarcwatch;
using dmarcwatch::testing::TempDir;
using dmarcwatch::testing::WriteFile;
using Poco::JSON::Object;

namespace {

const std::string kDemo = std::string(DMARC_SOURCE_DIR) + "/samples/demo";

struct Truth {
  std::string kind, name, provider;
  bool spf = false, dkim = false, dmarc = false;
  std::uint64_t count = 0;
};

// TRUTH.tsv by (report_id, row).
std::map<std::pair<std::string, int>, Truth> LoadTruth() {
  std::ifstream in(kDemo + "/TRUTH.tsv");
  BOOST_REQUIRE(in);
  std::string line;
  std::getline(in, line);
  std::map<std::pair<std::string, int>, Truth> out;
  while (std::getline(in, line)) {
    std::vector<std::string> f;
    std::stringstream ss(line);
    for (std::string cell; std::getline(ss, cell, '\t');) f.push_back(cell);
    f.resize(13);
    // file report_id policy_domain row source_ip count kind name provider spf dkim dmarc disagrees
    Truth t{f[6], f[7], f[8], f[9] == "1", f[10] == "1", f[11] == "1", std::stoull(f[5])};
    out[{f[1], std::stoi(f[3])}] = t;
  }
  return out;
}

Object::Ptr Json(const std::string& text) {
  Poco::JSON::Parser parser;
  return parser.parse(text).extract<Object::Ptr>();
}

// "kind|name|provider" of a path object in `paths --format json`.
std::string PathId(const Object::Ptr& p) {
  auto text = [&](const char* k) { return p->isNull(k) ? std::string() : p->getValue<std::string>(k); };
  return text("kind") + "|" + text("name") + "|" + text("provider");
}

struct Sums {
  std::uint64_t messages = 0, dmarc = 0, spf = 0, dkim = 0;
  bool operator==(const Sums&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Sums& s) {
  return os << s.messages << "/" << s.dmarc << "/" << s.spf << "/" << s.dkim;
}

std::map<std::string, Sums> PathSums(const std::string& db, const std::string& config,
                                     const std::string& domain) {
  auto r = RunDmarcwatch({"--config", config, "--db", db, "--offline", "paths", "--domain", domain,
                          "--since", "2026-10-01", "--until", "2026-10-31", "--format", "json"},
                         false);
  BOOST_REQUIRE_EQUAL(r.exit_code, 0);
  std::map<std::string, Sums> out;
  auto paths = Json(r.output)->getArray("paths");
  for (std::size_t i = 0; i < paths->size(); ++i) {
    auto p = paths->getObject(static_cast<unsigned>(i));
    Sums s{p->getValue<std::uint64_t>("messages"), p->getValue<std::uint64_t>("dmarc_pass"),
           p->getValue<std::uint64_t>("spf_aligned"), p->getValue<std::uint64_t>("dkim_aligned")};
    if (s.messages > 0) out[PathId(p)] = s;
  }
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(paths)

BOOST_AUTO_TEST_CASE(the_demo_month_is_attributed_exactly_as_its_truth_says) {
  TempDir dir("paths");
  const std::string db = dir / "demo.db";
  const std::string config = kDemo + "/dmarcwatch.toml";
  auto imported = RunDmarcwatch({"--config", config, "--db", db, "--offline", "import", "--quiet",
                                 kDemo + "/reports"});
  BOOST_REQUIRE_MESSAGE(imported.exit_code == 0, imported.output);
  const auto truth = LoadTruth();
  BOOST_REQUIRE_GT(truth.size(), 5000u);

  // Row by row: every stored record has the path the generator gave it.
  store::StoreOptions o;
  o.database = db;
  auto s = store::Store::Open(o);
  BOOST_REQUIRE(s.ok());
  auto ids = (*s)->ReportIds(0, 100000);
  BOOST_REQUIRE(ids.ok());
  std::size_t rows = 0, wrong = 0;
  for (std::int64_t id : *ids) {
    auto report = (*s)->GetReport(id);
    auto analysis = (*s)->GetAnalysis(id);
    BOOST_REQUIRE(report.ok() && analysis.ok());
    for (std::size_t k = 0; k < analysis->records.size(); ++k) {
      // TRUTH.tsv numbers rows from 1.
      auto it = truth.find({report->report_metadata.report_id, static_cast<int>(k) + 1});
      BOOST_REQUIRE_MESSAGE(it != truth.end(), "no truth for " << report->report_metadata.report_id);
      const Truth& t = it->second;
      const auto& a = analysis->records[k];
      const bool ok = dmarcwatch::model::ToString(a.kind) == t.kind && a.path_name == t.name &&
                      a.provider == t.provider && a.spf_aligned == t.spf &&
                      a.dkim_aligned == t.dkim && a.dmarc_pass == t.dmarc;
      if (!ok && wrong < 10) {
        BOOST_TEST_MESSAGE(report->report_metadata.report_id
                           << " row " << k << ": got " << a.path_key << " (rule " << a.rule << ", "
                           << a.evidence << "), truth " << t.kind << "|" << t.name << "|"
                           << t.provider);
      }
      wrong += !ok;
      ++rows;
    }
  }
  BOOST_TEST(rows == truth.size());
  BOOST_TEST(wrong == 0u);

  // And in `dmarcwatch paths`, per domain: the same sums as the truth.
  for (const std::string domain : {"example.com", "example.net"}) {
    std::map<std::string, Sums> want;
    std::ifstream in(kDemo + "/TRUTH.tsv");
    std::string line;
    std::getline(in, line);
    while (std::getline(in, line)) {
      std::vector<std::string> f;
      std::stringstream ss(line);
      for (std::string cell; std::getline(ss, cell, '\t');) f.push_back(cell);
      f.resize(13);
      if (f[2] != domain) continue;
      const std::uint64_t n = std::stoull(f[5]);
      Sums& w = want[f[6] + "|" + f[7] + "|" + f[8]];
      w.messages += n;
      w.dmarc += f[11] == "1" ? n : 0;
      w.spf += f[9] == "1" ? n : 0;
      w.dkim += f[10] == "1" ? n : 0;
    }
    const auto got = PathSums(db, config, domain);
    BOOST_TEST(got.size() == want.size(), domain);
    for (const auto& [path, w] : want) {
      auto it = got.find(path);
      BOOST_REQUIRE_MESSAGE(it != got.end(), domain << ": no path " << path);
      BOOST_TEST(it->second == w, domain << " " << path);
    }
  }

  // Importing again changes nothing.
  auto again = RunDmarcwatch({"--config", config, "--db", db, "--offline", "import", "--quiet",
                              kDemo + "/reports"});
  BOOST_TEST(again.output.find("0 new") != std::string::npos, again.output);
  BOOST_TEST(PathSums(db, config, "example.com").size() == 7u);
}

BOOST_AUTO_TEST_CASE(the_findings_name_what_to_fix_on_the_demo_data) {
  TempDir dir("findings");
  const std::string db = dir / "demo.db";
  const std::string config = kDemo + "/dmarcwatch.toml";
  BOOST_REQUIRE_EQUAL(RunDmarcwatch({"--config", config, "--db", db, "--offline", "import",
                                     "--quiet", kDemo + "/reports"})
                          .exit_code,
                      0);
  auto r = RunDmarcwatch({"--config", config, "--db", db, "--offline", "paths", "--domain",
                          "example.com", "--format", "json"},
                         false);
  BOOST_REQUIRE_EQUAL(r.exit_code, 0);
  auto root = Json(r.output);
  BOOST_TEST(root->getValue<int>("version") == 1);
  BOOST_TEST(root->getValue<std::string>("domain") == "example.com");
  BOOST_TEST(root->getValue<std::string>("to") == "2026-10-31");  // the newest data
  std::map<std::string, std::set<std::string>> codes;
  auto paths = root->getArray("paths");
  for (std::size_t i = 0; i < paths->size(); ++i) {
    auto p = paths->getObject(static_cast<unsigned>(i));
    auto findings = p->getArray("findings");
    for (std::size_t k = 0; k < findings->size(); ++k) {
      auto f = findings->getObject(static_cast<unsigned>(k));
      codes[PathId(p)].insert(f->getValue<std::string>("code"));
      BOOST_TEST(!f->getValue<std::string>("advice").empty());
      BOOST_TEST(f->getObject("evidence")->has("ips"));
    }
  }
  // The broken smarthost: own-domain DKIM and return-path.
  BOOST_TEST(codes["smarthost|SendGrid|sendgrid"].count("dkim_provider_domain") == 1u);
  BOOST_TEST(codes["smarthost|SendGrid|sendgrid"].count("return_path_not_aligned") == 1u);
  // Microsoft 365 signs as the tenant, the office IP is missing from SPF.
  BOOST_TEST(codes["smarthost|Microsoft 365|microsoft-365"].count("dkim_provider_domain") == 1u);
  BOOST_TEST(codes["direct|Office MTA|"].count("direct_ip_spf_fail") == 1u);
  BOOST_TEST(codes["undeclared||mailgun"].count("undeclared_provider") == 1u);
  BOOST_TEST(codes["unknown||"].count("unknown_failing") == 1u);
  BOOST_TEST(codes["forwarder||"].count("forwarded") == 1u);
  // The first path listed is a failing one.
  BOOST_TEST(PathId(paths->getObject(0)) == "smarthost|SendGrid|sendgrid");
}

BOOST_AUTO_TEST_CASE(reanalyze_follows_a_configuration_change) {
  TempDir dir("reanalyze");
  const std::string db = dir / "demo.db";
  const std::string demo_config = kDemo + "/dmarcwatch.toml";
  BOOST_REQUIRE_EQUAL(RunDmarcwatch({"--config", demo_config, "--db", db, "--offline", "import",
                                     "--quiet", kDemo + "/reports"})
                          .exit_code,
                      0);
  const auto before = PathSums(db, demo_config, "example.com");
  // The same configuration without the SendGrid path.
  std::string text = dmarcwatch::testing::ReadFile(demo_config);
  const auto at = text.find("[[paths]]\nname = \"SendGrid\"");
  BOOST_REQUIRE(at != std::string::npos);
  const auto end = text.find("[[paths]]", at + 10);
  text.erase(at, end - at);
  const std::string changed = dir / "changed.toml";
  WriteFile(changed, text);

  auto stale = RunDmarcwatch({"--config", changed, "--db", db, "--offline", "paths"});
  BOOST_TEST(stale.output.find("reanalyze") != std::string::npos, stale.output);
  auto re = RunDmarcwatch({"--config", changed, "--db", db, "--offline", "reanalyze"});
  BOOST_REQUIRE_MESSAGE(re.exit_code == 0, re.output);
  // Every report now has the changed configuration's analysis: no note.
  auto current = RunDmarcwatch({"--config", changed, "--db", db, "--offline", "paths"});
  BOOST_TEST(current.output.find("reanalyze") == std::string::npos, current.output);
  const auto after = PathSums(db, changed, "example.com");
  BOOST_TEST(after.count("smarthost|SendGrid|sendgrid") == 0u);
  BOOST_REQUIRE(after.count("undeclared||sendgrid") == 1u);
  BOOST_TEST(after.at("undeclared||sendgrid").messages ==
             before.at("smarthost|SendGrid|sendgrid").messages);
  std::uint64_t total_before = 0, total_after = 0;
  for (const auto& [k, v] : before) total_before += v.messages;
  for (const auto& [k, v] : after) total_after += v.messages;
  BOOST_TEST(total_before == total_after);

  // Back to the original configuration: back to the original numbers.
  BOOST_REQUIRE_EQUAL(
      RunDmarcwatch({"--config", demo_config, "--db", db, "--offline", "reanalyze"}).exit_code, 0);
  BOOST_TEST((PathSums(db, demo_config, "example.com") == before));
}

BOOST_AUTO_TEST_CASE(dns_rules_and_the_spf_check_use_a_real_dns_server) {
  // Zones: SendGrid's include covers 167.89.0.0/17; Microsoft's PTR names
  // are forward-confirmed; example.com's SPF lists only part of the office
  // range and no include for the SendGrid return-path.
  const std::string zones =
      "  local-zone: \"example.com.\" static\n"
      "  local-data: \"ready.example.com. 300 IN A 192.0.2.200\"\n"
      "  local-data: 'example.com. 300 IN TXT \"v=spf1 ip4:192.0.2.0/30 -all\"'\n"
      "  local-zone: \"sendgrid.net.\" static\n"
      "  local-data: 'sendgrid.net. 300 IN TXT \"v=spf1 ip4:167.89.0.0/17 ~all\"'\n"
      "  local-zone: \"outbound.protection.outlook.com.\" static\n"
      "  local-data: \"mail-eastus2.outbound.protection.outlook.com. 300 IN A 40.107.22.51\"\n"
      "  local-zone: \"22.107.40.in-addr.arpa.\" static\n"
      "  local-data-ptr: \"40.107.22.51 mail-eastus2.outbound.protection.outlook.com\"\n"
      "  local-zone: \"100.51.198.in-addr.arpa.\" static\n";
  dmarcwatch::testing::UnboundServer dns;
  dns.Start(zones, "ready.example.com");
  BOOST_REQUIRE_MESSAGE(dns.ok(), dns.error());

  TempDir dir("dns");
  const std::string config = dir / "dmarcwatch.toml";
  WriteFile(config,
            "[[domains]]\nname = \"example.com\"\n"
            "[[paths]]\nname = \"Office\"\nkind = \"direct\"\nips = [\"192.0.2.0/28\"]\n"
            "[[paths]]\nname = \"SendGrid\"\nprovider = \"sendgrid\"\n"
            "return_path_domains = [\"em1234.example.com\"]\n"
            "[dns]\nservers = [\"" + dns.address() + "\"]\ntimeout = \"1s\"\n");
  auto row = [](const char* ip, const char* spf_domain, const char* spf_result) {
    return std::string("<record><row><source_ip>") + ip +
           "</source_ip><count>5</count><policy_evaluated><disposition>none</disposition>"
           "<dkim>fail</dkim><spf>fail</spf></policy_evaluated></row><identifiers>"
           "<header_from>example.com</header_from></identifiers><auth_results><spf><domain>" +
           spf_domain + "</domain><result>" + spf_result + "</result></spf></auth_results></record>";
  };
  const std::string report =
      "<feedback><report_metadata><org_name>dns.test</org_name><email>r@dns.test</email>"
      "<report_id>dns-1</report_id><date_range><begin>1790812800</begin><end>1790899199</end>"
      "</date_range></report_metadata><policy_published><domain>example.com</domain><p>none</p>"
      "</policy_published>" +
      row("167.89.5.5", "example.com", "fail") + row("40.107.22.51", "example.com", "softfail") +
      row("198.51.100.99", "example.com", "fail") + "</feedback>";
  WriteFile(dir / "report.xml", report);

  // Offline, DNS says nothing: all three are unknown.
  const std::string offline_db = dir / "offline.db";
  BOOST_REQUIRE_EQUAL(RunDmarcwatch({"--config", config, "--db", offline_db, "--offline", "import",
                                     dir / "report.xml"})
                          .exit_code,
                      0);
  // With DNS: the SendGrid include and Microsoft's PTR attribute two rows.
  const std::string db = dir / "dns.db";
  auto imported = RunDmarcwatch({"--config", config, "--db", db, "import", dir / "report.xml"});
  BOOST_REQUIRE_MESSAGE(imported.exit_code == 0, imported.output);

  auto analysis_of = [](const std::string& path) {
    store::StoreOptions o;
    o.database = path;
    auto s = store::Store::Open(o);
    BOOST_REQUIRE(s.ok());
    auto ids = (*s)->ReportIds(0, 10);
    BOOST_REQUIRE(ids.ok() && ids->size() == 1u);
    auto a = (*s)->GetAnalysis(ids->front());
    BOOST_REQUIRE(a.ok());
    return *a;
  };
  const auto offline = analysis_of(offline_db);
  for (const auto& r : offline.records) BOOST_TEST(r.path_key == "unknown");
  const auto online = analysis_of(db);
  BOOST_REQUIRE_EQUAL(online.records.size(), 3u);
  BOOST_TEST(online.records[0].path_key == "path:SendGrid");
  BOOST_TEST(online.records[0].rule == 5);
  BOOST_TEST(online.records[1].path_key == "undeclared:microsoft-365");
  BOOST_TEST(online.records[1].rule == 5);
  BOOST_TEST(online.records[1].evidence.find("outbound.protection.outlook.com") !=
             std::string::npos);
  BOOST_TEST(online.records[2].path_key == "unknown");

  // The SPF check: the office /28 is only partly listed, and the SendGrid
  // return-path domain has no SPF record.
  auto findings = RunDmarcwatch({"--config", config, "--db", db, "findings", "--all", "--format",
                                 "json"},
                                false);
  BOOST_REQUIRE_EQUAL(findings.exit_code, 0);
  std::set<std::string> codes;
  auto domains = Json(findings.output)->getArray("domains");
  BOOST_REQUIRE(domains->size() == 1u);
  auto list = domains->getObject(0)->getArray("findings");
  for (std::size_t i = 0; i < list->size(); ++i) {
    codes.insert(list->getObject(static_cast<unsigned>(i))->getValue<std::string>("code"));
  }
  BOOST_TEST(codes.count("spf_ip_missing") == 1u);
  BOOST_TEST(codes.count("spf_include_missing") == 1u);
  BOOST_TEST(codes.count("undeclared_provider") == 1u);
}

BOOST_AUTO_TEST_SUITE_END()
