#include "dmarcwatch/store/store.h"
#include "store_backend.h"

#include <Poco/Data/SQLite/Connector.h>
#include <Poco/Data/Session.h>
#include <Poco/Data/Statement.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "dmarcwatch/model/report.h"
#include "dmarcwatch/model/status.h"

// The store is tested against real SQLite (a database file in a fresh
// temporary directory, or ":memory:") and, built as store_pg_test, against
// a real PostgreSQL (store_backend.h). Where a test needs a second
// connection (to hold a lock, or to write what another program would), it
// opens one with Poco::Data directly, standing for that other program.

namespace {

namespace fs = std::filesystem;
namespace m = dmarcwatch::model;
using dmarcwatch::testing::DatabaseIn;
using dmarcwatch::testing::FreshDatabase;
using dmarcwatch::testing::kOnPostgres;
using dmarcwatch::testing::OtherConnection;
using dmarcwatch::testing::SqliteOnly;
using dmarcwatch::StatusCode;
using dmarcwatch::store::InputRecord;
using dmarcwatch::store::RejectRecord;
using dmarcwatch::store::ReportFilter;
using dmarcwatch::store::SaveKind;
using dmarcwatch::store::Store;
using dmarcwatch::store::StoreOptions;
using Poco::Data::Keywords::into;
using Poco::Data::Keywords::now;

// The status of a failed result, for a failure message.
template <typename T>
std::string Why(const dmarcwatch::Result<T>& r) {
  return r.ok() ? std::string("ok") : r.status().ToString();
}

constexpr std::uint64_t kMaxStoredCount =
    static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());

// A directory of its own under the system temp dir, removed afterwards.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "dmarcwatch-store-XXXXXX").string();
    BOOST_REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string File(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

std::unique_ptr<Store> OpenStore(const std::string& database, int busy_timeout_ms = 2000) {
  StoreOptions options;
  options.database = database;
  options.busy_timeout_ms = busy_timeout_ms;
  auto opened = Store::Open(options);
  BOOST_REQUIRE_MESSAGE(opened.ok(), Why(opened));
  return std::move(*opened);
}

InputRecord MakeInput(const std::string& sha256, std::string raw = "raw bytes") {
  InputRecord input;
  input.sha256 = sha256;
  input.channel = "file";
  input.origin = "/var/spool/" + sha256;
  input.name = sha256 + ".xml";
  input.received_at = 1718236800;
  input.size = raw.size();
  input.raw = std::move(raw);
  return input;
}

std::int64_t PutInput(Store& store, const std::string& sha256) {
  auto id = store.PutInput(MakeInput(sha256));
  BOOST_REQUIRE_MESSAGE(id.ok(), Why(id));
  return *id;
}

m::Record SimpleRecord(std::uint32_t n, std::uint64_t count) {
  m::Record r;
  r.source_ip = m::IpAddress::V4(0xc0000200u + (n & 0xff));
  r.count = count;
  r.policy_evaluated.disposition = m::AppliedDisposition::kNone;
  r.policy_evaluated.dkim = m::DmarcResult::kPass;
  r.policy_evaluated.spf = m::DmarcResult::kFail;
  r.identifiers.header_from = "example.com";
  r.auth_results.dkim.push_back({"example.com", "s1", m::DkimResult::kPass, std::nullopt});
  r.auth_results.spf.push_back(
      {"bounce.example.com", m::SpfScope::kMfrom, m::SpfResult::kSoftFail, std::nullopt});
  return r;
}

m::Report SimpleReport(const std::string& org, const std::string& report_id,
                       const std::string& domain, m::UnixTime begin, m::UnixTime end,
                       std::size_t records = 2, std::uint64_t count = 3) {
  m::Report r;
  r.report_metadata.org_name = org;
  r.report_metadata.email = "noreply@" + org;
  r.report_metadata.report_id = report_id;
  r.report_metadata.date_range = {begin, end};
  r.policy_published.domain = domain;
  r.policy_published.p = m::Disposition::kNone;
  for (std::size_t i = 0; i < records; ++i) {
    r.records.push_back(SimpleRecord(static_cast<std::uint32_t>(i), count));
  }
  r.provenance.channel = "file";
  r.provenance.origin = "/var/spool/" + report_id;
  r.provenance.payload_chain = "xml";
  r.provenance.payload_name = report_id + ".xml";
  r.provenance.received_at = begin;
  r.provenance.sha256_raw = "ab" + report_id;
  return r;
}

dmarcwatch::store::SaveResult Save(Store& store, std::int64_t input_id, const m::Report& report,
                                   const std::string& digest, m::UnixTime now_time = 1718300000) {
  auto saved = store.SaveReport(input_id, report, digest, now_time);
  BOOST_REQUIRE_MESSAGE(saved.ok(), Why(saved));
  return *saved;
}

// A readable, complete rendering of a report, so that a round trip can be
// checked with one comparison that prints both sides when they differ.
// Absent optionals print as <absent>, present ones quoted with their bytes
// escaped, so absent and empty differ.
class Describer {
 public:
  std::string Of(const m::Report& r) {
    Opt("version", r.version);
    Opt("xml_namespace", r.xml_namespace);
    const m::ReportMetadata& md = r.report_metadata;
    Str("org_name", md.org_name);
    Str("email", md.email);
    Opt("extra_contact_info", md.extra_contact_info);
    Str("report_id", md.report_id);
    Num("begin", md.date_range.begin);
    Num("end", md.date_range.end);
    for (const std::string& e : md.errors) Str("error", e);
    Opt("generator", md.generator);
    const m::PolicyPublished& p = r.policy_published;
    Str("domain", p.domain);
    Enum("adkim", p.adkim);
    Enum("aspf", p.aspf);
    Word("p", m::ToString(p.p));
    Enum("sp", p.sp);
    Enum("np", p.np);
    if (p.pct) {
      Num("pct", *p.pct);
    } else {
      Word("pct", "<absent>");
    }
    Opt("fo", p.fo);
    Enum("testing", p.testing);
    Enum("discovery_method", p.discovery_method);
    for (const m::Record& rec : r.records) {
      Word("record", rec.source_ip.ToString());
      Num("count", rec.count);
      Word("disposition", m::ToString(rec.policy_evaluated.disposition));
      Word("eval_dkim", m::ToString(rec.policy_evaluated.dkim));
      Word("eval_spf", m::ToString(rec.policy_evaluated.spf));
      for (const m::PolicyOverrideReason& reason : rec.policy_evaluated.reasons) {
        Word("reason", m::ToString(reason.type));
        Opt("comment", reason.comment);
      }
      Str("header_from", rec.identifiers.header_from);
      Opt("envelope_from", rec.identifiers.envelope_from);
      Opt("envelope_to", rec.identifiers.envelope_to);
      for (const m::DkimAuthResult& d : rec.auth_results.dkim) {
        Str("dkim.domain", d.domain);
        Opt("dkim.selector", d.selector);
        Word("dkim.result", m::ToString(d.result));
        Opt("dkim.human_result", d.human_result);
      }
      for (const m::SpfAuthResult& s : rec.auth_results.spf) {
        Str("spf.domain", s.domain);
        Word("spf.scope", m::ToString(s.scope));
        Word("spf.result", m::ToString(s.result));
        Opt("spf.human_result", s.human_result);
      }
    }
    for (const m::ParseWarning& w : r.warnings) {
      Str("warning.code", w.code);
      Str("warning.detail", w.detail);
    }
    const m::Provenance& v = r.provenance;
    Str("channel", v.channel);
    Str("origin", v.origin);
    Str("payload_chain", v.payload_chain);
    Str("payload_name", v.payload_name);
    Opt("message_id", v.message_id);
    Opt("mailbox_uid", v.mailbox_uid);
    Num("received_at", v.received_at);
    Str("sha256_raw", v.sha256_raw);
    return out_.str();
  }

 private:
  void Word(const char* name, const std::string& word) { out_ << name << '=' << word << '\n'; }
  template <typename T>
  void Num(const char* name, T n) {
    out_ << name << '=' << n << '\n';
  }
  void Str(const char* name, const std::string& s) { out_ << name << '=' << Quote(s) << '\n'; }
  void Opt(const char* name, const std::optional<std::string>& s) {
    out_ << name << '=' << (s ? Quote(*s) : std::string("<absent>")) << '\n';
  }
  template <typename E>
  void Enum(const char* name, const std::optional<E>& e) {
    out_ << name << '=' << (e ? m::ToString(*e) : "<absent>") << '\n';
  }
  static std::string Quote(const std::string& s) {
    std::string out = "\"";
    for (unsigned char c : s) {
      if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\') {
        static constexpr char kHex[] = "0123456789abcdef";
        out += "\\x";
        out += kHex[c >> 4];
        out += kHex[c & 0x0f];
      } else {
        out += static_cast<char>(c);
      }
    }
    return out + "\"";
  }
  std::ostringstream out_;
};

std::string Describe(const m::Report& r) { return Describer().Of(r); }

// A report that uses every field the model has, with hostile strings.
m::Report EveryFieldReport() {
  m::Report r;
  r.version = "1.0";
  r.xml_namespace = "urn:ietf:params:xml:ns:dmarc-2.0";
  m::ReportMetadata& md = r.report_metadata;
  md.org_name = "Ex\xc3\xa4mple \"Mail\" Org \\ \xe2\x9c\x93";
  md.email = "dmarc-noreply@example.net";
  md.extra_contact_info = "";  // present but empty
  md.report_id = "rid-\t1\x01\x1f";
  md.date_range = {1718236800, 1718323199};
  md.errors = {"first \"error\"", "second\nline", "", "tab\there \xe6\x97\xa5\xe6\x9c\xac"};
  md.generator = "gen/1.0 \xf0\x9f\x93\xa8";
  m::PolicyPublished& p = r.policy_published;
  p.domain = "Example.COM";
  p.adkim = m::Alignment::kStrict;
  p.aspf = m::Alignment::kUnknown;
  p.p = m::Disposition::kReject;
  p.sp = m::Disposition::kQuarantine;
  p.np = m::Disposition::kNone;
  p.pct = 50;
  p.fo = "1:d";
  p.testing = m::Testing::kYes;
  p.discovery_method = m::DiscoveryMethod::kTreewalk;

  m::Record r0;
  r0.source_ip = *m::IpAddress::Parse("2001:db8::1");
  r0.count = std::numeric_limits<std::uint64_t>::max();  // saturates when stored
  r0.policy_evaluated.disposition = m::AppliedDisposition::kPass;
  r0.policy_evaluated.dkim = m::DmarcResult::kPass;
  r0.policy_evaluated.spf = m::DmarcResult::kFail;
  r0.policy_evaluated.reasons = {
      {m::PolicyOverride::kForwarded, "via \"list\" \\ {json}"},
      {m::PolicyOverride::kOther, std::nullopt},
      {m::PolicyOverride::kLocalPolicy, ""},
      {m::PolicyOverride::kUnknown, "ctl\x02\x7f"},
  };
  r0.identifiers.header_from = "example.com";
  r0.identifiers.envelope_from = "";  // present but empty
  r0.identifiers.envelope_to = std::nullopt;
  r0.auth_results.dkim = {
      {"example.com", "s1", m::DkimResult::kPass, "ok"},
      {"", std::nullopt, m::DkimResult::kFail, std::nullopt},
      {"thirdparty.net", "", m::DkimResult::kTempError,
       std::string("nul\0inside \xe2\x9c\x93", 14)},
      {"x.example", "sel", m::DkimResult::kUnknown, "\"quoted\""},
  };
  r0.auth_results.spf = {
      {"example.com", m::SpfScope::kMfrom, m::SpfResult::kSoftFail, std::nullopt},
      {"helo.example.com", m::SpfScope::kHelo, m::SpfResult::kPass, "h\\"},
      {"x", m::SpfScope::kUnspecified, m::SpfResult::kPermError, ""},
      {"y", m::SpfScope::kUnknown, m::SpfResult::kUnknown, std::nullopt},
  };

  m::Record r1;
  r1.source_ip = *m::IpAddress::Parse("192.0.2.1");
  r1.count = 0;
  r1.identifiers.header_from = "";
  r1.identifiers.envelope_to = "to.example";

  m::Record r2;
  r2.source_ip = *m::IpAddress::Parse("::ffff:192.0.2.7");
  r2.count = 12345678901234ULL;
  r2.policy_evaluated.disposition = m::AppliedDisposition::kQuarantine;
  r2.identifiers.header_from = "\xd0\xbf\xd1\x80\xd0\xb8\xd0\xbc\xd0\xb5\xd1\x80.example";
  r2.identifiers.envelope_from = "bounce.example.com";
  r2.identifiers.envelope_to = "";
  r2.auth_results.spf = {{"bounce.example.com", m::SpfScope::kMfrom, m::SpfResult::kNone, "n"}};

  r.records = {r0, r1, r2};
  r.warnings = {{"bom_stripped", "detail \"q\"\n"}, {"unknown_element", ""}};
  r.provenance.channel = "imap";
  r.provenance.origin = "rua INBOX uid 42";
  r.provenance.payload_chain = "eml>zip>xml";
  r.provenance.payload_name = "google.com!example.com!1718236800!1718323199.zip";
  r.provenance.message_id = std::nullopt;
  r.provenance.mailbox_uid = "7:42";
  r.provenance.received_at = 1718330000;
  r.provenance.sha256_raw = std::string(64, 'f');
  return r;
}

// A report whose every optional is absent and every list empty.
m::Report AllAbsentReport() {
  m::Report r;
  r.report_metadata.org_name = "org";
  r.report_metadata.email = "";
  r.report_metadata.report_id = "absent";
  r.report_metadata.date_range = {-5, 0};
  r.policy_published.domain = "example.org";
  m::Record rec;
  rec.source_ip = *m::IpAddress::Parse("2001:db8:ffff::");
  rec.count = 1;
  r.records.push_back(rec);
  return r;
}

// A filter with every default: all reports, at most 1000, newest first.
ReportFilter Filter() { return ReportFilter{}; }

std::vector<std::string> ReportIds(Store& store, const ReportFilter& filter) {
  auto rows = store.ListReports(filter);
  BOOST_REQUIRE_MESSAGE(rows.ok(), Why(rows));
  std::vector<std::string> ids;
  for (const auto& row : *rows) ids.push_back(row.report_id);
  return ids;
}

dmarcwatch::store::Totals Totals(Store& store) {
  auto totals = store.GetTotals();
  BOOST_REQUIRE_MESSAGE(totals.ok(), Why(totals));
  return *totals;
}

// Restores a process resource limit and signal disposition on scope exit.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    BOOST_REQUIRE(::getrlimit(RLIMIT_FSIZE, &saved_) == 0);
    // Past the limit the kernel sends SIGXFSZ, which would end the test
    // binary; ignored, the write fails with EFBIG instead.
    previous_handler_ = std::signal(SIGXFSZ, SIG_IGN);
    rlimit limited = saved_;
    limited.rlim_cur = bytes;
    BOOST_REQUIRE(::setrlimit(RLIMIT_FSIZE, &limited) == 0);
  }
  ~FileSizeLimit() {
    ::setrlimit(RLIMIT_FSIZE, &saved_);
    std::signal(SIGXFSZ, previous_handler_);
  }
  FileSizeLimit(const FileSizeLimit&) = delete;
  FileSizeLimit& operator=(const FileSizeLimit&) = delete;

 private:
  rlimit saved_{};
  void (*previous_handler_)(int) = nullptr;
};

std::uintmax_t FileSizeOr0(const std::string& path) {
  std::error_code ec;
  const std::uintmax_t size = fs::file_size(path, ec);
  return ec ? 0 : size;
}

// How many open files hold a flock() of `path` (Linux: /proc/locks names
// the file by device and inode; the inode is the part after the last ':').
int FlockHolders(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 0;
  const std::string inode = ":" + std::to_string(st.st_ino);
  std::ifstream locks("/proc/locks");
  int holders = 0;
  for (std::string line; std::getline(locks, line);) {
    std::istringstream fields(line);
    std::string number, kind, mode, access, pid, file;
    fields >> number >> kind >> mode >> access >> pid >> file;
    if (kind == "FLOCK" && file.size() > inode.size() &&
        file.compare(file.size() - inode.size(), inode.size(), inode) == 0) {
      ++holders;
    }
  }
  return holders;
}

}  // namespace

// How Boost.Test prints our enums in a failed check.
namespace dmarcwatch {
std::ostream& boost_test_print_type(std::ostream& out, StatusCode code) {
  return out << StatusCodeName(code);
}
namespace store {
std::ostream& boost_test_print_type(std::ostream& out, SaveKind kind) {
  return out << ToString(kind);
}
}  // namespace store
}  // namespace dmarcwatch

BOOST_AUTO_TEST_SUITE(store)

// --- opening and migrations ------------------------------------------------

BOOST_AUTO_TEST_CASE(open_applies_every_migration_once_and_records_it) {
  auto store = OpenStore(FreshDatabase());
  auto applied = store->AppliedMigrations();
  BOOST_REQUIRE(applied.ok());
  BOOST_REQUIRE(!applied->empty());
  BOOST_TEST(applied->front().first == 1);
  BOOST_TEST(applied->front().second == "0001_initial.sql");
  for (std::size_t i = 1; i < applied->size(); ++i) {
    BOOST_TEST((*applied)[i - 1].first < (*applied)[i].first);
  }
}

BOOST_AUTO_TEST_CASE(reopening_a_database_applies_nothing_and_keeps_its_data) {
  TempDir dir;
  const std::string path = DatabaseIn(dir, "dmarc.db");
  std::vector<std::pair<int, std::string>> first;
  {
    auto store = OpenStore(path);
    first = *store->AppliedMigrations();
    Save(*store, PutInput(*store, "aa"), SimpleReport("org", "r1", "example.com", 0, 86399), "d1");
  }
  auto store = OpenStore(path);
  auto again = store->AppliedMigrations();
  BOOST_REQUIRE(again.ok());
  BOOST_TEST(again->size() == first.size());
  // Applying 0001 twice would have failed on CREATE TABLE, and lost nothing.
  std::int64_t recorded = 0;
  Poco::Data::Session other = OtherConnection(path);
  other << "SELECT COUNT(*) FROM schema_migrations", into(recorded), now;
  BOOST_TEST(recorded == static_cast<std::int64_t>(first.size()));
  BOOST_TEST(Totals(*store).reports == 1u);
}

BOOST_AUTO_TEST_CASE(refuses_a_database_whose_schema_is_newer_than_the_binary) {
  TempDir dir;
  const std::string path = DatabaseIn(dir, "dmarc.db");
  int known = 0;
  {
    auto store = OpenStore(path);
    known = store->AppliedMigrations()->back().first;
  }
  {
    Poco::Data::Session other = OtherConnection(path);
    other << "INSERT INTO schema_migrations (version, name, applied_at) "
             "VALUES (9999, '9999_future.sql', 0)",
        now;
  }
  StoreOptions options;
  options.database = path;
  auto opened = Store::Open(options);
  BOOST_REQUIRE(!opened.ok());
  BOOST_TEST(opened.status().code() == StatusCode::kFailedPrecondition);
  BOOST_TEST(opened.status().message() ==
             "database schema version 9999 is newer than this "
             "dmarcwatch (" +
                 std::to_string(known) + ")");
}

BOOST_AUTO_TEST_CASE(a_file_database_runs_in_wal_mode, *SqliteOnly()) {
  TempDir dir;
  const std::string path = DatabaseIn(dir, "dmarc.db");
  auto store = OpenStore(path);
  PutInput(*store, "aa");
  BOOST_TEST(fs::exists(path + "-wal"));
  std::string mode;
  Poco::Data::Session other = OtherConnection(path);
  other << "PRAGMA journal_mode", into(mode), now;
  BOOST_TEST(mode == "wal");
  // The file header records WAL as read and write format 2 (bytes 18, 19).
  std::ifstream file(path, std::ios::binary);
  char header[20] = {};
  file.read(header, sizeof header);
  BOOST_TEST(header[18] == 2);
  BOOST_TEST(header[19] == 2);
}

BOOST_AUTO_TEST_CASE(open_creates_missing_parent_directories, *SqliteOnly()) {
  TempDir dir;
  const std::string path = dir.File("a/b/c/dmarc.db");
  auto store = OpenStore(path);
  BOOST_TEST(fs::exists(path));
}

BOOST_AUTO_TEST_CASE(open_on_an_unwritable_path_is_an_io_error_at_once, *SqliteOnly()) {
  TempDir dir;
  // Tests may run as root, who can write almost anywhere; not in /proc.
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"/proc/dmarcwatch-test/x.db", "cannot create directory /proc/dmarcwatch-test"},
      {"/proc/dmarcwatch-test.db", "cannot create the database /proc/dmarcwatch-test.db"},
      {dir.File(""), "is a directory"},
  };
  for (const auto& [path, message] : cases) {
    StoreOptions options;
    options.database = path;
    const auto started = std::chrono::steady_clock::now();
    auto opened = Store::Open(options);
    const auto took = std::chrono::steady_clock::now() - started;
    BOOST_REQUIRE(!opened.ok());
    BOOST_TEST(opened.status().code() == StatusCode::kIoError, path);
    BOOST_TEST(opened.status().message().find(message) != std::string::npos,
               opened.status().message());
    // Not after a driver's login timeout.
    BOOST_TEST(took < std::chrono::seconds(3), path);
  }
}

BOOST_AUTO_TEST_CASE(open_on_a_file_that_is_not_a_database_is_an_io_error, *SqliteOnly()) {
  TempDir dir;
  const std::string path = dir.File("notes.txt");
  std::ofstream(path) << std::string(8192, 'x');
  StoreOptions options;
  options.database = path;
  auto opened = Store::Open(options);
  BOOST_REQUIRE(!opened.ok());
  BOOST_TEST(opened.status().code() == StatusCode::kIoError);
  BOOST_TEST_MESSAGE("not a database: " << opened.status().ToString());
}

// Checked before any connection is tried, so no server is needed.
BOOST_AUTO_TEST_CASE(open_refuses_a_postgresql_uri_it_cannot_pass_on) {
  StoreOptions options;
  options.database = "postgresql://db:port/dmarc";
  BOOST_TEST(Store::Open(options).status().code() == StatusCode::kInvalidInput);
  options.database = "postgresql://dmarc:two%20words@db/dmarc";
  auto opened = Store::Open(options);
  BOOST_TEST(opened.status().code() == StatusCode::kInvalidInput);
  BOOST_TEST(opened.status().message().find("two") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(open_refuses_invalid_options) {
  StoreOptions options;
  options.database = ":memory:";
  options.compression_level = 0;
  BOOST_TEST(Store::Open(options).status().code() == StatusCode::kInvalidInput);
  options.compression_level = 6;
  options.busy_timeout_ms = -1;
  BOOST_TEST(Store::Open(options).status().code() == StatusCode::kInvalidInput);
  options.busy_timeout_ms = 10;
  options.database = "";
  BOOST_TEST(Store::Open(options).status().code() == StatusCode::kInvalidInput);
}

// --- inputs ----------------------------------------------------------------

BOOST_AUTO_TEST_CASE(put_input_returns_the_existing_row_for_the_same_sha256) {
  auto store = OpenStore(FreshDatabase());
  const std::int64_t a = PutInput(*store, "aa");
  const std::int64_t b = PutInput(*store, "bb");
  BOOST_TEST(a != b);
  auto again = store->PutInput(MakeInput("aa", "other bytes are ignored"));
  BOOST_REQUIRE(again.ok());
  BOOST_TEST(*again == a);
  BOOST_TEST(*store->GetInputBytes(a) == "raw bytes");
  BOOST_TEST(Totals(*store).inputs == 2u);
}

BOOST_AUTO_TEST_CASE(input_bytes_round_trip_through_compression) {
  auto store = OpenStore(FreshDatabase());
  std::string every_byte;
  for (int i = 0; i < 256; ++i) every_byte += static_cast<char>(i);
  std::string large;
  std::mt19937 rng(7);
  for (int i = 0; i < (3 << 20); ++i) large += static_cast<char>(rng() % 7 == 0 ? rng() : 'x');
  // Bytes that begin like gzip or zip are kept at level 0 (stored).
  const std::string random = large.substr(0, 100000);
  const std::vector<std::string> samples = {std::string("\0\0\0nul first\0", 14),
                                            every_byte + every_byte,
                                            large,
                                            "",
                                            "\x1f\x8b" + random,
                                            "PK\x03\x04" + random,
                                            "\x1f"};
  for (std::size_t i = 0; i < samples.size(); ++i) {
    auto id = store->PutInput(MakeInput("sha-" + std::to_string(i), samples[i]));
    BOOST_REQUIRE(id.ok());
    auto bytes = store->GetInputBytes(*id);
    BOOST_REQUIRE_MESSAGE(bytes.ok(), Why(bytes));
    BOOST_TEST(bytes->size() == samples[i].size());
    BOOST_TEST((*bytes == samples[i]), "sample " << i);
  }
}

BOOST_AUTO_TEST_CASE(a_batch_is_seen_once_committed_on_sqlite_and_at_once_on_postgresql) {
  TempDir dir;
  const std::string path = DatabaseIn(dir, "dmarc.db");
  auto store = OpenStore(path);
  Poco::Data::Session other = OtherConnection(path);
  const auto seen = [&other] {
    std::int64_t n = -1;
    other << "SELECT COUNT(*) FROM reports", into(n), now;
    return n;
  };
  const std::int64_t input = PutInput(*store, "aa");
  const std::int64_t batched = kOnPostgres ? 1 : 0;  // PostgreSQL commits each operation
  BOOST_REQUIRE(store->BeginBatch().ok());
  Save(*store, input, SimpleReport("org", "r1", "example.com", 0, 1), "d1");
  BOOST_TEST(seen() == batched);
  BOOST_REQUIRE(store->CommitBatch().ok());
  BOOST_TEST(seen() == 1);
  Save(*store, input, SimpleReport("org", "r2", "example.com", 0, 1), "d2");
  BOOST_TEST(seen() == 1 + batched);
  BOOST_REQUIRE(store->EndBatch().ok());
  BOOST_TEST(seen() == 2);
  // Without a batch, every operation commits by itself again.
  Save(*store, input, SimpleReport("org", "r3", "example.com", 0, 1), "d3");
  BOOST_TEST(seen() == 3);
}

BOOST_AUTO_TEST_CASE(a_batch_does_not_commit_while_a_report_is_being_written,
                     *SqliteOnly()) {
  auto store = OpenStore(FreshDatabase());
  const std::int64_t input = PutInput(*store, "aa");
  BOOST_REQUIRE(store->BeginBatch().ok());
  m::Report header = SimpleReport("org", "r1", "example.com", 0, 1, 0);
  auto writer = store->BeginReport(input, header, 1718300000);
  BOOST_REQUIRE_MESSAGE(writer.ok(), Why(writer));
  BOOST_REQUIRE((*writer)->AddRecords({SimpleRecord(1, 3)}).ok());
  const dmarcwatch::Status early = store->CommitBatch();
  BOOST_TEST(early.reason() == "operation_open");
  auto finished = (*writer)->Finish("d1", {});
  BOOST_REQUIRE_MESSAGE(finished.ok(), Why(finished));
  BOOST_TEST(store->EndBatch().ok());
  BOOST_TEST(Totals(*store).reports == 1u);
  BOOST_TEST(Totals(*store).records == 1u);
}

BOOST_AUTO_TEST_CASE(a_writer_waiting_during_a_batch_gets_its_turn_at_the_batch_s_commit,
                     *SqliteOnly()) {
  // The writer's turn is seen in the flock holders the kernel lists.
  BOOST_REQUIRE_MESSAGE(fs::exists("/proc/locks"), "/proc/locks is missing");
  TempDir dir;
  const std::string path = DatabaseIn(dir, "dmarc.db");
  auto batch = OpenStore(path);
  auto writer = OpenStore(path, 5000);
  BOOST_REQUIRE(batch->BeginBatch().ok());
  PutInput(*batch, "in-batch");  // the batch's transaction holds the write lock from here
  std::atomic<bool> done{false};
  dmarcwatch::Status written;
  std::thread other([&] {
    auto id = writer->PutInput(MakeInput("waiting"));
    written = id.ok() ? dmarcwatch::Status::Ok() : id.status();
    done = true;
  });
  // Wait until the writer has queued: it holds its share of the writers'
  // lock beside the batch's from before BEGIN until its write is done, so
  // from then on the batch's commit must wait for it. A fixed sleep was
  // not always long enough on a loaded machine.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (FlockHolders(path + "-writers.lock") < 2 && !done.load() &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  BOOST_TEST(FlockHolders(path + "-writers.lock") == 2);
  BOOST_TEST(!done.load());
  BOOST_REQUIRE(batch->CommitBatch().ok());
  // The commit waited for the writer's turn: its write is done, not left
  // to a later retry of the busy handler.
  BOOST_TEST(done.load());
  other.join();
  BOOST_TEST(written.ok(), written.ToString());
  BOOST_REQUIRE(batch->EndBatch().ok());
  BOOST_TEST(Totals(*batch).inputs == 2u);
}

BOOST_AUTO_TEST_CASE(an_omitted_input_keeps_no_bytes_and_says_so) {
  auto store = OpenStore(FreshDatabase());
  InputRecord input = MakeInput("big", "");
  input.omitted = true;
  input.size = 1ULL << 40;
  auto id = store->PutInput(input);
  BOOST_REQUIRE(id.ok());
  auto bytes = store->GetInputBytes(*id);
  BOOST_REQUIRE(!bytes.ok());
  BOOST_TEST(bytes.status().code() == StatusCode::kNotFound);
  BOOST_TEST(store->GetInputBytes(*id + 100).status().code() == StatusCode::kNotFound);
}

// --- reports ---------------------------------------------------------------

BOOST_AUTO_TEST_CASE(save_report_is_new_then_an_identical_copy_writes_nothing) {
  auto store = OpenStore(FreshDatabase());
  const std::int64_t input = PutInput(*store, "aa");
  const m::Report report = SimpleReport("google.com", "r1", "example.com", 0, 86399, 4);
  const auto first = Save(*store, input, report, "digest-1");
  BOOST_TEST(first.kind == SaveKind::kNew);
  BOOST_TEST(!first.duplicate_of.has_value());

  // The same content through another input (a re-sent message).
  const auto second = Save(*store, PutInput(*store, "bb"), report, "digest-1");
  BOOST_TEST(second.kind == SaveKind::kDuplicate);
  BOOST_TEST(second.report_row_id == first.report_row_id);
  BOOST_TEST(!second.duplicate_of.has_value());
  const auto totals = Totals(*store);
  BOOST_TEST(totals.reports == 1u);
  BOOST_TEST(totals.records == 4u);
  BOOST_TEST(std::string(dmarcwatch::store::ToString(second.kind)) == "duplicate");
}

BOOST_AUTO_TEST_CASE(same_key_with_other_content_is_a_conflict_pointing_at_the_first_copy) {
  auto store = OpenStore(FreshDatabase());
  const std::int64_t input = PutInput(*store, "aa");
  const auto first =
      Save(*store, input, SimpleReport("google.com", "r1", "example.com", 0, 86399), "d1");

  // The key compares the policy domain without case.
  m::Report other = SimpleReport("google.com", "r1", "EXAMPLE.com", 0, 86399, 5);
  const auto second = Save(*store, input, other, "d2");
  BOOST_TEST(second.kind == SaveKind::kConflict);
  BOOST_TEST(second.report_row_id != first.report_row_id);
  BOOST_TEST(second.duplicate_of.value_or(-1) == first.report_row_id);

  const auto third = Save(*store, input, other, "d3");
  BOOST_TEST(third.kind == SaveKind::kConflict);
  BOOST_TEST(third.duplicate_of.value_or(-1) == first.report_row_id);

  // Seeing the second copy again is a duplicate of that copy.
  const auto again = Save(*store, input, other, "d2");
  BOOST_TEST(again.kind == SaveKind::kDuplicate);
  BOOST_TEST(again.report_row_id == second.report_row_id);

  // Another range, org or id is another key.
  BOOST_TEST(
      Save(*store, input, SimpleReport("google.com", "r1", "example.com", 0, 86400), "d2").kind ==
      SaveKind::kNew);
  BOOST_TEST(
      Save(*store, input, SimpleReport("yahoo.com", "r1", "example.com", 0, 86399), "d2").kind ==
      SaveKind::kNew);

  auto rows = store->ListReports(Filter());
  BOOST_REQUIRE(rows.ok());
  int flagged = 0;
  for (const auto& row : *rows) {
    if (row.duplicate_of) {
      ++flagged;
      BOOST_TEST(*row.duplicate_of == first.report_row_id);
    }
  }
  BOOST_TEST(flagged == 2);
  BOOST_TEST(Totals(*store).conflicts == 2u);
}

BOOST_AUTO_TEST_CASE(get_report_round_trips_every_field) {
  auto store = OpenStore(FreshDatabase());
  const m::Report report = EveryFieldReport();
  const auto saved = Save(*store, PutInput(*store, "aa"), report, "digest");
  auto loaded = store->GetReport(saved.report_row_id);
  BOOST_REQUIRE_MESSAGE(loaded.ok(), Why(loaded));

  m::Report expected = report;
  expected.records[0].count = kMaxStoredCount;  // stored counts saturate at INT64_MAX
  BOOST_TEST(Describe(*loaded) == Describe(expected));
  BOOST_TEST((loaded->records[0].source_ip == expected.records[0].source_ip));
  BOOST_TEST((loaded->records[2].source_ip == expected.records[2].source_ip));
  BOOST_TEST(loaded->MessageCount() == expected.MessageCount());
}

BOOST_AUTO_TEST_CASE(absent_and_empty_optionals_stay_distinct) {
  auto store = OpenStore(FreshDatabase());
  const std::int64_t input = PutInput(*store, "aa");
  m::Report absent = AllAbsentReport();
  m::Report empty = AllAbsentReport();
  empty.report_metadata.report_id = "empty";
  empty.version = "";
  empty.xml_namespace = "";
  empty.report_metadata.extra_contact_info = "";
  empty.report_metadata.generator = "";
  empty.policy_published.fo = "";
  empty.policy_published.pct = 0;
  empty.records[0].identifiers.envelope_from = "";
  empty.records[0].identifiers.envelope_to = "";
  empty.records[0].policy_evaluated.reasons = {{m::PolicyOverride::kOther, ""}};
  empty.records[0].auth_results.dkim = {{"", "", m::DkimResult::kNone, ""}};
  empty.provenance.message_id = "";
  empty.provenance.mailbox_uid = "";
  for (const m::Report* report : {&absent, &empty}) {
    const auto saved = Save(*store, input, *report, report->report_metadata.report_id);
    auto loaded = store->GetReport(saved.report_row_id);
    BOOST_REQUIRE(loaded.ok());
    BOOST_TEST(Describe(*loaded) == Describe(*report));
    BOOST_TEST(loaded->version.has_value() == report->version.has_value());
    BOOST_TEST(loaded->policy_published.pct.has_value() ==
               report->policy_published.pct.has_value());
  }
}

BOOST_AUTO_TEST_CASE(invalid_utf8_in_a_list_comes_back_as_replacement_characters) {
  auto store = OpenStore(FreshDatabase());
  m::Report report = SimpleReport("org", "r1", "example.com", 0, 1, 1);
  report.report_metadata.errors = {"latin-1 caf\xe9", "cut \xe2\x82", "ok \xe2\x82\xac"};
  report.records[0].auth_results.dkim[0].human_result = "\xff\xfe";
  const auto saved = Save(*store, PutInput(*store, "aa"), report, "d");
  auto loaded = store->GetReport(saved.report_row_id);
  BOOST_REQUIRE(loaded.ok());
  const std::vector<std::string> want = {"latin-1 caf\xef\xbf\xbd", "cut \xef\xbf\xbd\xef\xbf\xbd",
                                         "ok \xe2\x82\xac"};
  BOOST_TEST(loaded->report_metadata.errors == want, boost::test_tools::per_element());
  BOOST_TEST(*loaded->records[0].auth_results.dkim[0].human_result == "\xef\xbf\xbd\xef\xbf\xbd");
}

BOOST_AUTO_TEST_CASE(a_nul_byte_in_a_plain_text_field_is_refused_as_invalid_input) {
  auto store = OpenStore(FreshDatabase());
  m::Report report = SimpleReport("org", "r1", "example.com", 0, 1, 1);
  report.records[0].identifiers.header_from = std::string("exa\0mple.com", 12);
  auto saved = store->SaveReport(PutInput(*store, "aa"), report, "d", 0);
  BOOST_REQUIRE(!saved.ok());
  BOOST_TEST(saved.status().code() == StatusCode::kInvalidInput);
  BOOST_TEST(saved.status().message().find("header_from") != std::string::npos);
  BOOST_TEST(Totals(*store).reports == 0u);
}

BOOST_AUTO_TEST_CASE(a_report_for_an_unknown_input_is_refused_and_writes_nothing) {
  auto store = OpenStore(FreshDatabase());
  auto saved = store->SaveReport(999, SimpleReport("org", "r1", "example.com", 0, 1), "d", 0);
  BOOST_REQUIRE(!saved.ok());
  BOOST_TEST(saved.status().code() == StatusCode::kFailedPrecondition);
  BOOST_TEST(saved.status().reason() == "constraint_violation");
  BOOST_TEST(Totals(*store).reports == 0u);
  // The failure does not leave the store unusable.
  BOOST_TEST(
      Save(*store, PutInput(*store, "aa"), SimpleReport("org", "r1", "example.com", 0, 1), "d")
          .kind == SaveKind::kNew);
}

BOOST_AUTO_TEST_CASE(get_report_of_an_unknown_row_is_not_found) {
  auto store = OpenStore(FreshDatabase());
  BOOST_TEST(store->GetReport(42).status().code() == StatusCode::kNotFound);
}

BOOST_AUTO_TEST_CASE(a_report_without_records_is_saved) {
  auto store = OpenStore(FreshDatabase());
  const m::Report report = SimpleReport("org", "r0", "example.com", 0, 1, 0);
  const auto saved = Save(*store, PutInput(*store, "aa"), report, "d");
  auto loaded = store->GetReport(saved.report_row_id);
  BOOST_REQUIRE(loaded.ok());
  BOOST_TEST(loaded->records.empty());
  // and the record statement, built later, still works
  Save(*store, PutInput(*store, "aa"), SimpleReport("org", "r1", "example.com", 0, 1, 3), "d");
  BOOST_TEST(Totals(*store).records == 3u);
}

// --- rejects ---------------------------------------------------------------

BOOST_AUTO_TEST_CASE(save_reject_counts_a_repeat_instead_of_adding_a_row) {
  auto store = OpenStore(FreshDatabase());
  const std::int64_t input = PutInput(*store, "aa");
  const RejectRecord bad{"eml>zip>xml", "report.xml", "invalid_input", "doctype_forbidden",
                         "a DOCTYPE was found"};
  BOOST_REQUIRE(store->SaveReject(input, bad, 100).ok());
  BOOST_REQUIRE(store->SaveReject(input, bad, 200).ok());
  RejectRecord other = bad;
  other.reason = "inflate_limit";
  BOOST_REQUIRE(store->SaveReject(input, other, 150).ok());
  // Without an input, repeats are still one row.
  BOOST_REQUIRE(store->SaveReject(std::nullopt, bad, 300).ok());
  BOOST_REQUIRE(store->SaveReject(std::nullopt, bad, 400).ok());

  auto rows = store->ListRejects(100, 0);
  BOOST_REQUIRE(rows.ok());
  BOOST_REQUIRE(rows->size() == 3u);
  // Most recently seen first.
  const auto& unattached = (*rows)[0];
  BOOST_TEST(!unattached.input_id.has_value());
  BOOST_TEST(unattached.seen_count == 2u);
  BOOST_TEST(unattached.first_seen == 300);
  BOOST_TEST(unattached.origin == "");
  const auto& repeated = (*rows)[1];
  BOOST_TEST(repeated.input_id.value_or(-1) == input);
  BOOST_TEST(repeated.origin == "/var/spool/aa");
  BOOST_TEST(repeated.reason == "doctype_forbidden");
  BOOST_TEST(repeated.code == "invalid_input");
  BOOST_TEST(repeated.message == "a DOCTYPE was found");
  BOOST_TEST(repeated.payload_chain == "eml>zip>xml");
  BOOST_TEST(repeated.payload_name == "report.xml");
  BOOST_TEST(repeated.seen_count == 2u);
  BOOST_TEST(repeated.first_seen == 100);
  BOOST_TEST((*rows)[2].reason == "inflate_limit");
  BOOST_TEST((*rows)[2].seen_count == 1u);

  auto page = store->ListRejects(1, 1);
  BOOST_REQUIRE(page.ok());
  BOOST_REQUIRE(page->size() == 1u);
  BOOST_TEST((*page)[0].id == repeated.id);
  BOOST_TEST(Totals(*store).rejects == 3u);
}

// --- listing and totals ----------------------------------------------------

BOOST_AUTO_TEST_CASE(list_reports_filters_by_domain_without_case) {
  auto store = OpenStore(FreshDatabase());
  const std::int64_t input = PutInput(*store, "aa");
  Save(*store, input, SimpleReport("org", "a", "Example.com", 0, 10), "d");
  Save(*store, input, SimpleReport("org", "b", "example.net", 0, 10), "d");
  Save(*store, input, SimpleReport("org", "c", "EXAMPLE.COM", 20, 30), "d");
  ReportFilter f = Filter();
  f.domain = "example.COM";
  const std::vector<std::string> want = {"c", "a"};
  BOOST_TEST(ReportIds(*store, f) == want, boost::test_tools::per_element());
  auto rows = store->ListReports(f);
  BOOST_TEST((*rows)[0].domain == "example.com");  // listed in canonical case
  f.domain = "example.org";
  BOOST_TEST(ReportIds(*store, f).empty());
}

BOOST_AUTO_TEST_CASE(list_reports_filters_on_the_date_range) {
  auto store = OpenStore(FreshDatabase());
  const std::int64_t input = PutInput(*store, "aa");
  Save(*store, input, SimpleReport("org", "day1", "example.com", 0, 99), "d");
  Save(*store, input, SimpleReport("org", "day2", "example.com", 100, 199), "d");
  Save(*store, input, SimpleReport("org", "day3", "example.com", 200, 299), "d");

  ReportFilter f = Filter();
  f.since = 199;  // ranges ending at or after 199
  BOOST_TEST(ReportIds(*store, f) == (std::vector<std::string>{"day3", "day2"}),
             boost::test_tools::per_element());
  f.since = std::nullopt;
  f.until = 200;  // ranges beginning before 200
  BOOST_TEST(ReportIds(*store, f) == (std::vector<std::string>{"day2", "day1"}),
             boost::test_tools::per_element());
  f.since = 100;
  f.until = 200;
  BOOST_TEST(ReportIds(*store, f) == (std::vector<std::string>{"day2"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(list_reports_pages_newest_first) {
  auto store = OpenStore(FreshDatabase());
  const std::int64_t input = PutInput(*store, "aa");
  for (int day = 0; day < 5; ++day) {
    Save(*store, input,
         SimpleReport("org", "day" + std::to_string(day), "example.com", day * 100, day * 100 + 99),
         "d");
  }
  ReportFilter f = Filter();
  BOOST_TEST(
      ReportIds(*store, f) == (std::vector<std::string>{"day4", "day3", "day2", "day1", "day0"}),
      boost::test_tools::per_element());
  f.limit = 2;
  f.offset = 1;
  BOOST_TEST(ReportIds(*store, f) == (std::vector<std::string>{"day3", "day2"}),
             boost::test_tools::per_element());
  f.offset = 4;
  BOOST_TEST(ReportIds(*store, f) == (std::vector<std::string>{"day0"}),
             boost::test_tools::per_element());
  f.limit = 0;
  BOOST_TEST(ReportIds(*store, f).empty());
}

BOOST_AUTO_TEST_CASE(list_reports_describes_each_row) {
  auto store = OpenStore(FreshDatabase());
  m::Report report = SimpleReport("google.com", "r1", "Example.com", 100, 199, 3, 7);
  report.warnings = {{"a", "b"}, {"c", "d"}};
  const auto saved = Save(*store, PutInput(*store, "aa"), report, "d", 5000);
  auto rows = store->ListReports(Filter());
  BOOST_REQUIRE(rows.ok());
  BOOST_REQUIRE(rows->size() == 1u);
  const auto& row = rows->front();
  BOOST_TEST(row.id == saved.report_row_id);
  BOOST_TEST(row.org_name == "google.com");
  BOOST_TEST(row.email == "noreply@google.com");
  BOOST_TEST(row.report_id == "r1");
  BOOST_TEST(row.domain == "example.com");
  BOOST_TEST(row.begin == 100);
  BOOST_TEST(row.end == 199);
  BOOST_TEST(row.records == 3u);
  BOOST_TEST(row.messages == 21u);
  BOOST_TEST(!row.duplicate_of.has_value());
  BOOST_TEST(row.payload_chain == "xml");
  BOOST_TEST(row.payload_name == "r1.xml");
  BOOST_TEST(row.origin == "/var/spool/r1");
  BOOST_TEST(row.warnings == 2u);
  BOOST_TEST(row.imported_at == 5000);
}

BOOST_AUTO_TEST_CASE(totals_count_conflicts_apart_and_sum_messages_of_first_copies) {
  auto store = OpenStore(FreshDatabase());
  BOOST_TEST(Totals(*store).messages == 0u);
  const std::int64_t input = PutInput(*store, "aa");
  PutInput(*store, "bb");
  Save(*store, input, SimpleReport("org", "r1", "example.com", 0, 9, 2, 10), "d1");
  Save(*store, input, SimpleReport("org", "r1", "example.com", 0, 9, 3, 1000), "d2");  // conflict
  Save(*store, input, SimpleReport("org", "r2", "example.com", 0, 9, 1, 5), "d1");
  Save(*store, input, SimpleReport("org", "r2", "example.com", 0, 9, 1, 5), "d1");  // duplicate
  BOOST_REQUIRE(store->SaveReject(input, {"xml", "x", "invalid_input", "r", "m"}, 1).ok());
  const auto t = Totals(*store);
  BOOST_TEST(t.inputs == 2u);
  BOOST_TEST(t.reports == 3u);
  BOOST_TEST(t.conflicts == 1u);
  BOOST_TEST(t.records == 6u);
  BOOST_TEST(t.messages == 25u);
  BOOST_TEST(t.rejects == 1u);
}

BOOST_AUTO_TEST_CASE(total_messages_go_past_int64_and_saturate_at_uint64_max) {
  auto store = OpenStore(FreshDatabase());
  const std::int64_t input = PutInput(*store, "aa");
  const std::uint64_t huge = std::numeric_limits<std::uint64_t>::max();
  Save(*store, input, SimpleReport("org", "r1", "example.com", 0, 9, 1, huge), "d");
  Save(*store, input, SimpleReport("org", "r2", "example.com", 0, 9, 1, huge), "d");
  Save(*store, input, SimpleReport("org", "r3", "example.com", 0, 9, 1, 1), "d");
  // Each report stores INT64_MAX; their sum needs all 64 unsigned bits.
  BOOST_TEST(Totals(*store).messages == 2 * kMaxStoredCount + 1);
  Save(*store, input, SimpleReport("org", "r4", "example.com", 0, 9, 1, huge), "d");
  BOOST_TEST(Totals(*store).messages == huge);
}

// --- several connections -----------------------------------------------------

BOOST_AUTO_TEST_CASE(a_second_store_on_the_same_file_sees_the_first_ones_commits) {
  TempDir dir;
  const std::string path = DatabaseIn(dir, "dmarc.db");
  auto writer = OpenStore(path);
  auto reader = OpenStore(path);
  const auto saved =
      Save(*writer, PutInput(*writer, "aa"), SimpleReport("org", "r1", "example.com", 0, 9), "d");
  BOOST_TEST(ReportIds(*reader, Filter()) == (std::vector<std::string>{"r1"}),
             boost::test_tools::per_element());
  auto loaded = reader->GetReport(saved.report_row_id);
  BOOST_REQUIRE(loaded.ok());
  BOOST_TEST(loaded->records.size() == 2u);
  // And the other way round, with the same key: a duplicate across stores.
  const auto again =
      Save(*reader, PutInput(*reader, "aa"), SimpleReport("org", "r1", "example.com", 0, 9), "d");
  BOOST_TEST(again.kind == SaveKind::kDuplicate);
  BOOST_TEST(again.report_row_id == saved.report_row_id);
}

BOOST_AUTO_TEST_CASE(two_stores_saving_the_same_reports_at_once_store_each_once) {
  TempDir dir;
  const std::string path = DatabaseIn(dir, "dmarc.db");
  constexpr int kReports = 40;
  auto first = OpenStore(path, 10000);
  auto second = OpenStore(path, 10000);
  const std::int64_t input = PutInput(*first, "aa");
  std::vector<m::Report> reports;
  for (int i = 0; i < kReports; ++i) {
    reports.push_back(SimpleReport("org", "r" + std::to_string(i), "example.com", 0, 9, 20));
  }
  // Each store is used by one thread, as the header requires.
  auto save_all = [&](Store* store, std::vector<std::string>* outcomes) {
    for (const m::Report& r : reports) {
      auto saved = store->SaveReport(input, r, "d", 0);
      outcomes->push_back(saved.ok() ? dmarcwatch::store::ToString(saved->kind) : Why(saved));
    }
  };
  std::vector<std::string> outcomes_a, outcomes_b;
  std::thread a(save_all, first.get(), &outcomes_a);
  std::thread b(save_all, second.get(), &outcomes_b);
  a.join();
  b.join();
  int news = 0, duplicates = 0;
  for (const auto* outcomes : {&outcomes_a, &outcomes_b}) {
    for (const std::string& outcome : *outcomes) {
      if (outcome == "new") {
        ++news;
      } else if (outcome == "duplicate") {
        ++duplicates;
      } else {
        BOOST_ERROR("unexpected outcome: " << outcome);
      }
    }
  }
  BOOST_TEST(news == kReports);
  BOOST_TEST(duplicates == kReports);
  const auto totals = Totals(*first);
  BOOST_TEST(totals.reports == std::uint64_t{kReports});
  BOOST_TEST(totals.conflicts == 0u);
  BOOST_TEST(totals.records == std::uint64_t{kReports} * 20);
}

// Another program holds the write lock (SQLite) or locks the tables a save
// writes (PostgreSQL): the store waits busy_timeout_ms, then fails as
// unavailable, without waiting for ever.
BOOST_AUTO_TEST_CASE(a_save_blocked_by_another_writer_is_unavailable_and_writes_nothing) {
  TempDir dir;
  const std::string path = DatabaseIn(dir, "dmarc.db");
  auto store = OpenStore(path, /*busy_timeout_ms=*/50);
  const std::int64_t input = PutInput(*store, "aa");
  const m::Report report = SimpleReport("org", "r1", "example.com", 0, 9, 50);

  Poco::Data::Session other = OtherConnection(path);
  if (kOnPostgres) {
    // EXCLUSIVE mode lets readers in, as SQLite's WAL mode does.
    other << "BEGIN", now;
    other << "LOCK TABLE inputs, reports, record_blocks, rejects IN EXCLUSIVE MODE", now;
  } else {
    other << "BEGIN IMMEDIATE", now;  // holds the write lock
  }
  const auto started = std::chrono::steady_clock::now();
  auto blocked = store->SaveReport(input, report, "d", 0);
  const auto waited = std::chrono::steady_clock::now() - started;
  BOOST_REQUIRE(!blocked.ok());
  BOOST_TEST(blocked.status().code() == StatusCode::kUnavailable);
  BOOST_TEST(blocked.status().retryable());
  BOOST_TEST(waited >= std::chrono::milliseconds(40));  // it did wait busy_timeout
  BOOST_TEST(store->PutInput(MakeInput("bb")).status().code() == StatusCode::kUnavailable);
  BOOST_TEST(store->SaveReject(input, {"xml", "x", "c", "r", "m"}, 0).code() ==
             StatusCode::kUnavailable);
  // Readers are not blocked, and see nothing of the report.
  BOOST_TEST(Totals(*store).reports == 0u);
  other << "ROLLBACK", now;

  std::int64_t records = -1;
  other << "SELECT COALESCE(SUM(row_count), 0) FROM record_blocks", into(records), now;
  BOOST_TEST(records == 0);
  // The store is usable again once the lock is gone.
  const auto saved = Save(*store, input, report, "d");
  BOOST_TEST(saved.kind == SaveKind::kNew);
  BOOST_TEST(Totals(*store).records == 50u);
}

BOOST_AUTO_TEST_CASE(a_save_that_fails_after_writing_rows_leaves_none_of_them, *SqliteOnly()) {
  TempDir dir;
  const std::string path = DatabaseIn(dir, "dmarc.db");
  auto store = OpenStore(path);
  const std::int64_t input = PutInput(*store, "aa");
  Save(*store, input, SimpleReport("org", "small", "example.com", 0, 9, 3), "d");

  // Several MB even compressed (header_from is random hex), so the record
  // blocks are written past the file size limit below.
  m::Report big = SimpleReport("org", "big", "example.com", 0, 9, 40000);
  std::mt19937_64 random(9);
  for (std::size_t i = 0; i < big.records.size(); ++i) {
    std::string& from = big.records[i].identifiers.header_from;
    while (from.size() < 200) from += "0123456789abcdef"[random() % 16];
  }
  std::optional<dmarcwatch::Result<dmarcwatch::store::SaveResult>> result;
  {
    // A real write failure: the kernel refuses to grow the files further.
    const std::uintmax_t largest = std::max(FileSizeOr0(path), FileSizeOr0(path + "-wal"));
    FileSizeLimit limit(static_cast<rlim_t>(largest + (256 << 10)));
    result.emplace(store->SaveReport(input, big, "d-big", 0));
  }
  const auto& failed = *result;
  BOOST_REQUIRE(!failed.ok());
  BOOST_TEST(failed.status().code() == StatusCode::kIoError);
  BOOST_TEST_MESSAGE("failure was: " << failed.status().ToString());

  const auto totals = Totals(*store);
  BOOST_TEST(totals.reports == 1u);
  BOOST_TEST(totals.records == 3u);
  {
    auto fresh = OpenStore(path);  // another connection agrees
    BOOST_TEST(ReportIds(*fresh, Filter()) == (std::vector<std::string>{"small"}),
               boost::test_tools::per_element());
    std::int64_t records = -1;
    Poco::Data::Session other = OtherConnection(path);
    other << "SELECT COALESCE(SUM(row_count), 0) FROM record_blocks", into(records), now;
    BOOST_TEST(records == 3);
  }
  // Nothing is left half-done: the same save succeeds now.
  const auto saved = Save(*store, input, big, "d-big");
  BOOST_TEST(saved.kind == SaveKind::kNew);
  BOOST_TEST(Totals(*store).records == 40003u);
}

// --- throughput, by hand -------------------------------------------------------

// Not an assertion on time: run it with
//   store_test --run_test=store/prints_insert_throughput --log_level=message
BOOST_AUTO_TEST_CASE(prints_insert_throughput, *boost::unit_test::disabled()) {
  constexpr int kReports = 2000;
  constexpr int kRecords = 100;
  TempDir dir;
  auto store = OpenStore(dir.File("bench.db"));
  const std::int64_t input = PutInput(*store, "aa");
  std::vector<m::Report> reports;
  reports.reserve(kReports);
  for (int i = 0; i < kReports; ++i) {
    m::Report r = SimpleReport("google.com", "bench-" + std::to_string(i), "example.com", i * 86400,
                               i * 86400 + 86399, kRecords, 1);
    for (int k = 0; k < kRecords; ++k) {
      r.records[static_cast<std::size_t>(k)].source_ip =
          m::IpAddress::V4(0xcb007100u + static_cast<std::uint32_t>((i * kRecords + k) & 0xffff));
    }
    reports.push_back(std::move(r));
  }
  std::vector<std::string> digests;
  for (int i = 0; i < kReports; ++i) digests.push_back("digest-" + std::to_string(i));
  // CPU time is what "rows per second on one core" means; wall time also
  // counts waiting for the disk and for other processes.
  const std::clock_t cpu_started = std::clock();
  const auto started = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < reports.size(); ++i) Save(*store, input, reports[i], digests[i]);
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const double cpu = static_cast<double>(std::clock() - cpu_started) / CLOCKS_PER_SEC;
  const double records = double{kReports} * kRecords;
  BOOST_TEST_MESSAGE("saved " << kReports << " reports x " << kRecords << " records: wall " << wall
                              << " s (" << static_cast<long>(records / wall) << " records/s), cpu "
                              << cpu << " s (" << static_cast<long>(records / cpu)
                              << " records/s)");
  BOOST_TEST(Totals(*store).records == std::uint64_t{kReports} * kRecords);
}

BOOST_AUTO_TEST_SUITE_END()
