// Alert emails end to end: the dmarcwatch binary as a user runs it, and a
// real SMTP server on loopback (aiosmtpd, smtp_server.h) that receives the
// mail; what arrived is parsed by Python's email package.
//
//  - the demo month: exactly the alerts a postmaster wants (the broken
//    smarthost, the undeclared service, the spoofing volume, the office
//    host missing from SPF), each saying what to fix; nothing new when run
//    again or a day later; the spoofing incident resolves, and the
//    reporters' silence is noticed once the reports stop;
//  - the SMTP server down, then up: delivered later, exactly once;
//  - STARTTLS with AUTH, implicit TLS, and a certificate that is refused;
//  - a report string with HTML in it arrives escaped in the HTML part.
//
// Only 127.0.0.1. A missing aiosmtpd or openssl fails the test.

#define BOOST_TEST_MODULE alerts_integration
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <sys/stat.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <filesystem>
#include <set>

#include "dmarcwatch/model/time.h"
#include "smtp_server.h"
#include "test_support.h"

namespace {

using dmarcwatch::testing::ReceivedMessage;
using dmarcwatch::testing::RunDmarcwatch;
using dmarcwatch::testing::RunResult;
using dmarcwatch::testing::SmtpCaptureServer;
using dmarcwatch::testing::SmtpServerOptions;
using dmarcwatch::testing::TempDir;
using dmarcwatch::testing::WriteFile;
using dmarcwatch::testing::ReadFile;

const std::string kDemo = std::string(DMARC_SOURCE_DIR) + "/samples/demo";

const std::string kSendGrid = "[dmarcwatch] example.com: SendGrid fails DMARC (0.0% over 3 days)";
const std::string kMailgun = "[dmarcwatch] example.com: new undeclared sender Mailgun (Sinch)";
const std::string kSpoofing =
    "[dmarcwatch] example.com: 1,985 messages from unknown sources failed DMARC on 2026-10-20";
const std::string kOffice = "[dmarcwatch] example.com: Office MTA: 192.0.2.7 fails SPF";

// The demo configuration with an [alerts] section for `server`.
std::string Config(int port, const std::string& smtp_extra = "tls = \"none\"\n",
                   const std::string& alerts_extra = "") {
  return ReadFile(kDemo + "/dmarcwatch.toml") +
         "\n[alerts]\n"
         "recipients = [\"postmaster@example.com\"]\n"
         "dashboard_url = \"https://dmarc.example.com\"\n" +
         alerts_extra +
         "[alerts.smtp]\n"
         "host = \"127.0.0.1\"\n"
         "port = " + std::to_string(port) + "\n"
         "from = \"dmarcwatch@example.com\"\n"
         "timeout = \"10s\"\n" +
         smtp_extra;
}

struct Run {
  std::string config;
  std::string db;
  RunResult operator()(std::vector<std::string> args, bool with_stderr = true) const {
    std::vector<std::string> all = {"--config", config, "--db", db, "--offline"};
    all.insert(all.end(), args.begin(), args.end());
    return RunDmarcwatch(all, with_stderr);
  }
};

Run ImportDemo(const TempDir& dir, const std::string& config_text, const std::string& name) {
  Run run{dir / (name + ".toml"), dir / (name + ".db")};
  WriteFile(run.config, config_text);
  const RunResult imported = run({"import", "--quiet", kDemo + "/reports"});
  BOOST_REQUIRE_MESSAGE(imported.exit_code == 0, imported.output);
  return run;
}

void RequireServer(SmtpCaptureServer& server, const SmtpServerOptions& options) {
  BOOST_REQUIRE_MESSAGE(server.Start(options), "cannot start the SMTP server: " + server.error());
}

std::multiset<std::string> Subjects(const std::vector<ReceivedMessage>& messages) {
  std::multiset<std::string> out;
  for (const ReceivedMessage& m : messages) out.insert(m.subject);
  return out;
}

const ReceivedMessage& BySubject(const std::vector<ReceivedMessage>& messages,
                                 const std::string& subject) {
  for (const ReceivedMessage& m : messages) {
    if (m.subject == subject) return m;
  }
  BOOST_FAIL("no message with the subject " + subject);
  return messages.front();
}

// A self-signed certificate for 127.0.0.1 and localhost.
void MakeCertificate(const std::string& cert, const std::string& key) {
  const std::string command =
      "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost "
      "-addext subjectAltName=IP:127.0.0.1,DNS:localhost -keyout '" + key + "' -out '" + cert +
      "' >/dev/null 2>&1";
  BOOST_REQUIRE_MESSAGE(std::system(command.c_str()) == 0,
                        "openssl could not make a certificate: install the Debian package openssl");
}

Poco::JSON::Object::Ptr ListJson(const Run& run) {
  const RunResult listed = run({"alerts", "list", "--all", "--format", "json"}, false);
  BOOST_REQUIRE_MESSAGE(listed.exit_code == 0, listed.output);
  return Poco::JSON::Parser().parse(listed.output).extract<Poco::JSON::Object::Ptr>();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(alerts, *boost::unit_test::label("integration"))

BOOST_AUTO_TEST_CASE(the_demo_month_sends_the_alerts_a_postmaster_wants_once) {
  TempDir dir("alerts");
  SmtpCaptureServer server(dir / "smtp");
  RequireServer(server, {});
  const Run run = ImportDemo(dir, Config(server.port()), "demo");

  // A dry run prints the mail and sends nothing.
  const RunResult dry = run({"alerts", "check", "--as-of", "2026-11-01", "--dry-run"});
  BOOST_REQUIRE_MESSAGE(dry.exit_code == 0, dry.output);
  BOOST_TEST(dry.output.find("Subject: " + kSendGrid) != std::string::npos);
  BOOST_TEST(server.Count() == 0u);

  const RunResult first = run({"alerts", "check", "--as-of", "2026-11-01"});
  BOOST_REQUIRE_MESSAGE(first.exit_code == 0, first.output);
  BOOST_TEST(first.output.find("outbox: 4 sent") != std::string::npos, first.output);
  const std::vector<ReceivedMessage> got = server.Messages();
  const std::multiset<std::string> expected = {kSendGrid, kMailgun, kSpoofing, kOffice};
  BOOST_TEST((Subjects(got) == expected), first.output);

  std::set<std::string> message_ids;
  for (const ReceivedMessage& m : got) {
    BOOST_TEST(m.content_type == "multipart/alternative");
    BOOST_TEST(m.defects.empty(), m.subject);
    BOOST_REQUIRE(m.parts.size() == 2u);
    BOOST_TEST(m.parts[0].content_type == "text/plain");
    BOOST_TEST(m.parts[1].content_type == "text/html");
    BOOST_TEST(m.parts[0].charset == "utf-8");
    BOOST_TEST(m.headers.at("From") == "dmarcwatch@example.com");
    BOOST_TEST(m.headers.at("To") == "postmaster@example.com");
    BOOST_TEST(m.headers.at("Auto-Submitted") == "auto-generated");
    BOOST_TEST(m.mail_from == "dmarcwatch@example.com");
    BOOST_TEST((m.rcpt_tos == std::vector<std::string>{"postmaster@example.com"}));
    BOOST_TEST(m.Text().find("What to fix:") != std::string::npos, m.subject);
    BOOST_TEST(m.Html().find("What to fix") != std::string::npos, m.subject);
    message_ids.insert(m.headers.at("Message-ID"));
  }
  BOOST_TEST(message_ids.size() == 4u);

  // Each says what to fix, with the evidence and a link.
  const ReceivedMessage& sendgrid = BySubject(got, kSendGrid);
  BOOST_TEST(sendgrid.Text().find("Set up DKIM for example.com in SendGrid") != std::string::npos);
  BOOST_TEST(sendgrid.Text().find("d=sendgrid.info s=smtpapi pass") != std::string::npos);
  BOOST_TEST(sendgrid.Text().find("Envelope from: sendgrid.net") != std::string::npos);
  BOOST_TEST(sendgrid.Text().find("167.89.") != std::string::npos);
  BOOST_TEST(sendgrid.Text().find(
                 "https://dmarc.example.com/#/path?domain=example.com&key=path%3ASendGrid"
                 "&from=2026-10-29&to=2026-10-31") != std::string::npos);
  BOOST_TEST(sendgrid.Html().find("Set up DKIM for example.com in SendGrid") != std::string::npos);
  const ReceivedMessage& mailgun = BySubject(got, kMailgun);
  BOOST_TEST(mailgun.Text().find("[[paths]]") != std::string::npos);
  BOOST_TEST(mailgun.Text().find("2026-10-12") != std::string::npos);
  BOOST_TEST(mailgun.Text().find("mg.example.com") != std::string::npos);
  const ReceivedMessage& spoofing = BySubject(got, kSpoofing);
  BOOST_TEST(spoofing.Text().find("p=quarantine") != std::string::npos);
  const ReceivedMessage& office = BySubject(got, kOffice);
  BOOST_TEST(office.Text().find("Add ip4:192.0.2.7 to the SPF record") != std::string::npos);

  // Again, and a day later: nothing new.
  const RunResult again = run({"alerts", "check", "--as-of", "2026-11-01"});
  BOOST_REQUIRE_MESSAGE(again.exit_code == 0, again.output);
  BOOST_TEST(again.output.find("0 opened") != std::string::npos, again.output);
  const RunResult next_day = run({"alerts", "check", "--as-of", "2026-11-02"});
  BOOST_REQUIRE_MESSAGE(next_day.exit_code == 0, next_day.output);
  BOOST_TEST(server.Count() == 4u, next_day.output);

  // What the store says.
  Poco::JSON::Object::Ptr listed = ListJson(run);
  BOOST_TEST(listed->getValue<int>("version") == 1);
  Poco::JSON::Array::Ptr incidents = listed->getArray("incidents");
  BOOST_TEST(incidents->size() == 4u);
  std::int64_t sendgrid_id = 0;
  for (std::size_t i = 0; i < incidents->size(); ++i) {
    auto o = incidents->getObject(static_cast<unsigned>(i));
    BOOST_TEST(o->getValue<std::string>("state") == "open");
    BOOST_TEST(o->getValue<int>("notifications") == 1);
    if (o->getValue<std::string>("rule") == "pass_rate") {
      sendgrid_id = o->getValue<std::int64_t>("id");
      BOOST_TEST(o->getValue<std::string>("subject") == "path:SendGrid");
      BOOST_TEST(o->getObject("evaluation")->getArray("findings")->size() > 0u);
    }
  }
  BOOST_TEST(listed->getObject("outbox")->getValue<int>("sent") == 4);
  BOOST_TEST(listed->getObject("outbox")->getValue<int>("queued") == 0);

  const RunResult acked = run({"alerts", "ack", std::to_string(sendgrid_id)});
  BOOST_REQUIRE_MESSAGE(acked.exit_code == 0, acked.output);
  BOOST_TEST(run({"alerts", "ack", "9999"}).exit_code == 1);
  BOOST_TEST(run({"alerts", "ack", "x"}).exit_code == 2);

  // 2026-11-03: the window still holds 10-31, and no day since the run of
  // 11-01 went over the limit: the spoofing incident resolves.
  const RunResult resolved = run({"alerts", "check", "--as-of", "2026-11-03"});
  BOOST_REQUIRE_MESSAGE(resolved.exit_code == 0, resolved.output);
  std::vector<ReceivedMessage> all = server.Messages();
  BOOST_REQUIRE_MESSAGE(all.size() == 5u, resolved.output);
  BOOST_TEST(all[4].subject == "[dmarcwatch] resolved: " + kSpoofing.substr(13));
  BOOST_TEST(all[4].Text().find("is resolved") != std::string::npos);

  // 2026-11-04: the reports stopped on 10-31, and their silence is news.
  // The window holds no data, so nothing else can resolve.
  const RunResult later = run({"alerts", "check", "--as-of", "2026-11-04"});
  BOOST_REQUIRE_MESSAGE(later.exit_code == 0, later.output);
  all = server.Messages();
  std::multiset<std::string> added;
  for (std::size_t i = 5; i < all.size(); ++i) added.insert(all[i].subject);
  const std::multiset<std::string> news = {
      "[dmarcwatch] example.com: no reports from 6 usual reporters for 3 days (Enterprise Outlook, "
      "GMX, Mail.Ru, ...)",
      "[dmarcwatch] example.net: no reports from 2 usual reporters for 3 days (Yahoo, google.com)"};
  BOOST_TEST((added == news), later.output);
  BOOST_TEST(run({"alerts", "check", "--as-of", "2026-11-04"}).output.find("0 opened, 0 worse") !=
             std::string::npos);
  BOOST_TEST(server.Count() == 7u);
  server.Stop();
}

BOOST_AUTO_TEST_CASE(a_server_down_then_up_delivers_later_exactly_once) {
  TempDir dir("alerts-down");
  SmtpCaptureServer server(dir / "smtp");
  const int port = dmarcwatch::testing::FreeTcpPort();
  const Run run = ImportDemo(dir, Config(port), "down");

  // Nothing listens: the alerts are queued, not lost.
  const RunResult down = run({"alerts", "check", "--as-of", "2026-11-01"});
  BOOST_TEST(down.exit_code == 1, down.output);
  BOOST_TEST(down.output.find("4 to retry") != std::string::npos, down.output);
  Poco::JSON::Object::Ptr outbox = ListJson(run)->getObject("outbox");
  BOOST_TEST(outbox->getValue<int>("queued") == 4);
  BOOST_TEST(outbox->getValue<int>("sent") == 0);
  BOOST_TEST(!outbox->isNull("last_error"));
  // Evaluating again queues nothing more.
  BOOST_TEST(run({"alerts", "check", "--as-of", "2026-11-01"}).output.find("0 messages queued") !=
             std::string::npos);
  BOOST_TEST(ListJson(run)->getObject("outbox")->getValue<int>("queued") == 4);

  // The server comes up: `alerts send` delivers now, exactly once.
  SmtpServerOptions options;
  options.port = port;
  RequireServer(server, options);
  const RunResult sent = run({"alerts", "send"});
  BOOST_REQUIRE_MESSAGE(sent.exit_code == 0, sent.output);
  BOOST_TEST(sent.output.find("outbox: 4 sent") != std::string::npos, sent.output);
  BOOST_TEST(run({"alerts", "send"}).output.find("nothing to send") != std::string::npos);
  BOOST_TEST(run({"alerts", "check", "--as-of", "2026-11-01"}).exit_code == 0);
  const std::vector<ReceivedMessage> got = server.Messages();
  BOOST_TEST((Subjects(got) == std::multiset<std::string>{kSendGrid, kMailgun, kSpoofing, kOffice}));
  outbox = ListJson(run)->getObject("outbox");
  BOOST_TEST(outbox->getValue<int>("queued") == 0);
  BOOST_TEST(outbox->getValue<int>("sent") == 4);
  BOOST_TEST(outbox->isNull("last_error"));
  server.Stop();
}

BOOST_AUTO_TEST_CASE(starttls_with_auth_works_and_a_wrong_certificate_is_refused) {
  TempDir dir("alerts-tls");
  const std::string cert = dir / "cert.pem", key = dir / "key.pem";
  const std::string other = dir / "other.pem", other_key = dir / "other-key.pem";
  MakeCertificate(cert, key);
  MakeCertificate(other, other_key);
  const std::string password_file = dir / "smtp.secret";
  WriteFile(password_file, "s3cret pass\n");
  BOOST_REQUIRE(chmod(password_file.c_str(), 0600) == 0);

  SmtpCaptureServer server(dir / "smtp");
  SmtpServerOptions options;
  options.tls = "starttls";
  options.cert = cert;
  options.key = key;
  options.auth = "alerts:s3cret pass";
  RequireServer(server, options);
  const std::string auth = "username = \"alerts\"\npassword_file = \"" + password_file + "\"\n";

  // Trusting the server's certificate: delivered over TLS, authenticated.
  const Run good = ImportDemo(
      dir, Config(server.port(), "tls = \"starttls\"\nca_file = \"" + cert + "\"\n" + auth), "good");
  const RunResult sent = good({"alerts", "check", "--as-of", "2026-11-01"});
  BOOST_REQUIRE_MESSAGE(sent.exit_code == 0, sent.output + server.Log());
  std::vector<ReceivedMessage> got = server.Messages();
  BOOST_REQUIRE(got.size() == 4u);
  for (const ReceivedMessage& m : got) {
    BOOST_TEST(m.tls);
    BOOST_TEST(m.authenticated);
  }

  // Trusting another certificate: refused, nothing sent, the error shows.
  const Run bad = ImportDemo(
      dir, Config(server.port(), "tls = \"starttls\"\nca_file = \"" + other + "\"\n" + auth), "bad");
  const RunResult refused = bad({"alerts", "check", "--as-of", "2026-11-01"});
  BOOST_TEST(refused.exit_code == 1, refused.output);
  BOOST_TEST(refused.output.find("certificate verify failed") != std::string::npos,
             refused.output);
  BOOST_TEST(server.Count() == 4u);
  Poco::JSON::Object::Ptr outbox = ListJson(bad)->getObject("outbox");
  BOOST_TEST(outbox->getValue<int>("queued") == 4);
  BOOST_TEST(outbox->getValue<std::string>("last_error").find("certificate") != std::string::npos);

  // A wrong password: refused, queued.
  WriteFile(password_file, "wrong\n");
  const Run wrong = ImportDemo(
      dir, Config(server.port(), "tls = \"starttls\"\nca_file = \"" + cert + "\"\n" + auth),
      "wrong");
  const RunResult unauthorised = wrong({"alerts", "check", "--as-of", "2026-11-01"});
  BOOST_TEST(unauthorised.exit_code == 1);
  BOOST_TEST(unauthorised.output.find("authentication failed") != std::string::npos,
             unauthorised.output);
  BOOST_TEST(server.Count() == 4u);
  server.Stop();

  // Implicit TLS (port 465 style).
  SmtpCaptureServer implicit(dir / "smtp-implicit");
  options.tls = "implicit";
  options.auth.clear();
  RequireServer(implicit, options);
  const Run tls = ImportDemo(
      dir, Config(implicit.port(), "tls = \"implicit\"\nca_file = \"" + cert + "\"\n"), "implicit");
  const RunResult over_tls = tls({"alerts", "check", "--as-of", "2026-11-01"});
  BOOST_REQUIRE_MESSAGE(over_tls.exit_code == 0, over_tls.output + implicit.Log());
  got = implicit.Messages();
  BOOST_REQUIRE(got.size() == 4u);
  BOOST_TEST(got[0].tls);
  implicit.Stop();
}

BOOST_AUTO_TEST_CASE(a_report_string_with_html_arrives_escaped) {
  TempDir dir("alerts-xss");
  SmtpCaptureServer server(dir / "smtp");
  RequireServer(server, {});
  const Run run{dir / "xss.toml", dir / "xss.db"};
  WriteFile(run.config, Config(server.port()));

  // Two weeks of reports from a reporter whose name holds markup, about
  // spoofed mail whose identifiers hold markup: 500 messages on 10-10.
  const std::string reports = dir / "reports";
  std::filesystem::create_directories(reports);
  const auto oct1 = *dmarcwatch::model::ParseIsoTime("2026-10-01");
  for (int day = 0; day < 14; ++day) {
    const std::int64_t begin = oct1 + day * 86400;
    const int count = day == 9 ? 500 : 5;
    WriteFile(reports + "/r" + std::to_string(day) + ".xml",
              "<?xml version=\"1.0\"?>\n<feedback><report_metadata>"
              "<org_name>Evil &lt;b&gt;Org&lt;/b&gt; &amp; Co</org_name>"
              "<email>dmarc@evil.example</email><report_id>xss-" + std::to_string(day) +
                  "</report_id><date_range><begin>" + std::to_string(begin) + "</begin><end>" +
                  std::to_string(begin + 86399) +
                  "</end></date_range></report_metadata>"
                  "<policy_published><domain>example.com</domain><p>none</p></policy_published>"
                  "<record><row><source_ip>198.18.0.9</source_ip><count>" +
                  std::to_string(count) +
                  "</count><policy_evaluated><disposition>none</disposition><dkim>fail</dkim>"
                  "<spf>fail</spf></policy_evaluated></row><identifiers>"
                  "<header_from>example.com&lt;script&gt;alert(1)&lt;/script&gt;</header_from>"
                  "<envelope_from>ev&lt;i&gt;l&amp;.example</envelope_from></identifiers>"
                  "<auth_results><spf><domain>ev&lt;i&gt;l&amp;.example</domain>"
                  "<result>fail</result></spf></auth_results></record></feedback>\n");
  }
  const RunResult imported = run({"import", "--quiet", reports});
  BOOST_REQUIRE_MESSAGE(imported.exit_code == 0, imported.output);
  const RunResult checked = run({"alerts", "check", "--as-of", "2026-10-18"});
  BOOST_REQUIRE_MESSAGE(checked.exit_code == 0, checked.output);

  const std::vector<ReceivedMessage> got = server.Messages();
  const std::multiset<std::string> expected = {
      "[dmarcwatch] example.com: 500 messages from unknown sources failed DMARC on 2026-10-10",
      "[dmarcwatch] example.com: no reports from 1 usual reporter for 3 days (Evil <b>Org</b> & "
      "Co)"};
  BOOST_TEST((Subjects(got) == expected), checked.output);
  bool saw_header_from = false, saw_org = false;
  for (const ReceivedMessage& m : got) {
    const std::string html = m.Html();
    BOOST_TEST(html.find("<script") == std::string::npos, m.subject);
    BOOST_TEST(html.find("<b>Org") == std::string::npos, m.subject);
    BOOST_TEST(html.find("<i>l") == std::string::npos, m.subject);
    if (html.find("example.com&lt;script&gt;alert(1)&lt;/script&gt;") != std::string::npos) {
      saw_header_from = true;
      BOOST_TEST(html.find("ev&lt;i&gt;l&amp;.example") != std::string::npos);
      // The text part is not interpreted: it shows the value as it was.
      BOOST_TEST(m.Text().find("example.com<script>alert(1)</script>") != std::string::npos);
    }
    if (html.find("Evil &lt;b&gt;Org&lt;/b&gt; &amp; Co") != std::string::npos) saw_org = true;
  }
  BOOST_TEST(saw_header_from);
  BOOST_TEST(saw_org);
  server.Stop();
}

// serve evaluates the rules after each ingest that stored new reports and
// delivers at once; restarted, it evaluates again and sends nothing new.
BOOST_AUTO_TEST_CASE(serve_mails_after_an_ingest_and_not_again_after_a_restart) {
  using dmarcwatch::testing::BackgroundDmarcwatch;
  using dmarcwatch::testing::WaitFor;
  TempDir dir("alerts-serve");
  SmtpCaptureServer server(dir / "smtp");
  RequireServer(server, {});
  const std::string in = dir / "in";
  std::filesystem::create_directories(in);
  const Run run{dir / "serve.toml", dir / "serve.db"};
  WriteFile(run.config, Config(server.port()) + "\n[[watch]]\npath = \"" + in +
                            "\"\ninterval = \"1s\"\n");
  // Yesterday (UTC): the newest day the rules look at.
  const std::int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
  const std::int64_t yesterday = (now / 86400 - 1) * 86400;
  const std::string report =
      "<?xml version=\"1.0\"?>\n<feedback><report_metadata><org_name>reporter.test</org_name>"
      "<email>dmarc@reporter.test</email><report_id>serve-spoof</report_id><date_range><begin>" +
      std::to_string(yesterday) + "</begin><end>" + std::to_string(yesterday + 86399) +
      "</end></date_range></report_metadata>"
      "<policy_published><domain>example.com</domain><p>none</p></policy_published>"
      "<record><row><source_ip>198.18.0.9</source_ip><count>500</count><policy_evaluated>"
      "<disposition>none</disposition><dkim>fail</dkim><spf>fail</spf></policy_evaluated></row>"
      "<identifiers><header_from>example.com</header_from></identifiers><auth_results><spf>"
      "<domain>spoof.test</domain><result>fail</result></spf></auth_results></record>"
      "</feedback>\n";
  const std::string subject = "[dmarcwatch] example.com: 500 messages from unknown sources failed "
                              "DMARC on " +
                              dmarcwatch::model::FormatDate(yesterday);
  {
    BackgroundDmarcwatch serve({"--config", run.config, "--db", run.db, "--offline", "serve",
                                "--listen", "127.0.0.1:0"},
                               dir / "serve1.log");
    // Nothing to say before the report arrives.
    BOOST_REQUIRE_MESSAGE(WaitFor([&] { return serve.Output().find("event=evaluated") !=
                                               std::string::npos; },
                                  std::chrono::seconds(30)),
                          serve.Output());
    BOOST_TEST(server.Count() == 0u);
    WriteFile(in + "/.spoof.xml", report);
    std::filesystem::rename(in + "/.spoof.xml", in + "/spoof.xml");
    BOOST_REQUIRE_MESSAGE(WaitFor([&] { return server.Count() >= 1u; }, std::chrono::seconds(60)),
                          serve.Output());
    BOOST_TEST(serve.Stop() == 0);
  }
  std::vector<ReceivedMessage> got = server.Messages();
  BOOST_TEST((Subjects(got) == std::multiset<std::string>{subject}));
  BOOST_TEST(std::filesystem::exists(in + "/done/spoof.xml"));

  // Restarted: the first evaluation runs at start and finds the incident
  // already notified.
  {
    BackgroundDmarcwatch serve({"--config", run.config, "--db", run.db, "--offline", "serve",
                                "--listen", "127.0.0.1:0"},
                               dir / "serve2.log");
    BOOST_REQUIRE_MESSAGE(WaitFor([&] { return serve.Output().find("event=evaluated") !=
                                               std::string::npos; },
                                  std::chrono::seconds(30)),
                          serve.Output());
    BOOST_TEST(serve.Output().find("notifications=0") != std::string::npos, serve.Output());
    BOOST_TEST(serve.Stop() == 0);
  }
  BOOST_TEST(server.Count() == 1u);
  const RunResult status = run({"status", "--format", "json"}, false);
  BOOST_REQUIRE_MESSAGE(status.exit_code == 0, status.output);
  Poco::JSON::Object::Ptr alerts = Poco::JSON::Parser()
                                       .parse(status.output)
                                       .extract<Poco::JSON::Object::Ptr>()
                                       ->getObject("alerts");
  BOOST_TEST(alerts->getValue<int>("sent") == 1);
  BOOST_TEST(alerts->getValue<int>("queued") == 0);
  BOOST_TEST(alerts->getValue<int>("open_incidents") == 1);
  BOOST_TEST(alerts->getValue<int>("unacknowledged") == 1);
  server.Stop();
}

BOOST_AUTO_TEST_SUITE_END()
