// Mailbox ingestion against a real Dovecot (tests/integration/dovecot_server.h)
// on 127.0.0.1 with self-signed certificates made at start, and watched
// folders on disk:
//  - `dmarcwatch poll` imports every report of the corpus emails and moves
//    every message to the right folder ('/' translated to Dovecot's '.',
//    missing folders created); hostile messages go to the invalid folder
//    with their reason;
//  - a poll killed with SIGKILL midway, then run again, ends with every
//    report stored once and every message archived once;
//  - a UIDVALIDITY change (doveadm) reads the messages again without
//    doubles; after_import = "mark" flags instead of moving;
//  - STARTTLS and implicit TLS; a wrong certificate or host name is
//    refused; XOAUTH2 against Dovecot's oauth2 passdb, whose token
//    introspection endpoint this test runs on loopback, including an
//    expired token replaced through oauth2_token_command;
//  - UID MOVE and the COPY + STORE + EXPUNGE fallback (a Dovecot that
//    announces no MOVE, with and without UIDPLUS);
//  - timeouts and limits, against scripted servers on loopback for what a
//    real server cannot be made to do (stay silent, send an overlong line,
//    announce a literal over the limit);
//  - `dmarcwatch status`, and FolderWatcher on real directories.
//
// A missing Dovecot fails every test that needs it, with a message saying
// what to install; nothing is skipped.

#define BOOST_TEST_MODULE imap
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/StreamCopier.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "dmarcwatch/ingest/imap.h"
#include "dmarcwatch/store/mailboxes.h"
#include "dmarcwatch/store/store.h"
#include "dashboard_client.h"
#include "dovecot_server.h"
#include "postgres_server.h"
#include "generator.h"
#include "importer.h"
#include "test_support.h"
#include "watcher.h"

namespace {

namespace fs = std::filesystem;
namespace store = dmarcwatch::store;
namespace ingest = dmarcwatch::ingest;
namespace app = dmarcwatch::app;
using dmarcwatch::testing::DovecotOptions;
using dmarcwatch::testing::DovecotServer;
using dmarcwatch::testing::kBinary;
using dmarcwatch::testing::kDovecotPassword;
using dmarcwatch::testing::PostgresServer;
using dmarcwatch::testing::ReadFile;
using dmarcwatch::testing::RunDmarcwatch;
using dmarcwatch::testing::RunResult;
using dmarcwatch::testing::TempDir;
using dmarcwatch::testing::WriteFile;

const fs::path kCorpus = DMARC_CORPUS_DIR;

// Why a Result failed, for messages (Boost.Test evaluates them either way).
template <typename R>
std::string Why(const R& r) {
  return r.ok() ? std::string() : r.status().ToString();
}

// ---- A token-introspection endpoint (RFC 7662) for Dovecot's oauth2 passdb.

class TokenEndpoint {
 public:
  TokenEndpoint()
      : socket_(Poco::Net::SocketAddress("127.0.0.1", 0)),
        server_(new Factory(*this), socket_, new Poco::Net::HTTPServerParams) {
    server_.start();
  }
  ~TokenEndpoint() { server_.stopAll(true); }
  TokenEndpoint(const TokenEndpoint&) = delete;
  TokenEndpoint& operator=(const TokenEndpoint&) = delete;

  std::string url() const {
    return "http://127.0.0.1:" + std::to_string(socket_.address().port()) + "/introspect";
  }
  void Allow(const std::string& token, const std::string& user) {
    std::lock_guard<std::mutex> lock(mutex_);
    active_[token] = user;
  }
  std::vector<std::string> asked() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return asked_;
  }

 private:
  class Handler : public Poco::Net::HTTPRequestHandler {
   public:
    explicit Handler(TokenEndpoint& e) : e_(e) {}
    void handleRequest(Poco::Net::HTTPServerRequest& request,
                       Poco::Net::HTTPServerResponse& response) override {
      std::string body;
      Poco::StreamCopier::copyToString(request.stream(), body);
      std::string token;
      std::istringstream fields(body);
      for (std::string field; std::getline(fields, field, '&');) {
        if (field.rfind("token=", 0) == 0) token = field.substr(6);
      }
      std::string json = "{\"active\": false}";
      {
        std::lock_guard<std::mutex> lock(e_.mutex_);
        e_.asked_.push_back(token);
        auto it = e_.active_.find(token);
        if (it != e_.active_.end()) {
          json = "{\"active\": true, \"username\": \"" + it->second + "\"}";
        }
      }
      response.setContentType("application/json");
      response.setContentLength(static_cast<std::streamsize>(json.size()));
      response.send() << json;
    }

   private:
    TokenEndpoint& e_;
  };
  class Factory : public Poco::Net::HTTPRequestHandlerFactory {
   public:
    explicit Factory(TokenEndpoint& e) : e_(e) {}
    Poco::Net::HTTPRequestHandler* createRequestHandler(
        const Poco::Net::HTTPServerRequest&) override {
      return new Handler(e_);
    }

   private:
    TokenEndpoint& e_;
  };

  mutable std::mutex mutex_;
  std::map<std::string, std::string> active_;
  std::vector<std::string> asked_;
  Poco::Net::ServerSocket socket_;
  Poco::Net::HTTPServer server_;
};

// One Dovecot (with the oauth2 passdb) for the whole module.
struct Servers {
  TokenEndpoint tokens;
  DovecotServer dovecot;
  Servers() {
    DovecotOptions o;
    o.introspection_url = tokens.url();
    dovecot.Start(o);
  }
};

Servers& Shared() {
  static Servers servers;
  return servers;
}

DovecotServer& Dovecot() {
  DovecotServer& d = Shared().dovecot;
  BOOST_REQUIRE_MESSAGE(d.ok(), "Dovecot is needed for this test: " << d.error());
  return d;
}

// ---- Configuration and running the binary.

struct Mailbox {
  std::string name = "rua";
  std::string user;
  int port = 0;
  std::string tls = "implicit";
  std::string ca_file;
  std::string folder = "INBOX";
  std::string archive = "Archive/DMARC";
  std::string invalid = "Archive/Invalid";
  std::string after_import = "move";
  std::string secret_key = "password_file";
  std::string secret_value;
  std::string extra;  // more TOML lines
};

std::string SecretFile(const TempDir& dir, const std::string& name, const std::string& value) {
  const std::string path = dir / name;
  WriteFile(path, value + "\n");
  chmod(path.c_str(), 0600);
  return path;
}

std::string Toml(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// Writes a configuration with these mailboxes (and extra top-level TOML).
std::string WriteConfig(const TempDir& dir, const std::vector<Mailbox>& boxes,
                        const std::string& extra = "") {
  std::ostringstream c;
  c << extra << "\n";
  for (const Mailbox& m : boxes) {
    c << "[[mailboxes]]\nname = " << Toml(m.name) << "\nhost = \"127.0.0.1\"\nport = " << m.port
      << "\ntls = " << Toml(m.tls) << "\nca_file = " << Toml(m.ca_file)
      << "\nusername = " << Toml(m.user) << "\n"
      << m.secret_key << " = " << Toml(m.secret_value) << "\nfolder = " << Toml(m.folder)
      << "\narchive_folder = " << Toml(m.archive) << "\ninvalid_folder = " << Toml(m.invalid)
      << "\nafter_import = " << Toml(m.after_import) << "\nconnect_timeout = \"10s\""
      << "\ncommand_timeout = \"20s\"\n"
      << m.extra << "\n";
  }
  const std::string path = dir / "dmarcwatch.toml";
  WriteFile(path, c.str());
  return path;
}

// A mailbox of a fresh user on the shared Dovecot, implicit TLS, password.
Mailbox FreshMailbox(const TempDir& dir, const std::string& user) {
  Mailbox m;
  m.user = user;
  m.port = Dovecot().imaps_port();
  m.ca_file = Dovecot().ca_file();
  m.secret_value = SecretFile(dir, user + ".secret", kDovecotPassword);
  return m;
}

RunResult Poll(const std::string& config, const std::string& db,
               const std::vector<std::string>& more = {}) {
  std::vector<std::string> args = {"--config", config, "--db", db, "--offline", "poll"};
  args.insert(args.end(), more.begin(), more.end());
  return RunDmarcwatch(args);
}

std::unique_ptr<store::Store> OpenStore(const std::string& db) {
  store::StoreOptions o;
  o.database = db;
  auto s = store::Store::Open(o);
  BOOST_REQUIRE_MESSAGE(s.ok(), Why(s));
  return std::move(*s);
}

std::vector<store::ReportRow> Reports(const std::string& db) {
  auto s = OpenStore(db);
  store::ReportFilter all;
  all.limit = 100000;
  auto rows = s->ListReports(all);
  BOOST_REQUIRE(rows.ok());
  return *rows;
}

std::size_t CountLines(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (std::size_t at = text.find(needle); at != std::string::npos;
       at = text.find(needle, at + needle.size())) {
    ++n;
  }
  return n;
}

// A one-record aggregate report email, distinct by `id`.
std::string ReportEmail(const std::string& id, const std::string& extra_header = "") {
  const std::string xml =
      "<?xml version=\"1.0\"?><feedback><report_metadata><org_name>imap.test</org_name>"
      "<email>r@imap.test</email><report_id>" +
      id +
      "</report_id><date_range><begin>1700000000</begin><end>1700086399</end></date_range>"
      "</report_metadata><policy_published><domain>example.com</domain><p>none</p>"
      "</policy_published><record><row><source_ip>192.0.2.9</source_ip><count>3</count>"
      "<policy_evaluated><disposition>none</disposition><dkim>pass</dkim><spf>pass</spf>"
      "</policy_evaluated></row><identifiers><header_from>example.com</header_from>"
      "</identifiers><auth_results><spf><domain>example.com</domain><result>pass</result>"
      "</spf></auth_results></record></feedback>";
  return "From: r@imap.test\r\nTo: dmarc@example.com\r\nSubject: Report Domain: example.com "
         "Report-ID: " +
         id + "\r\nMessage-ID: <" + id + "@imap.test>\r\n" + extra_header +
         "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n"
         "Content-Type: text/plain\r\n\r\nreport\r\n--b\r\nContent-Type: text/xml\r\n"
         "Content-Disposition: attachment; filename=\"r.xml\"\r\n\r\n" +
         xml + "\r\n--b--\r\n";
}

// The eml rows of the corpus's EXPECTED.tsv: file -> (type, report_id).
std::map<std::string, std::pair<std::string, std::string>> ExpectedEmails() {
  std::map<std::string, std::pair<std::string, std::string>> out;
  std::ifstream in(kCorpus / "EXPECTED.tsv");
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::vector<std::string> f;
    std::istringstream cells(line);
    for (std::string cell; std::getline(cells, cell, '\t');) f.push_back(cell);
    if (f.size() < 9 || f[0].rfind("eml/", 0) != 0) continue;
    out[f[0].substr(4)] = {f[4], f[8]};
  }
  return out;
}

std::multiset<std::string> AsSet(const std::vector<std::string>& v) {
  return std::multiset<std::string>(v.begin(), v.end());
}

std::uint32_t LastUidvalidity(const std::string& db, const std::string& mailbox) {
  auto s = OpenStore(db);
  auto runs = store::RecentIngestRuns(*s, store::SourceKind::kMailbox, mailbox, 1);
  BOOST_REQUIRE(runs.ok());
  BOOST_REQUIRE(!runs->empty());
  BOOST_REQUIRE(runs->front().uidvalidity.has_value());
  return *runs->front().uidvalidity;
}

Poco::JSON::Object::Ptr ParseJson(const std::string& text) {
  Poco::JSON::Parser parser;
  return parser.parse(text).extract<Poco::JSON::Object::Ptr>();
}

// ---- A scripted server for what a real one cannot be made to do.

// Accepts one connection on 127.0.0.1, sends `greeting`, and answers each
// command line by the first entry whose command word matches ("LOGIN",
// "SELECT", "UID FETCH"); "{tag}" in an answer becomes the command's tag.
// An empty greeting means: accept and say nothing.
class ScriptedServer {
 public:
  ScriptedServer(std::string greeting, std::vector<std::pair<std::string, std::string>> script)
      : greeting_(std::move(greeting)), script_(std::move(script)),
        socket_(Poco::Net::SocketAddress("127.0.0.1", 0)) {
    thread_ = std::thread([this] { Serve(); });
  }
  ~ScriptedServer() {
    stop_ = true;
    socket_.close();
    if (thread_.joinable()) thread_.join();
  }
  int port() const { return socket_.address().port(); }

 private:
  void Serve() {
    try {
      if (!socket_.poll(Poco::Timespan(20, 0), Poco::Net::Socket::SELECT_READ)) return;
      Poco::Net::StreamSocket peer = socket_.acceptConnection();
      if (!greeting_.empty()) peer.sendBytes(greeting_.data(), static_cast<int>(greeting_.size()));
      std::string pending;
      char buf[4096];
      while (!stop_) {
        if (!peer.poll(Poco::Timespan(0, 100000), Poco::Net::Socket::SELECT_READ)) continue;
        const int n = peer.receiveBytes(buf, sizeof(buf));
        if (n <= 0) return;
        pending.append(buf, static_cast<std::size_t>(n));
        for (std::size_t eol; (eol = pending.find("\r\n")) != std::string::npos;) {
          const std::string line = pending.substr(0, eol);
          pending.erase(0, eol + 2);
          const std::size_t space = line.find(' ');
          const std::string tag = line.substr(0, space);
          const std::string command = space == std::string::npos ? "" : line.substr(space + 1);
          for (const auto& [word, answer] : script_) {
            if (command.rfind(word, 0) != 0) continue;
            std::string reply = answer;
            for (std::size_t at; (at = reply.find("{tag}")) != std::string::npos;) {
              reply.replace(at, 5, tag);
            }
            peer.sendBytes(reply.data(), static_cast<int>(reply.size()));
            break;
          }
        }
      }
    } catch (const Poco::Exception&) {
      // The client went away: the test is over.
    }
  }

  std::string greeting_;
  std::vector<std::pair<std::string, std::string>> script_;
  Poco::Net::ServerSocket socket_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
};

ingest::ImapOptions ScriptedOptions(int port) {
  ingest::ImapOptions o;
  o.host = "127.0.0.1";
  o.port = port;
  o.tls = ingest::ImapTls::kNone;
  o.connect_timeout = std::chrono::milliseconds(2000);
  o.command_timeout = std::chrono::milliseconds(1500);
  o.session_timeout = std::chrono::milliseconds(20000);
  return o;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(imap, *boost::unit_test::label("integration"))

BOOST_AUTO_TEST_CASE(poll_imports_every_report_of_the_corpus_and_moves_every_message) {
  DovecotServer& d = Dovecot();
  TempDir dir("imap");
  const std::string user = "corpus";
  const auto expected = ExpectedEmails();
  BOOST_REQUIRE_GE(expected.size(), 20u);
  std::vector<std::string> aggregate_bytes, tls_bytes;
  std::set<std::string> report_ids;
  for (const auto& [file, what] : expected) {
    const std::string bytes = ReadFile((kCorpus / "eml" / file).string());
    d.Deliver(user, "INBOX", bytes);
    if (what.first == "aggregate") {
      aggregate_bytes.push_back(bytes);
      report_ids.insert(what.second);
    } else {
      tls_bytes.push_back(bytes);
    }
  }
  BOOST_REQUIRE_GT(tls_bytes.size(), 0u);
  const std::string config = WriteConfig(dir, {FreshMailbox(dir, user)});
  const std::string db = dir / "t.db";

  RunResult r = Poll(config, db);
  BOOST_TEST_MESSAGE(r.output);
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.output);
  // Every aggregate report is stored, once.
  const auto rows = Reports(db);
  std::set<std::string> stored;
  for (const auto& row : rows) stored.insert(row.report_id);
  BOOST_TEST(rows.size() == report_ids.size());
  BOOST_TEST((stored == report_ids));
  // Every message went where it belongs: report emails to Archive/DMARC
  // (on Dovecot "Archive.DMARC", created by the poll), the TLS-report
  // emails to Archive/Invalid, with their reason.
  BOOST_TEST(d.Messages(user, "INBOX").empty());
  BOOST_TEST((AsSet(d.Messages(user, "Archive.DMARC")) == AsSet(aggregate_bytes)));
  BOOST_TEST((AsSet(d.Messages(user, "Archive.Invalid")) == AsSet(tls_bytes)));
  BOOST_TEST(CountLines(r.output, "invalid (smtp_tls_report), goes to Archive/Invalid") ==
             tls_bytes.size());
  BOOST_TEST(CountLines(r.output, "imported, goes to Archive/DMARC") == aggregate_bytes.size());
  {
    auto s = OpenStore(db);
    auto messages = store::ListMailboxMessages(*s, "rua", "INBOX", LastUidvalidity(db, "rua"));
    BOOST_REQUIRE(messages.ok());
    BOOST_TEST(messages->size() == expected.size());
    for (const auto& m : *messages) {
      BOOST_TEST((m.state == store::MessageState::kMoved));
      BOOST_TEST(m.input_id.has_value());
      BOOST_TEST(m.sha256.has_value());
      if (!m.usable) BOOST_TEST(m.reason == "smtp_tls_report");
    }
  }

  // A second poll finds nothing new and stores nothing again.
  r = Poll(config, db);
  BOOST_TEST(r.exit_code == 0, r.output);
  BOOST_TEST(r.output.find("rua: messages 0 (0 imported, 0 invalid)") != std::string::npos,
             r.output);
  BOOST_TEST(Reports(db).size() == report_ids.size());
}

BOOST_AUTO_TEST_CASE(hostile_messages_go_to_the_invalid_folder_with_their_reason) {
  DovecotServer& d = Dovecot();
  TempDir dir("imap");
  const std::string user = "hostile";
  const std::string good = ReportEmail("hostile-good");
  // Over max_message_bytes (64 KiB here): never fetched.
  const std::string huge = ReportEmail("hostile-huge", "X-Padding: " + std::string(200000, 'p') +
                                                           "\r\n");
  // A report that forbids itself: a DOCTYPE.
  std::string doctype = ReportEmail("hostile-doctype");
  doctype.replace(doctype.find("<feedback>"), 10,
                  "<!DOCTYPE feedback [<!ENTITY x \"y\">]><feedback>");
  // Not a report at all, and bytes that are not even an email.
  const std::string no_report =
      "From: a@b.test\r\nSubject: hello\r\n\r\nJust text, no report.\r\n";
  const std::string garbage = std::string("\x00\x01\xff garbage \x1b[2J", 16) + std::string(300, '\x7f');
  for (const std::string& m : {good, huge, doctype, no_report, garbage}) d.Deliver(user, "INBOX", m);

  Mailbox m = FreshMailbox(dir, user);
  m.extra = "max_message_bytes = 65536";
  const std::string config = WriteConfig(dir, {m});
  const std::string db = dir / "t.db";
  RunResult r = Poll(config, db);
  BOOST_TEST_MESSAGE(r.output);
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.output);

  BOOST_TEST((AsSet(d.Messages(user, "Archive.DMARC")) == AsSet({good})));
  BOOST_TEST((AsSet(d.Messages(user, "Archive.Invalid")) ==
              AsSet({huge, doctype, no_report, garbage})));
  BOOST_TEST(d.Messages(user, "INBOX").empty());
  BOOST_TEST(r.output.find("invalid (max_message_bytes), " ) != std::string::npos, r.output);
  BOOST_TEST(r.output.find("bytes, not fetched") != std::string::npos, r.output);
  BOOST_TEST(r.output.find("invalid (doctype_forbidden)") != std::string::npos, r.output);

  auto s = OpenStore(db);
  auto messages = store::ListMailboxMessages(*s, "rua", "INBOX", LastUidvalidity(db, "rua"));
  BOOST_REQUIRE(messages.ok());
  BOOST_REQUIRE_EQUAL(messages->size(), 5u);
  std::multiset<std::string> reasons;
  for (const auto& msg : *messages) {
    reasons.insert(msg.reason);
    if (msg.reason == "max_message_bytes") {
      BOOST_TEST(!msg.sha256.has_value());  // never fetched
      BOOST_TEST(!msg.input_id.has_value());
      BOOST_TEST(msg.size > 65536u);
    }
  }
  BOOST_TEST(reasons.count("") == 1u);
  BOOST_TEST(reasons.count("max_message_bytes") == 1u);
  BOOST_TEST(reasons.count("doctype_forbidden") == 1u);
  BOOST_TEST(reasons.size() == 5u);
  // `dmarcwatch rejected` lists the message that was too large.
  auto rejects = s->ListRejects(100, 0);
  BOOST_REQUIRE(rejects.ok());
  bool listed = false;
  for (const auto& j : *rejects) listed = listed || j.reason == "max_message_bytes";
  BOOST_TEST(listed);
  BOOST_TEST(Reports(db).size() == 1u);
}

// Each of the `seeded` messages (one report of `rows` rows each) gave one
// stored report, and was moved to the archive exactly once: none left in
// the inbox, none archived twice, none invalid.
void CheckEachMessageTakenOnce(DovecotServer& d, const std::string& user, const std::string& db,
                               const std::vector<std::string>& seeded, std::uint64_t rows) {
  auto s = OpenStore(db);
  auto t = s->GetTotals();
  BOOST_REQUIRE(t.ok());
  BOOST_TEST(t->reports == seeded.size());
  BOOST_TEST(t->conflicts == 0u);
  BOOST_TEST(t->records == seeded.size() * rows);
  std::set<std::string> ids;
  for (const auto& row : Reports(db)) ids.insert(row.report_id);
  BOOST_TEST(ids.size() == seeded.size());
  BOOST_TEST(d.Messages(user, "INBOX").empty());
  BOOST_TEST(d.Messages(user, "Archive.Invalid").empty());
  BOOST_TEST((AsSet(d.Messages(user, "Archive.DMARC")) == AsSet(seeded)));
}

BOOST_AUTO_TEST_CASE(a_poll_killed_midway_completes_on_the_next_run_without_loss_or_doubles) {
  DovecotServer& d = Dovecot();
  TempDir dir("imap");
  const std::string user = "crash";
  constexpr std::uint64_t kReports = 300;
  constexpr std::uint64_t kRows = 5;
  dmarcwatch::bench::SyntheticOptions g;
  g.reports = kReports;
  g.rows_per_report = kRows;
  g.formats = {dmarcwatch::bench::Container::kEmail};
  std::vector<std::string> seeded;
  auto built = dmarcwatch::bench::BuildSynthetic(g, [&](const dmarcwatch::bench::GeneratedFile& f) {
    seeded.push_back(f.bytes);
    return dmarcwatch::Status::Ok();
  });
  BOOST_REQUIRE(built.ok());
  BOOST_REQUIRE_EQUAL(seeded.size(), kReports);
  for (const std::string& m : seeded) d.Deliver(user, "INBOX", m);
  const std::string config = WriteConfig(dir, {FreshMailbox(dir, user)});
  const std::string db = dir / "t.db";

  const std::string log = dir / "poll.log";
  const pid_t pid = dmarcwatch::testing::Spawn(
      {kBinary, "--config", config, "--db", db, "--offline", "--log-level", "information", "poll"},
      dmarcwatch::testing::SpawnOptions(log, SIGKILL));
  BOOST_REQUIRE_GT(pid, 0);
  // Kill it once some, but not all, reports are in: past 100, so that the
  // first batch of moves (PollerOptions::move_batch) is done and the
  // messages after it are committed but not moved. One reader, opened once
  // the poll has made the store, counts them.
  std::unique_ptr<store::Store> reader;
  std::uint64_t seen = 0;
  int status = 0;
  bool exited = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (std::chrono::steady_clock::now() < deadline) {
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      exited = true;
      break;
    }
    if (!reader && fs::exists(db)) {
      store::StoreOptions o;
      o.database = db;
      auto s = store::Store::Open(o);
      if (s.ok()) reader = std::move(*s);
    }
    if (reader) {
      auto t = reader->GetTotals();
      if (t.ok()) seen = t->reports;
    }
    if (seen >= 120) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  reader.reset();
  BOOST_REQUIRE_MESSAGE(!exited, "the poll ended by itself (status " << status << ") with " << seen
                                     << " reports seen; its log:\n" << ReadFile(log));
  BOOST_REQUIRE_MESSAGE(seen >= 120, "only " << seen << " reports in 120 s; the poll's log:\n"
                                             << ReadFile(log));
  BOOST_REQUIRE_EQUAL(::kill(pid, SIGKILL), 0);
  ::waitpid(pid, &status, 0);
  BOOST_REQUIRE_MESSAGE(WIFSIGNALED(status), "the poll finished before it could be killed");
  const std::uint64_t after_kill = [&] {
    auto s = OpenStore(db);
    auto t = s->GetTotals();
    BOOST_REQUIRE(t.ok());
    BOOST_TEST(t->records == t->reports * kRows);  // whole reports only
    return t->reports;
  }();
  BOOST_TEST_MESSAGE("killed with " << after_kill << " of " << kReports << " reports stored, "
                                    << d.Messages(user, "Archive.DMARC").size()
                                    << " messages archived");
  BOOST_TEST(after_kill >= 120u);
  BOOST_TEST(after_kill < kReports);
  BOOST_TEST(d.Messages(user, "Archive.DMARC").size() >= 100u);
  BOOST_TEST(d.Messages(user, "INBOX").size() > 0u);

  RunResult r = Poll(config, db, {"--quiet"});
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.output);
  CheckEachMessageTakenOnce(d, user, db, seeded, kRows);
  auto s = OpenStore(db);
  // The killed poll's run is recorded as unfinished.
  auto runs = store::RecentIngestRuns(*s, store::SourceKind::kMailbox, "rua", 10);
  BOOST_REQUIRE(runs.ok());
  BOOST_REQUIRE_EQUAL(runs->size(), 2u);
  BOOST_TEST(runs->at(0).finished_at.has_value());
  BOOST_TEST(!runs->at(1).finished_at.has_value());
}

// Two `poll` processes started at once on one mailbox and one store: the
// store's mailbox lock lets one poll it at a time, so every message is
// imported and moved exactly once, and neither process fails. On SQLite (a
// lock file) and on a shared PostgreSQL (an advisory lock).
BOOST_AUTO_TEST_CASE(two_pollers_sharing_a_store_take_each_message_once) {
  PostgresServer& pg = PostgresServer::Shared();
  BOOST_REQUIRE_MESSAGE(pg.ok(), "no PostgreSQL server: " + pg.error());
  DovecotServer& d = Dovecot();
  TempDir dir("pollers");
  constexpr std::uint64_t kReports = 200;
  constexpr std::uint64_t kRows = 5;
  dmarcwatch::bench::SyntheticOptions g;
  g.reports = kReports;
  g.rows_per_report = kRows;
  g.seed = 7;
  g.formats = {dmarcwatch::bench::Container::kEmail};
  std::vector<std::string> seeded;
  BOOST_REQUIRE(dmarcwatch::bench::BuildSynthetic(g, [&](const dmarcwatch::bench::GeneratedFile& f) {
                  seeded.push_back(f.bytes);
                  return dmarcwatch::Status::Ok();
                }).ok());
  BOOST_REQUIRE_EQUAL(seeded.size(), kReports);

  const std::vector<std::pair<std::string, std::string>> stores = {
      {"pair-sqlite", dir / "t.db"}, {"pair-pg", pg.CreateDatabase()}};
  for (const auto& [user, db] : stores) {
    BOOST_TEST_CONTEXT(user) {
      for (const std::string& m : seeded) d.Deliver(user, "INBOX", m);
      const std::string config = WriteConfig(dir, {FreshMailbox(dir, user)});
      std::vector<pid_t> pids;
      for (int w = 0; w < 2; ++w) {
        pids.push_back(dmarcwatch::testing::Spawn(
            {kBinary, "--config", config, "--db", db, "--offline", "poll"},
            dmarcwatch::testing::SpawnOptions(dir / (user + std::to_string(w) + ".log"))));
        BOOST_REQUIRE_GT(pids.back(), 0);
      }
      int skipped = 0;
      for (int w = 0; w < 2; ++w) {
        int status = 0;
        ::waitpid(pids[w], &status, 0);
        const std::string log = ReadFile(dir / (user + std::to_string(w) + ".log"));
        BOOST_TEST((WIFEXITED(status) && WEXITSTATUS(status) == 0), "poll " << w << ": " << log);
        skipped += log.find("another dmarcwatch process is polling it") != std::string::npos;
      }
      BOOST_TEST_MESSAGE(user << ": pollers that found the mailbox locked: " << skipped);

      CheckEachMessageTakenOnce(d, user, db, seeded, kRows);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_uidvalidity_change_reads_the_messages_again_without_doubles) {
  DovecotServer& d = Dovecot();
  TempDir dir("imap");
  const std::string user = "uidvalidity";
  for (int i = 0; i < 3; ++i) d.Deliver(user, "INBOX", ReportEmail("uidv-" + std::to_string(i)));
  Mailbox m = FreshMailbox(dir, user);
  m.after_import = "mark";
  const std::string config = WriteConfig(dir, {m});
  const std::string db = dir / "t.db";

  RunResult r = Poll(config, db);
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.output);
  BOOST_TEST(r.output.find("reports: 3 new") != std::string::npos, r.output);
  // Marked, not moved: still in the folder, flagged \Seen.
  BOOST_TEST(d.Messages(user, "INBOX").size() == 3u);
  const auto names = d.CurNames(user, "INBOX");
  BOOST_REQUIRE_EQUAL(names.size(), 3u);
  for (const auto& n : names) BOOST_TEST(n.substr(n.find(":2,")).find('S') != std::string::npos, n);
  const std::uint32_t before = LastUidvalidity(db, "rua");

  // Known messages are not read again.
  r = Poll(config, db);
  BOOST_TEST(r.output.find("rua: messages 0 (") != std::string::npos, r.output);

  // The server renumbers the folder: what was recorded is not trusted.
  std::string out;
  BOOST_REQUIRE_MESSAGE(
      d.Doveadm("mailbox update -u " + user + " --uid-validity " + std::to_string(before + 1000) +
                    " INBOX",
                &out) == 0,
      out);
  r = Poll(config, db);
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.output);
  BOOST_TEST(r.output.find("UIDVALIDITY changed") != std::string::npos, r.output);
  BOOST_TEST(r.output.find("rua: messages 3 (3 imported, 0 invalid)") != std::string::npos,
             r.output);
  BOOST_TEST(r.output.find("reports: 0 new, 3 duplicate") != std::string::npos, r.output);
  BOOST_TEST(LastUidvalidity(db, "rua") == before + 1000);
  BOOST_TEST(Reports(db).size() == 3u);
  BOOST_TEST(d.Messages(user, "INBOX").size() == 3u);
}

BOOST_AUTO_TEST_CASE(starttls_and_implicit_tls_both_work) {
  DovecotServer& d = Dovecot();
  TempDir dir("imap");
  d.Deliver("tls-implicit", "INBOX", ReportEmail("tls-implicit"));
  d.Deliver("tls-starttls", "INBOX", ReportEmail("tls-starttls"));
  Mailbox implicit = FreshMailbox(dir, "tls-implicit");
  implicit.name = "implicit";
  Mailbox starttls = FreshMailbox(dir, "tls-starttls");
  starttls.name = "starttls";
  starttls.tls = "starttls";
  starttls.port = d.imap_port();
  const std::string config = WriteConfig(dir, {implicit, starttls});
  const std::string db = dir / "t.db";
  RunResult r = Poll(config, db);
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.output);
  BOOST_TEST(Reports(db).size() == 2u);
  BOOST_TEST(d.Messages("tls-starttls", "Archive.DMARC").size() == 1u);
  BOOST_TEST(d.Messages("tls-implicit", "Archive.DMARC").size() == 1u);
  // Dovecot says each login came over TLS: STARTTLS really upgraded. Its
  // log process writes the lines when it gets to them.
  dmarcwatch::testing::WaitFor([&] {
    const std::string now = d.log();
    return now.find("Login: user=<tls-starttls>") != std::string::npos &&
           now.find("Login: user=<tls-implicit>") != std::string::npos;
  }, std::chrono::seconds(10));
  const std::string log = d.log();
  for (const char* u : {"tls-starttls", "tls-implicit"}) {
    const std::size_t at = log.find(std::string("Login: user=<") + u + ">");
    BOOST_REQUIRE_MESSAGE(at != std::string::npos, log);
    const std::string line = log.substr(at, log.find('\n', at) - at);
    BOOST_TEST(line.find(", TLS") != std::string::npos, line);
  }
}

BOOST_AUTO_TEST_CASE(a_wrong_certificate_or_host_name_is_refused) {
  DovecotServer& d = Dovecot();
  TempDir dir("imap");
  const std::string user = "wrongcert";
  d.Deliver(user, "INBOX", ReportEmail("wrongcert"));
  const std::string db = dir / "t.db";

  // Trusting another CA: the server's certificate is not trusted.
  Mailbox m = FreshMailbox(dir, user);
  m.ca_file = d.other_ca_file();
  RunResult r = Poll(WriteConfig(dir, {m}), db);
  BOOST_TEST(r.exit_code == 1, r.output);
  BOOST_TEST(r.output.find("certificate_refused") != std::string::npos, r.output);
  BOOST_TEST(r.output.find("not trusted") != std::string::npos, r.output);
  // The system's CAs do not trust a self-signed certificate either.
  m.ca_file = "";
  r = Poll(WriteConfig(dir, {m}), db);
  BOOST_TEST(r.exit_code == 1, r.output);
  BOOST_TEST(r.output.find("certificate_refused") != std::string::npos, r.output);
  // The same over STARTTLS.
  m.ca_file = d.other_ca_file();
  m.tls = "starttls";
  m.port = d.imap_port();
  r = Poll(WriteConfig(dir, {m}), db);
  BOOST_TEST(r.exit_code == 1, r.output);
  BOOST_TEST(r.output.find("certificate_refused") != std::string::npos, r.output);

  // A trusted certificate for another host name.
  DovecotServer other;
  DovecotOptions o;
  o.wrong_host = true;
  other.Start(o);
  BOOST_REQUIRE_MESSAGE(other.ok(), other.error());
  other.Deliver(user, "INBOX", ReportEmail("wrongcert"));
  Mailbox w = FreshMailbox(dir, user);
  w.port = other.imaps_port();
  w.ca_file = other.ca_file();
  r = Poll(WriteConfig(dir, {w}), db);
  BOOST_TEST(r.exit_code == 1, r.output);
  BOOST_TEST(r.output.find("certificate is not valid for 127.0.0.1") != std::string::npos,
             r.output);
  BOOST_TEST(other.log().find("Login: user=") == std::string::npos);
  other.Stop();

  // Nothing was read, nothing moved, and status says why.
  BOOST_TEST(d.Messages(user, "INBOX").size() == 1u);
  BOOST_TEST(d.log().find("Login: user=<" + user + ">") == std::string::npos);
  BOOST_TEST(Reports(db).empty());
  r = RunDmarcwatch({"--config", dir / "dmarcwatch.toml", "--db", db, "status", "--format", "json"},
                    false);
  auto json = ParseJson(r.output);
  auto box = json->getArray("mailboxes")->getObject(0);
  BOOST_TEST(box->getObject("last_poll")->getValue<std::string>("result") == "failed");
  BOOST_TEST(box->getObject("last_error")->getValue<std::string>("reason") ==
             "certificate_refused");
  BOOST_TEST(box->getValue<int>("failure_streak") == 4);
}

BOOST_AUTO_TEST_CASE(xoauth2_logs_in_and_replaces_an_expired_token) {
  DovecotServer& d = Dovecot();
  TokenEndpoint& tokens = Shared().tokens;
  TempDir dir("imap");
  const std::string user = "oauth-user";
  tokens.Allow("fresh-token", user);
  d.Deliver(user, "INBOX", ReportEmail("oauth-1"));
  // The command's first token has expired (the endpoint says it is not
  // active); run again, it prints a current one.
  const std::string counter = dir / "runs";
  const std::string script = dir / "token.sh";
  WriteFile(script,
            "#!/bin/sh\nn=$(cat '" + counter + "' 2>/dev/null || echo 0)\nn=$((n+1))\necho $n > '" +
                counter + "'\nif [ $n -eq 1 ]; then echo expired-token-1; else echo fresh-token; fi\n");
  chmod(script.c_str(), 0700);
  Mailbox m = FreshMailbox(dir, user);
  m.secret_key = "oauth2_token_command";
  m.secret_value = script;
  const std::string config = WriteConfig(dir, {m});
  const std::string db = dir / "t.db";
  RunResult r = Poll(config, db);
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.output);
  BOOST_TEST(ReadFile(counter) == "2\n");
  BOOST_TEST(Reports(db).size() == 1u);
  BOOST_TEST(d.Messages(user, "Archive.DMARC").size() == 1u);
  const auto asked = tokens.asked();
  BOOST_TEST((std::find(asked.begin(), asked.end(), "expired-token-1") != asked.end()));
  BOOST_TEST((std::find(asked.begin(), asked.end(), "fresh-token") != asked.end()));
  // Never a token in what is printed or logged.
  r = Poll(config, db, {"--log-level", "debug"});
  BOOST_TEST(r.exit_code == 0, r.output);
  BOOST_TEST(r.output.find("fresh-token") == std::string::npos, r.output);
  BOOST_TEST(r.output.find("mechanism=XOAUTH2") != std::string::npos, r.output);

  // A token in a file.
  d.Deliver(user, "INBOX", ReportEmail("oauth-2"));
  tokens.Allow("file-token", user);
  Mailbox f = FreshMailbox(dir, user);
  f.secret_key = "oauth2_token_file";
  f.secret_value = SecretFile(dir, "token", "file-token");
  r = Poll(WriteConfig(dir, {f}), db);
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.output);
  BOOST_TEST(Reports(db).size() == 2u);

  // A token refused twice: the login fails, with the server's challenge.
  d.Deliver(user, "INBOX", ReportEmail("oauth-3"));
  f.secret_value = SecretFile(dir, "token", "revoked-token");
  r = Poll(WriteConfig(dir, {f}), db);
  BOOST_TEST(r.exit_code == 1, r.output);
  BOOST_TEST(r.output.find("token_refused") != std::string::npos, r.output);
  BOOST_TEST(r.output.find("'status':'401'") != std::string::npos, r.output);
  BOOST_TEST(r.output.find("revoked-token") == std::string::npos, r.output);
  BOOST_TEST(d.Messages(user, "INBOX").size() == 1u);
}

BOOST_AUTO_TEST_CASE(a_wrong_password_fails_the_poll_and_is_never_printed) {
  DovecotServer& d = Dovecot();
  TempDir dir("imap");
  d.Deliver("badpass", "INBOX", ReportEmail("badpass"));
  Mailbox m = FreshMailbox(dir, "badpass");
  m.secret_value = SecretFile(dir, "bad.secret", "not-the-password-42");
  const std::string db = dir / "t.db";
  RunResult r = Poll(WriteConfig(dir, {m}), db, {"--log-level", "debug"});
  BOOST_TEST(r.exit_code == 1, r.output);
  BOOST_TEST(r.output.find("auth_failed") != std::string::npos, r.output);
  BOOST_TEST(r.output.find("not-the-password-42") == std::string::npos, r.output);
  BOOST_TEST(d.Messages("badpass", "INBOX").size() == 1u);
}

BOOST_AUTO_TEST_CASE(folder_names_use_the_server_delimiter_and_missing_folders_are_created) {
  DovecotServer& d = Dovecot();
  TempDir dir("imap");
  const std::string user = "folders";
  // The polled folder is itself nested: "Incoming/DMARC" is
  // "Incoming.DMARC" on Dovecot.
  d.Deliver(user, "Incoming.DMARC", ReportEmail("folders-1"));
  d.Deliver(user, "Incoming.DMARC", "Subject: nothing\r\n\r\nno report\r\n");
  Mailbox m = FreshMailbox(dir, user);
  m.folder = "Incoming/DMARC";
  m.archive = "Reports/2026/Done";
  m.invalid = "Reports/Bad Ones";
  const std::string db = dir / "t.db";
  RunResult r = Poll(WriteConfig(dir, {m}), db);
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.output);
  BOOST_TEST(d.Messages(user, "Reports.2026.Done").size() == 1u);
  BOOST_TEST(d.Messages(user, "Reports.Bad Ones").size() == 1u);
  BOOST_TEST(d.Messages(user, "Incoming.DMARC").empty());
  std::string list;
  BOOST_REQUIRE_EQUAL(d.Doveadm("mailbox list -u " + user, &list), 0);
  BOOST_TEST(list.find("Reports.2026.Done") != std::string::npos, list);
  BOOST_TEST(list.find("Reports.Bad Ones") != std::string::npos, list);

  // A level holding the server's delimiter is refused, not misfiled.
  m.archive = "Archive/v1.2";
  d.Deliver(user, "Incoming.DMARC", ReportEmail("folders-2"));
  r = Poll(WriteConfig(dir, {m}), db);
  BOOST_TEST(r.exit_code == 1, r.output);
  BOOST_TEST(r.output.find("bad_folder_name") != std::string::npos, r.output);
  BOOST_TEST(d.Messages(user, "Incoming.DMARC").size() == 1u);
}

BOOST_AUTO_TEST_CASE(moves_with_uid_move_or_copy_store_expunge) {
  struct Case {
    const char* capability;  // "" for Dovecot's own
    const char* method;
  };
  const Case cases[] = {
      {"", "move"},
      {"IMAP4rev1 SASL-IR LITERAL+ ID ENABLE IDLE NAMESPACE UIDPLUS", "copy+uid expunge"},
      {"IMAP4rev1 SASL-IR LITERAL+ ID ENABLE IDLE NAMESPACE", "copy+expunge"},
  };
  for (const Case& c : cases) {
    BOOST_TEST_CONTEXT(c.method) {
      DovecotServer server;
      DovecotOptions o;
      o.imap_capability = c.capability;
      server.Start(o);
      BOOST_REQUIRE_MESSAGE(server.ok(), server.error());
      const std::string user = "mover";
      for (int i = 0; i < 3; ++i) server.Deliver(user, "INBOX", ReportEmail("move-" + std::to_string(i)));
      // A message flagged \Deleted by someone else: UNDELETED leaves it out.
      ingest::ImapOptions io;
      io.host = "127.0.0.1";
      io.port = server.imaps_port();
      io.ca_file = server.ca_file();
      auto client = ingest::ImapClient::Connect(io);
      BOOST_REQUIRE_MESSAGE(client.ok(), Why(client));
      ingest::ImapCredentials creds;
      creds.username = user;
      creds.password = kDovecotPassword;
      BOOST_REQUIRE((*client)->Authenticate(creds).ok());
      BOOST_TEST((*client)->HasCapability("MOVE") == (std::string(c.method) == "move"));
      auto created = (*client)->EnsureFolder("Done/Here");
      BOOST_REQUIRE(created.ok());
      BOOST_TEST(*created);
      auto again = (*client)->EnsureFolder("Done/Here");
      BOOST_REQUIRE(again.ok());
      BOOST_TEST(!*again);
      auto selected = (*client)->Select("INBOX");
      BOOST_REQUIRE(selected.ok());
      BOOST_TEST(selected->exists == 3u);
      BOOST_TEST(selected->uidvalidity != 0u);
      auto uids = (*client)->SearchUids("UNDELETED");
      BOOST_REQUIRE(uids.ok());
      BOOST_REQUIRE_EQUAL(uids->size(), 3u);
      auto sizes = (*client)->FetchSizes(*uids);
      BOOST_REQUIRE(sizes.ok());
      BOOST_REQUIRE_EQUAL(sizes->size(), 3u);
      auto body = (*client)->FetchMessage(uids->front());
      BOOST_REQUIRE(body.ok());
      BOOST_TEST(body->size() == sizes->front().size);
      const std::vector<std::uint32_t> two(uids->begin(), uids->begin() + 2);
      BOOST_REQUIRE((*client)->Move(two, "Done/Here").ok());
      BOOST_TEST((*client)->last_move_method() == c.method);
      auto left = (*client)->SearchUids("UNDELETED");
      BOOST_REQUIRE(left.ok());
      BOOST_TEST(left->size() == 1u);
      BOOST_TEST((*client)->Logout().ok());
      BOOST_TEST(server.Messages(user, "Done.Here").size() == 2u);
      BOOST_TEST(server.Messages(user, "INBOX").size() == 1u);
      // And end to end through the poller.
      TempDir dir("imap");
      Mailbox m;
      m.user = user;
      m.port = server.imaps_port();
      m.ca_file = server.ca_file();
      m.secret_value = SecretFile(dir, "p", kDovecotPassword);
      RunResult r = Poll(WriteConfig(dir, {m}), dir / "t.db");
      BOOST_TEST(r.exit_code == 0, r.output);
      BOOST_TEST(server.Messages(user, "INBOX").empty());
      BOOST_TEST(server.Messages(user, "Archive.DMARC").size() == 1u);
      server.Stop();
    }
  }
}

BOOST_AUTO_TEST_CASE(status_shows_the_last_poll_and_the_counts) {
  DovecotServer& d = Dovecot();
  TempDir dir("imap");
  const std::string user = "status";
  d.Deliver(user, "INBOX", ReportEmail("status-1"));
  d.Deliver(user, "INBOX", ReportEmail("status-2"));
  d.Deliver(user, "INBOX", "Subject: nothing\r\n\r\nno report\r\n");
  const std::string watched = dir / "watched";
  fs::create_directories(watched);
  const std::string config =
      WriteConfig(dir, {FreshMailbox(dir, user)}, "[[watch]]\npath = " + Toml(watched) + "\n");
  const std::string db = dir / "t.db";
  RunResult r = Poll(config, db);
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.output);

  r = RunDmarcwatch({"--config", config, "--db", db, "status", "--format", "json"}, false);
  BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.output);
  auto json = ParseJson(r.output);
  BOOST_TEST(json->getValue<int>("version") == 1);
  auto box = json->getArray("mailboxes")->getObject(0);
  BOOST_TEST(box->getValue<std::string>("name") == "rua");
  auto last = box->getObject("last_poll");
  BOOST_TEST(last->getValue<std::string>("result") == "ok");
  BOOST_TEST(last->getValue<int>("seen") == 3);
  BOOST_TEST(last->getValue<int>("imported") == 2);
  BOOST_TEST(last->getValue<int>("invalid") == 1);
  BOOST_TEST(last->getValue<int>("moved") == 3);
  BOOST_TEST(last->getValue<int>("reports_new") == 2);
  BOOST_TEST(last->isNull("error"));
  BOOST_TEST(box->isNull("last_error"));
  BOOST_TEST(json->getObject("store")->getValue<int>("reports") == 2);
  auto watch = json->getArray("watch")->getObject(0);
  BOOST_TEST(watch->getValue<std::string>("path") == watched);
  BOOST_TEST(watch->isNull("last_scan"));

  // A second poll adds to the totals; a failed one shows its error.
  d.Deliver(user, "INBOX", ReportEmail("status-3"));
  BOOST_REQUIRE_EQUAL(Poll(config, db).exit_code, 0);
  Mailbox bad = FreshMailbox(dir, user);
  bad.secret_value = SecretFile(dir, "wrong", "wrong-password");
  const std::string bad_config =
      WriteConfig(dir, {bad}, "[[watch]]\npath = " + Toml(watched) + "\n");
  BOOST_REQUIRE_EQUAL(Poll(bad_config, db).exit_code, 1);
  r = RunDmarcwatch({"--config", bad_config, "--db", db, "status", "--format", "json"}, false);
  json = ParseJson(r.output);
  box = json->getArray("mailboxes")->getObject(0);
  BOOST_TEST(box->getObject("last_poll")->getValue<std::string>("result") == "failed");
  BOOST_TEST(box->getObject("last_poll")->getObject("error")->getValue<std::string>("reason") ==
             "auth_failed");
  auto total = box->getObject("total");
  BOOST_TEST(total->getValue<int>("runs") == 3);
  BOOST_TEST(total->getValue<int>("failed") == 1);
  BOOST_TEST(total->getValue<int>("seen") == 4);
  BOOST_TEST(total->getValue<int>("imported") == 3);
  BOOST_TEST(total->getValue<int>("invalid") == 1);
  BOOST_TEST(box->getValue<int>("failure_streak") == 1);
  BOOST_TEST(box->getObject("last_error")->getValue<std::string>("reason") == "auth_failed");

  r = RunDmarcwatch({"--config", bad_config, "--db", db, "status"});
  BOOST_TEST(r.exit_code == 0, r.output);
  BOOST_TEST(r.output.find("failed (auth_failed)") != std::string::npos, r.output);
  BOOST_TEST(r.output.find("store: 3 reports") != std::string::npos, r.output);
}

// ---- Timeouts and limits against scripted servers.

BOOST_AUTO_TEST_CASE(a_silent_server_times_out) {
  ScriptedServer silent("", {});
  const auto started = std::chrono::steady_clock::now();
  auto client = ingest::ImapClient::Connect(ScriptedOptions(silent.port()));
  const auto took = std::chrono::steady_clock::now() - started;
  BOOST_REQUIRE(!client.ok());
  BOOST_TEST(client.status().reason() == "command_timeout");
  BOOST_TEST((took < std::chrono::seconds(5)));

  // The total deadline cuts a session short whatever the per-read timeout.
  ScriptedServer slow("", {});
  ingest::ImapOptions o = ScriptedOptions(slow.port());
  o.command_timeout = std::chrono::milliseconds(10000);
  o.session_timeout = std::chrono::milliseconds(800);
  auto cut = ingest::ImapClient::Connect(o);
  BOOST_REQUIRE(!cut.ok());
  BOOST_TEST(cut.status().reason() == "session_timeout");

  // A TLS handshake that never comes.
  ScriptedServer mute("", {});
  o = ScriptedOptions(mute.port());
  o.tls = ingest::ImapTls::kImplicit;
  o.connect_timeout = std::chrono::milliseconds(700);
  auto handshake = ingest::ImapClient::Connect(o);
  BOOST_REQUIRE(!handshake.ok());
  BOOST_TEST((handshake.status().code() == dmarcwatch::StatusCode::kTimeout),
             handshake.status().ToString());
}

BOOST_AUTO_TEST_CASE(a_server_breaking_the_limits_is_cut_off) {
  // A greeting longer than a line may be.
  ScriptedServer long_line("* OK " + std::string(9000, 'x') + "\r\n", {});
  auto client = ingest::ImapClient::Connect(ScriptedOptions(long_line.port()));
  BOOST_REQUIRE(!client.ok());
  BOOST_TEST(client.status().reason() == "max_line_bytes");

  // A body literal over max_message_bytes is refused from its header, not
  // read: the server never sends the bytes, and the answer comes at once.
  ScriptedServer liar("* OK [CAPABILITY IMAP4rev1 LITERAL+] ready\r\n",
                      {{"LOGIN", "{tag} OK [CAPABILITY IMAP4rev1] in\r\n"},
                       {"LIST", "* LIST () \"/\" \"\"\r\n{tag} OK done\r\n"},
                       {"SELECT",
                        "* 1 EXISTS\r\n* OK [UIDVALIDITY 7] ok\r\n{tag} OK [READ-WRITE] done\r\n"},
                       {"UID FETCH", "* 1 FETCH (UID 1 BODY[] {900000000}\r\n"}});
  ingest::ImapOptions o = ScriptedOptions(liar.port());
  o.max_message_bytes = 1024 * 1024;
  o.command_timeout = std::chrono::milliseconds(8000);
  auto c = ingest::ImapClient::Connect(o);
  BOOST_REQUIRE_MESSAGE(c.ok(), Why(c));
  ingest::ImapCredentials creds;
  creds.username = "u";
  creds.password = "p";
  BOOST_REQUIRE((*c)->Authenticate(creds).ok());
  auto selected = (*c)->Select("INBOX");
  BOOST_REQUIRE_MESSAGE(selected.ok(), Why(selected));
  BOOST_TEST(selected->uidvalidity == 7u);
  const auto started = std::chrono::steady_clock::now();
  auto body = (*c)->FetchMessage(1);
  BOOST_REQUIRE(!body.ok());
  BOOST_TEST(body.status().reason() == "max_message_bytes");
  BOOST_TEST((std::chrono::steady_clock::now() - started < std::chrono::seconds(4)));
  // The connection is given up after a protocol error.
  BOOST_TEST((*c)->Select("INBOX").status().reason() == "connection_unusable");
}

BOOST_AUTO_TEST_CASE(starttls_refuses_bytes_sent_before_the_handshake) {
  // The STARTTLS command-injection attack: data after the OK, before TLS.
  ScriptedServer injector("* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n",
                          {{"STARTTLS", "{tag} OK go ahead\r\n* OK injected\r\n"}});
  ingest::ImapOptions o = ScriptedOptions(injector.port());
  o.tls = ingest::ImapTls::kStartTls;
  auto client = ingest::ImapClient::Connect(o);
  BOOST_REQUIRE(!client.ok());
  BOOST_TEST(client.status().reason() == "starttls_injection");

  // A server without STARTTLS is not talked to in plain text.
  ScriptedServer plain("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready\r\n", {});
  o = ScriptedOptions(plain.port());
  o.tls = ingest::ImapTls::kStartTls;
  auto refused = ingest::ImapClient::Connect(o);
  BOOST_REQUIRE(!refused.ok());
  BOOST_TEST(refused.status().reason() == "starttls_unavailable");
}

BOOST_AUTO_TEST_SUITE_END()

// ---- Watched folders (no server needed).

namespace {

struct WatchRig {
  TempDir dir{"watch"};
  std::string db = dir / "t.db";
  std::unique_ptr<store::Store> s = OpenStore(db);
  app::Importer importer{*s, {}, [] {
                           return static_cast<dmarcwatch::model::UnixTime>(
                               std::chrono::duration_cast<std::chrono::seconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
                         }};
  app::FolderWatcher watcher{*s, importer, [] {
                               return static_cast<dmarcwatch::model::UnixTime>(
                                   std::chrono::duration_cast<std::chrono::seconds>(
                                       std::chrono::system_clock::now().time_since_epoch())
                                       .count());
                             }};
  app::WatchConfig config;
  WatchRig() {
    config.path = dir / "in";
    config.done_dir = config.path + "/done";
    config.rejected_dir = config.path + "/rejected";
    config.interval = 60;
    fs::create_directories(config.path);
  }
  // A file written a minute ago: old enough to be taken.
  void Old(const std::string& name, const std::string& bytes) {
    const std::string path = config.path + "/" + name;
    WriteFile(path, bytes);
    fs::last_write_time(path, fs::file_time_type::clock::now() - std::chrono::minutes(1));
  }
};

std::string ReportXml(const std::string& id) {
  const std::string email = ReportEmail(id);
  const std::size_t start = email.find("<?xml");
  return email.substr(start, email.find("\r\n--b--") - start);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(watch, *boost::unit_test::label("integration"))

BOOST_AUTO_TEST_CASE(imports_new_files_and_moves_them_to_done_or_rejected) {
  WatchRig rig;
  rig.Old("a.xml", ReportXml("watch-a"));
  rig.Old("b.eml", ReportEmail("watch-b"));
  rig.Old("junk.bin", "not a report at all");
  rig.Old(".hidden.xml", ReportXml("watch-hidden"));
  fs::create_directories(rig.config.path + "/sub");
  WriteFile(rig.config.path + "/sub/c.xml", ReportXml("watch-sub"));

  auto out = rig.watcher.ScanOnce(rig.config);
  BOOST_REQUIRE_MESSAGE(out.ok(), Why(out));
  BOOST_TEST(out->error.ok(), out->error.ToString());
  BOOST_TEST(out->seen == 3u);
  BOOST_TEST(out->imported == 2u);
  BOOST_TEST(out->invalid == 1u);
  BOOST_TEST(out->totals.reports_new == 2u);
  BOOST_TEST(fs::exists(rig.config.done_dir + "/a.xml"));
  BOOST_TEST(fs::exists(rig.config.done_dir + "/b.eml"));
  BOOST_TEST(fs::exists(rig.config.rejected_dir + "/junk.bin"));
  BOOST_TEST(ReadFile(rig.config.rejected_dir + "/junk.bin") == "not a report at all");
  // Dot-files and subfolders are left alone.
  BOOST_TEST(fs::exists(rig.config.path + "/.hidden.xml"));
  BOOST_TEST(fs::exists(rig.config.path + "/sub/c.xml"));
  BOOST_TEST(!fs::exists(rig.config.path + "/a.xml"));
  for (const auto& f : out->files) {
    if (f.path.find("junk") != std::string::npos) {
      BOOST_TEST(!f.usable);
      BOOST_TEST(f.reason == "unrecognised_payload");
    }
  }
  // A second scan finds nothing new; done/ and rejected/ are not re-read.
  auto again = rig.watcher.ScanOnce(rig.config);
  BOOST_REQUIRE(again.ok());
  BOOST_TEST(again->seen == 0u);
  auto runs = store::RecentIngestRuns(*rig.s, store::SourceKind::kWatch, rig.config.path, 5);
  BOOST_REQUIRE(runs.ok());
  BOOST_REQUIRE_EQUAL(runs->size(), 2u);
  BOOST_TEST(runs->at(1).seen == 3u);
  BOOST_TEST(runs->at(1).imported == 2u);
  BOOST_TEST(runs->at(1).invalid == 1u);
}

BOOST_AUTO_TEST_CASE(files_still_being_written_wait_for_the_next_scan) {
  WatchRig rig;
  WriteFile(rig.config.path + "/partial.xml", ReportXml("watch-partial").substr(0, 100));
  auto out = rig.watcher.ScanOnce(rig.config);
  BOOST_REQUIRE(out.ok());
  BOOST_TEST(out->seen == 0u);
  BOOST_TEST(out->too_recent == 1u);
  BOOST_TEST(fs::exists(rig.config.path + "/partial.xml"));
  // The writer finishes; two seconds later the file is taken, whole.
  rig.Old("partial.xml", ReportXml("watch-partial"));
  out = rig.watcher.ScanOnce(rig.config);
  BOOST_REQUIRE(out.ok());
  BOOST_TEST(out->seen == 1u);
  BOOST_TEST(out->imported == 1u);
  BOOST_TEST(fs::exists(rig.config.done_dir + "/partial.xml"));
}

BOOST_AUTO_TEST_CASE(a_name_taken_in_the_target_gets_a_numeric_suffix) {
  WatchRig rig;
  fs::create_directories(rig.config.done_dir);
  WriteFile(rig.config.done_dir + "/r.xml.gz", "earlier file");
  WriteFile(rig.config.done_dir + "/r.1.xml.gz", "earlier file 1");
  // The same report twice: the second is a duplicate, which still counts
  // as stored, so it goes to done/ as well.
  rig.Old("r.xml.gz", ReportXml("watch-clash"));
  auto out = rig.watcher.ScanOnce(rig.config);
  BOOST_REQUIRE(out.ok());
  BOOST_TEST(out->imported == 1u);
  BOOST_TEST(ReadFile(rig.config.done_dir + "/r.xml.gz") == "earlier file");
  BOOST_TEST(ReadFile(rig.config.done_dir + "/r.1.xml.gz") == "earlier file 1");
  BOOST_TEST(ReadFile(rig.config.done_dir + "/r.2.xml.gz") == ReportXml("watch-clash"));
  rig.Old("r.xml.gz", ReportXml("watch-clash"));
  out = rig.watcher.ScanOnce(rig.config);
  BOOST_REQUIRE(out.ok());
  BOOST_TEST(out->imported == 1u);
  BOOST_TEST(out->totals.duplicates == 1u);
  BOOST_TEST(fs::exists(rig.config.done_dir + "/r.3.xml.gz"));
  // Nothing was deleted: four files in done/.
  std::size_t files = 0;
  for (const auto& e : fs::directory_iterator(rig.config.done_dir)) files += e.is_regular_file();
  BOOST_TEST(files == 4u);
}

BOOST_AUTO_TEST_CASE(move_without_clobbering_copies_across_file_systems) {
  // /dev/shm is another file system than /tmp on most machines; where it
  // is not, this is the plain rename path and still must not clobber.
  TempDir dir("watch");
  const std::string from = dir / "x.xml";
  WriteFile(from, "payload");
  char shm_template[] = "/dev/shm/dmarcwatch-watch-XXXXXX";
  const char* target = mkdtemp(shm_template);
  const std::string to = target != nullptr ? target : (dir / "to");
  WriteFile(to + "/x.xml", "already here");
  auto moved = app::MoveWithoutClobbering(from, to);
  BOOST_REQUIRE_MESSAGE(moved.ok(), Why(moved));
  BOOST_TEST(*moved == to + "/x.1.xml");
  BOOST_TEST(ReadFile(*moved) == "payload");
  BOOST_TEST(ReadFile(to + "/x.xml") == "already here");
  BOOST_TEST(!fs::exists(from));
  std::error_code ec;
  fs::remove_all(to, ec);
}

BOOST_AUTO_TEST_SUITE_END()

// `dmarcwatch serve` does the polling and scanning on its own schedule.
BOOST_AUTO_TEST_SUITE(serve, *boost::unit_test::label("integration"))

struct Posted {
  int status = 0;
  std::string body;
};

// The port a `serve --listen 127.0.0.1:0` bound, from its start-up line
// ("the dashboard is at http://127.0.0.1:PORT/"): no port is picked first
// and bound later, when another process may have taken it.
int ListeningPort(const dmarcwatch::testing::BackgroundDmarcwatch& serve) {
  const std::string marker = "the dashboard is at http://127.0.0.1:";
  BOOST_REQUIRE_MESSAGE(dmarcwatch::testing::WaitFor(
                            [&] { return serve.Output().find(marker) != std::string::npos; },
                            std::chrono::seconds(30)),
                        serve.Output());
  const std::string out = serve.Output();
  return std::atoi(out.c_str() + out.find(marker) + marker.size());
}

// POST /api/v1/reports with `bytes` and, when not empty, a bearer token.
Posted PostReport(int port, const std::string& bytes, const std::string& token) {
  Poco::Net::HTTPClientSession session("127.0.0.1", static_cast<Poco::UInt16>(port));
  session.setTimeout(Poco::Timespan(30, 0));
  Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_POST, "/api/v1/reports",
                                 Poco::Net::HTTPMessage::HTTP_1_1);
  request.setContentType("application/octet-stream");
  request.setContentLength(static_cast<std::streamsize>(bytes.size()));
  if (!token.empty()) request.set("Authorization", "Bearer " + token);
  session.sendRequest(request) << bytes;
  Poco::Net::HTTPResponse response;
  std::istream& in = session.receiveResponse(response);
  Posted out;
  out.status = static_cast<int>(response.getStatus());
  Poco::StreamCopier::copyToString(in, out.body);
  return out;
}

// The upload endpoint of a running serve: xml, gzip, zip and a whole
// email; the same bytes again are a duplicate; garbage is rejected with
// its reason and kept; a missing or wrong token is refused.
BOOST_AUTO_TEST_CASE(serve_imports_uploads_with_a_token_and_is_idempotent) {
  using dmarcwatch::testing::BackgroundDmarcwatch;
  using dmarcwatch::testing::WaitFor;
  TempDir dir("upload");
  const RunResult made = RunDmarcwatch({"token", "--name", "uploader"}, false);
  BOOST_REQUIRE_EQUAL(made.exit_code, 0);
  std::istringstream lines(made.output);
  std::string token, line, table;
  while (std::getline(lines, line)) {
    const std::string trimmed = line.substr(std::min(line.find_first_not_of(' '), line.size()));
    if (token.empty() && trimmed.size() == 48 && trimmed.find(' ') == std::string::npos) {
      token = trimmed;
    }
    if (trimmed.rfind("[[upload_tokens]]", 0) == 0 || trimmed.rfind("name =", 0) == 0 ||
        trimmed.rfind("token_hash =", 0) == 0) {
      table += trimmed + "\n";
    }
  }
  BOOST_REQUIRE_MESSAGE(!token.empty(), made.output);
  const std::string config = dir / "dmarcwatch.toml";
  WriteFile(config, "[web]\nmax_body_bytes = 1048576\n\n" + table);
  const std::string db = dir / "t.db";
  BackgroundDmarcwatch serve({"--config", config, "--db", db, "--offline", "serve", "--listen",
                              "127.0.0.1:0"},
                             dir / "serve.log");
  const int port = ListeningPort(serve);

  std::vector<dmarcwatch::bench::GeneratedFile> files;
  dmarcwatch::bench::SyntheticOptions g;
  g.reports = 3;
  g.rows_per_report = 4;
  g.formats = {dmarcwatch::bench::Container::kGzip, dmarcwatch::bench::Container::kZip,
               dmarcwatch::bench::Container::kXml};
  BOOST_REQUIRE(dmarcwatch::bench::BuildSynthetic(g, [&](const dmarcwatch::bench::GeneratedFile& f) {
                  files.push_back(f);
                  return dmarcwatch::Status::Ok();
                }).ok());
  BOOST_REQUIRE_EQUAL(files.size(), 3u);
  std::vector<std::string> bodies;
  for (const auto& f : files) bodies.push_back(f.bytes);
  bodies.push_back(ReportEmail("upload-eml"));

  for (const std::string& body : bodies) {
    const Posted first = PostReport(port, body, token);
    BOOST_REQUIRE_MESSAGE(first.status == 201, first.body);
    Poco::JSON::Array::Ptr reports = ParseJson(first.body)->getArray("reports");
    BOOST_REQUIRE_EQUAL(reports->size(), 1u);
    BOOST_TEST(reports->getObject(0)->getValue<std::string>("result") == "new");
    // The same bytes again: stored once, answered as a duplicate.
    const Posted again = PostReport(port, body, token);
    BOOST_REQUIRE_MESSAGE(again.status == 201, again.body);
    BOOST_TEST(ParseJson(again.body)->getArray("reports")->getObject(0)->getValue<std::string>(
                   "result") == "duplicate");
  }
  BOOST_TEST(Reports(db).size() == 4u);

  const Posted garbage = PostReport(port, "<feedback><report_metadata>", token);
  BOOST_REQUIRE_MESSAGE(garbage.status == 201, garbage.body);
  Poco::JSON::Object::Ptr rejected = ParseJson(garbage.body);
  BOOST_TEST(rejected->getArray("reports")->size() == 0u);
  BOOST_REQUIRE_EQUAL(rejected->getArray("rejected")->size(), 1u);
  BOOST_TEST(!rejected->getArray("rejected")->getObject(0)->getValue<std::string>("reason").empty());
  {
    auto s = OpenStore(db);
    auto kept = s->ListRejects(10, 0);
    BOOST_REQUIRE(kept.ok());
    BOOST_TEST(kept->size() == 1u);
  }

  BOOST_TEST(PostReport(port, bodies[0], "").status == 401);
  BOOST_TEST(PostReport(port, bodies[0], token + "x").status == 401);
  BOOST_TEST(PostReport(port, std::string(2 * 1024 * 1024, 'x'), token).status == 413);
  BOOST_TEST(Reports(db).size() == 4u);
  BOOST_TEST(serve.Stop() == 0);
  BOOST_TEST(serve.Output().find(token) == std::string::npos);
}

// Several processes share one store: a report another process imports is
// on the running dashboard at its next request, not after web.cache_ttl;
// and serve computes the default period views that the store keeps for
// every process.
BOOST_AUTO_TEST_CASE(serve_shows_a_report_imported_by_another_process_at_once) {
  using dmarcwatch::testing::BackgroundDmarcwatch;
  using dmarcwatch::testing::WaitFor;
  TempDir dir("shared-views");
  const std::string db = dir / "t.db";
  const std::string config = dir / "dmarcwatch.toml";
  WriteFile(config, "[web]\ncache_ttl = \"1h\"\n");
  WriteFile(dir / "a.eml", ReportEmail("views-a"));
  WriteFile(dir / "b.eml", ReportEmail("views-b"));
  const auto import = [&](const std::string& file) {
    const RunResult r = RunDmarcwatch({"--config", config, "--db", db, "--offline", "import",
                                       "--quiet", file});
    BOOST_REQUIRE_MESSAGE(r.exit_code == 0, r.output);
  };
  import(dir / "a.eml");
  BackgroundDmarcwatch serve({"--config", config, "--db", db, "--offline", "serve", "--listen",
                              "127.0.0.1:0"},
                             dir / "serve.log");
  const int port = ListeningPort(serve);
  BOOST_REQUIRE_MESSAGE(WaitFor([&] { return serve.Output().find("event=views_refreshed") !=
                                             std::string::npos; },
                                std::chrono::seconds(30)),
                        serve.Output());
  {
    auto s = OpenStore(db);
    auto g = s->RollupGeneration();
    BOOST_REQUIRE(g.ok());
    // Computed for the generation the store is at: one domain, one path.
    BOOST_TEST(serve.Output().find("event=views_refreshed generation=" + std::to_string(*g) +
                                   " views=2") != std::string::npos,
               serve.Output());
  }

  dmarcwatch::testing::DashboardClient client("127.0.0.1", static_cast<std::uint16_t>(port));
  BOOST_REQUIRE(client.Login());
  const std::string overview = "/api/v1/overview?domain=example.com";
  const auto messages = [](const std::string& body) {
    return ParseJson(body)->getObject("totals")->getValue<std::int64_t>("messages");
  };
  std::string first, again, after;
  BOOST_REQUIRE_EQUAL(client.Get(overview, first), 200);
  BOOST_TEST(client.cache() == "miss");
  BOOST_REQUIRE_EQUAL(client.Get(overview, again), 200);
  BOOST_TEST(client.cache() == "hit");
  BOOST_TEST(messages(first) == 3);

  import(dir / "b.eml");  // another process
  BOOST_REQUIRE_EQUAL(client.Get(overview, after), 200);
  BOOST_TEST(client.cache() == "miss");
  BOOST_TEST(messages(after) == 6);
  BOOST_TEST(serve.Stop() == 0);
}

BOOST_AUTO_TEST_CASE(serve_polls_the_mailbox_and_scans_the_folder_on_their_intervals) {
  using dmarcwatch::testing::BackgroundDmarcwatch;
  using dmarcwatch::testing::WaitFor;
  DovecotServer& d = Dovecot();
  TempDir dir("serve");
  const std::string user = "served";
  d.Deliver(user, "INBOX", ReportEmail("serve-1"));
  d.Deliver(user, "INBOX", ReportEmail("serve-2"));
  const std::string in = dir / "in";
  fs::create_directories(in);
  WriteFile(in + "/w1.xml", ReportXml("serve-w1"));
  fs::last_write_time(in + "/w1.xml", fs::file_time_type::clock::now() - std::chrono::minutes(1));
  Mailbox m = FreshMailbox(dir, user);
  m.extra = "interval = \"10s\"";
  const std::string config =
      WriteConfig(dir, {m}, "[[watch]]\npath = " + Toml(in) + "\ninterval = \"1s\"\n");
  const std::string db = dir / "t.db";
  auto count = [&db] { return fs::exists(db) ? Reports(db).size() : 0u; };

  BackgroundDmarcwatch serve({"--config", config, "--db", db, "--offline", "serve", "--listen",
                              "127.0.0.1:0"},
                             dir / "serve.log");
  // Both run right after start.
  BOOST_REQUIRE_MESSAGE(WaitFor([&] { return count() == 3; }, std::chrono::seconds(60)),
                        serve.Output());
  BOOST_TEST(WaitFor([&] { return d.Messages(user, "Archive.DMARC").size() == 2; },
                     std::chrono::seconds(30)));
  // A move is a copy, then an expunge of the source.
  BOOST_TEST(WaitFor([&] { return d.Messages(user, "INBOX").empty(); }, std::chrono::seconds(10)));
  BOOST_TEST(WaitFor([&] { return fs::exists(in + "/done/w1.xml"); }, std::chrono::seconds(10)));

  // New mail and a new file are picked up by the next poll and scan,
  // without a restart; the archived messages are not read again.
  d.Deliver(user, "INBOX", ReportEmail("serve-3"));
  WriteFile(in + "/w2.xml", ReportXml("serve-w2"));
  BOOST_TEST_MESSAGE("waiting for the next poll (interval 10s)");
  BOOST_REQUIRE_MESSAGE(WaitFor([&] { return count() == 5; }, std::chrono::seconds(60)),
                        serve.Output());
  BOOST_TEST(WaitFor([&] { return d.Messages(user, "Archive.DMARC").size() == 3; },
                     std::chrono::seconds(30)));
  BOOST_TEST(WaitFor([&] { return fs::exists(in + "/done/w2.xml"); }, std::chrono::seconds(10)));

  BOOST_TEST(serve.Stop(SIGTERM) == 0);
  const std::string log = serve.Output();
  BOOST_TEST(log.find("event=poll mailbox=\"rua\"") != std::string::npos, log);
  BOOST_TEST(log.find("dmarcwatch: stopped") != std::string::npos, log);
  std::set<std::string> ids;
  for (const auto& row : Reports(db)) ids.insert(row.report_id);
  BOOST_TEST((ids == std::set<std::string>{"serve-1", "serve-2", "serve-3", "serve-w1",
                                           "serve-w2"}));

  // status shows the polls serve made.
  const RunResult status =
      RunDmarcwatch({"--config", config, "--db", db, "status", "--format", "json"}, false);
  BOOST_REQUIRE_MESSAGE(status.exit_code == 0, status.output);
  Poco::JSON::Object::Ptr root = ParseJson(status.output);
  Poco::JSON::Object::Ptr total =
      root->getArray("mailboxes")->getObject(0)->getObject("total");
  BOOST_TEST(total->getValue<int>("runs") >= 2);
  BOOST_TEST(total->getValue<int>("imported") == 3);
  BOOST_TEST(total->getValue<int>("failed") == 0);
  BOOST_TEST(root->getArray("watch")->getObject(0)->getObject("total")->getValue<int>("imported") ==
             2);
}

BOOST_AUTO_TEST_SUITE_END()
