// Alert emails: the subject, both parts, HTML escaping of report values,
// the dashboard link, and the MIME message.

#include <boost/test/unit_test.hpp>

#include "dmarcwatch/alerts/message.h"
#include "fixtures.h"

namespace dmarcwatch::alerts {
namespace {

using namespace testing;

const std::int64_t kNov1 = kOct1 + 31;

analysis::Finding Hostile() {
  analysis::Finding f;
  f.code = "unknown_failing";
  f.severity = analysis::Severity::kCritical;
  f.path_key = "unknown";
  f.title = "500 messages from 1 unknown source failed DMARC as example.com";
  f.messages = 500;
  f.sources = 1;
  f.advice = "Publish p=quarantine:\n  _dmarc.example.com TXT \"v=DMARC1; p=quarantine\"";
  f.evidence.ips = {"198.18.0.9"};
  f.evidence.header_from = {"example.com<script>alert(1)</script>"};
  f.evidence.envelope_domains = {"ev<i>l&.example"};
  f.evidence.dkim = {"d=a\"b' s=x fail"};
  f.evidence.spf = {"ev<i>l&.example fail"};
  return f;
}

Change Opened(const Observation& o, std::int64_t id = 7) {
  Change c;
  c.incident.id = id;
  c.incident.rule = o.rule;
  c.incident.domain = o.domain;
  c.incident.subject = o.subject;
  c.incident.severity = o.severity;
  c.incident.title = o.title;
  c.incident.value = o.value;
  c.incident.opened_at = At(kNov1);
  c.incident.first_seen = At(kOct1 + 1);
  c.incident.last_seen = At(kNov1);
  c.notice = Notice::kOpened;
  c.observation = &o;
  return c;
}

Observation SendGridObservation() {
  Observation o;
  o.rule = Rule::kPassRate;
  o.domain = "example.com";
  o.subject = "path:SendGrid";
  o.verdict = Verdict::kFiring;
  o.severity = analysis::Severity::kCritical;
  o.title = "example.com: SendGrid fails DMARC (0.0% over 3 days)";
  o.details.summary = "Of 1,150 messages SendGrid sent, 0 passed DMARC.";
  o.details.facts = {{"messages", "1,150"}, {"DMARC pass", "0 (0.0%)"}};
  analysis::Finding f;
  f.code = "dkim_provider_domain";
  f.severity = analysis::Severity::kCritical;
  f.title = "SendGrid signs with d=sendgrid.info s=smtpapi pass, not with example.com";
  f.messages = 1150;
  f.sources = 10;
  f.advice = "Set up DKIM for example.com in SendGrid: publish the CNAMEs s1._domainkey and "
             "s2._domainkey.";
  f.evidence.ips = {"167.89.118.12", "149.72.28.238"};
  f.evidence.header_from = {"example.com"};
  f.evidence.envelope_domains = {"sendgrid.net"};
  f.evidence.dkim = {"d=sendgrid.info s=smtpapi pass"};
  f.evidence.spf = {"sendgrid.net pass"};
  o.details.findings = {f};
  o.details.path_key = "path:SendGrid";
  o.details.from_day = kNov1 - 3;
  o.details.to_day = kNov1 - 1;
  return o;
}

// The body of one MIME part, as it was before quoted-printable.
std::string DecodeQp(const std::string& qp) {
  std::string out;
  for (std::size_t i = 0; i < qp.size(); ++i) {
    if (qp[i] == '=' && i + 2 < qp.size() && qp[i + 1] == '\r' && qp[i + 2] == '\n') {
      i += 2;
    } else if (qp[i] == '=' && i + 2 < qp.size()) {
      out += static_cast<char>(std::stoi(qp.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else if (qp[i] == '\r') {
      continue;
    } else {
      out += qp[i];
    }
  }
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(messages)

BOOST_AUTO_TEST_CASE(an_alert_says_domain_path_and_what_in_the_subject) {
  const Observation o = SendGridObservation();
  const MessageContent m = RenderIncident(Opened(o), DemoOptions());
  BOOST_TEST(m.subject == "[dmarcwatch] example.com: SendGrid fails DMARC (0.0% over 3 days)");
}

BOOST_AUTO_TEST_CASE(both_parts_carry_the_numbers_the_evidence_the_advice_and_the_link) {
  const Observation o = SendGridObservation();
  const MessageContent m = RenderIncident(Opened(o), DemoOptions());
  const std::string link =
      "https://dmarc.example.com/#/path?domain=example.com&key=path%3ASendGrid&from=2026-10-29"
      "&to=2026-10-31";
  for (const std::string* part : {&m.text, &m.html}) {
    BOOST_TEST(part->find("1,150") != std::string::npos);
    BOOST_TEST(part->find("167.89.118.12") != std::string::npos);
    BOOST_TEST(part->find("sendgrid.net") != std::string::npos);
    BOOST_TEST(part->find("d=sendgrid.info s=smtpapi pass") != std::string::npos);
    BOOST_TEST(part->find("Set up DKIM for example.com in SendGrid") != std::string::npos);
    BOOST_TEST(part->find("dmarcwatch alerts ack 7") != std::string::npos);
  }
  BOOST_TEST(m.text.find("Dashboard: " + link) != std::string::npos);
  BOOST_TEST(m.html.find("href=\"" + HtmlEscape(link) + "\"") != std::string::npos);
  BOOST_TEST(m.text.find("New incident #7 (critical).") == 0u);
  BOOST_TEST(m.text.find("What to fix:") != std::string::npos);
  BOOST_TEST(m.html.find("<!DOCTYPE html>") == 0u);
}

BOOST_AUTO_TEST_CASE(every_report_value_is_escaped_in_the_html_part) {
  Observation o;
  o.rule = Rule::kUnknownFailures;
  o.domain = "example.com";
  o.subject = "unknown";
  o.verdict = Verdict::kFiring;
  o.severity = analysis::Severity::kCritical;
  o.title = "example.com: 500 messages from unknown sources failed DMARC on 2026-10-16";
  o.details.findings = {Hostile()};
  o.details.items = {"Evil <b>Org</b> & Co: last report for 2026-10-28"};
  o.details.facts = {{"reporter", "<img src=x onerror=alert(1)>"}};
  o.details.path_key = "unknown";
  o.details.from_day = kOct1 + 15;
  o.details.to_day = kOct1 + 15;
  const MessageContent m = RenderIncident(Opened(o), DemoOptions());
  BOOST_TEST(m.html.find("<script>") == std::string::npos);
  BOOST_TEST(m.html.find("<b>Org") == std::string::npos);
  BOOST_TEST(m.html.find("<i>") == std::string::npos);
  BOOST_TEST(m.html.find("<img") == std::string::npos);
  BOOST_TEST(m.html.find("example.com&lt;script&gt;alert(1)&lt;/script&gt;") != std::string::npos);
  BOOST_TEST(m.html.find("Evil &lt;b&gt;Org&lt;/b&gt; &amp; Co") != std::string::npos);
  BOOST_TEST(m.html.find("ev&lt;i&gt;l&amp;.example") != std::string::npos);
  BOOST_TEST(m.html.find("d=a&quot;b&#39; s=x fail") != std::string::npos);
  // The text part shows them as they are: it is not interpreted.
  BOOST_TEST(m.text.find("example.com<script>alert(1)</script>") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(control_bytes_from_reports_never_reach_a_header_or_a_part) {
  Observation o = SendGridObservation();
  o.title = "example.com: evil\r\nBcc: victim@example.org fails";
  o.details.findings[0].evidence.header_from = {"a\x1b[31mred"};
  const MessageContent m = RenderIncident(Opened(o), DemoOptions());
  BOOST_TEST(m.subject.find('\r') == std::string::npos);
  BOOST_TEST(m.subject.find('\n') == std::string::npos);
  BOOST_TEST(m.text.find('\x1b') == std::string::npos);
  BOOST_TEST(m.html.find('\x1b') == std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_resolution_recalls_the_incident) {
  const Observation firing = SendGridObservation();
  Change c = Opened(firing);
  Observation clear = firing;
  clear.verdict = Verdict::kClear;
  clear.details.summary = "99.5% of 1,200 messages SendGrid sent passed DMARC.";
  clear.details.findings.clear();
  c.observation = &clear;
  c.notice = Notice::kResolved;
  c.incident.state = IncidentState::kResolved;
  c.incident.clear_since = At(kNov1 + 3);
  c.incident.notifications = 2;
  const MessageContent m = RenderIncident(c, DemoOptions());
  BOOST_TEST(m.subject ==
             "[dmarcwatch] resolved: example.com: SendGrid fails DMARC (0.0% over 3 days)");
  BOOST_TEST(m.text.find("Incident #7 is resolved: its condition has been clear since "
                         "2026-11-04T00:00:00Z.") == 0u);
  BOOST_TEST(m.text.find("99.5% of 1,200 messages") != std::string::npos);
  BOOST_TEST(m.text.find("alerts ack") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_worse_notice_says_what_it_was_and_what_it_is) {
  Observation o = SendGridObservation();
  o.value = 40;
  Change c = Opened(o);
  c.notice = Notice::kWorsened;
  c.incident.value = 40;
  c.previous_value = 80;
  c.previously_notified_at = At(kNov1 - 2);
  const MessageContent m = RenderIncident(c, DemoOptions());
  BOOST_TEST(m.subject.find("[dmarcwatch] worse: ") == 0u);
  BOOST_TEST(m.text.find("80.0% when last notified on 2026-10-30T00:00:00Z, now 40.0%") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(dashboard_links_encode_their_values) {
  BOOST_TEST(DashboardLink("https://d.example/", "example.com", "path:Office MTA", kOct1, kOct1 + 2) ==
             "https://d.example/#/path?domain=example.com&key=path%3AOffice%20MTA&from=2026-10-01"
             "&to=2026-10-03");
  BOOST_TEST(DashboardLink("http://h:8080", "example.com", "", kOct1, kOct1) ==
             "http://h:8080/#/overview?domain=example.com&from=2026-10-01&to=2026-10-01");
  BOOST_TEST(DashboardLink("", "example.com", "unknown", kOct1, kOct1).empty());
}

BOOST_AUTO_TEST_CASE(the_mime_message_is_multipart_alternative_with_two_parts) {
  OutboxMessage msg;
  msg.message_id = MakeMessageId("dmarcwatch@example.com", At(kNov1), 7, "opened",
                                 "postmaster@example.com");
  msg.incident_id = 7;
  msg.notice = "opened";
  msg.recipient = "postmaster@example.com";
  const Observation o = SendGridObservation();
  const MessageContent m = RenderIncident(Opened(o), DemoOptions());
  msg.subject = m.subject;
  msg.text = m.text;
  msg.html = m.html;
  msg.created_at = At(kNov1, 9);
  const std::string mime = BuildMime(msg, "dmarcwatch@example.com");

  BOOST_TEST(msg.message_id.find("@example.com>") != std::string::npos);
  BOOST_TEST(mime.find("From: dmarcwatch@example.com\r\n") == 0u);
  BOOST_TEST(mime.find("\r\nTo: postmaster@example.com\r\n") != std::string::npos);
  BOOST_TEST(mime.find("\r\nDate: Sun, 01 Nov 2026 09:00:00 +0000\r\n") != std::string::npos);
  BOOST_TEST(mime.find("\r\nMessage-ID: " + msg.message_id + "\r\n") != std::string::npos);
  BOOST_TEST(mime.find("\r\nAuto-Submitted: auto-generated\r\n") != std::string::npos);
  BOOST_TEST(mime.find("\r\nReferences: <incident.7@example.com>\r\n") != std::string::npos);
  const std::size_t ct = mime.find("Content-Type: multipart/alternative; boundary=\"");
  BOOST_REQUIRE(ct != std::string::npos);
  const std::size_t b0 = mime.find('"', ct) + 1;
  const std::string boundary = mime.substr(b0, mime.find('"', b0) - b0);
  const std::size_t plain = mime.find("--" + boundary + "\r\nContent-Type: text/plain; charset=utf-8");
  const std::size_t html = mime.find("--" + boundary + "\r\nContent-Type: text/html; charset=utf-8");
  const std::size_t end = mime.find("--" + boundary + "--\r\n");
  BOOST_TEST(plain != std::string::npos);
  BOOST_TEST(html != std::string::npos);
  BOOST_TEST(end != std::string::npos);
  BOOST_TEST((plain < html && html < end));
  // Every line within 78 characters, CRLF only.
  std::size_t at = 0;
  while (at < mime.size()) {
    std::size_t eol = mime.find("\r\n", at);
    BOOST_REQUIRE(eol != std::string::npos);
    BOOST_TEST(eol - at <= 78u);
    BOOST_TEST(mime.substr(at, eol - at).find('\n') == std::string::npos);
    at = eol + 2;
  }
  // The parts decode to what was rendered.
  const std::size_t text_start = mime.find("\r\n\r\n", plain) + 4;
  const std::string text_qp = mime.substr(text_start, html - 2 - text_start);
  BOOST_TEST(DecodeQp(text_qp) == m.text);
}

BOOST_AUTO_TEST_CASE(quoted_printable_encodes_what_it_must) {
  BOOST_TEST(QuotedPrintable("a=b") == "a=3Db");
  BOOST_TEST(QuotedPrintable("end \nnext") == "end=20\r\nnext");
  BOOST_TEST(QuotedPrintable("caf\xc3\xa9") == "caf=C3=A9");
  BOOST_TEST(QuotedPrintable(".\n") == "=2E\r\n");
  const std::string long_line(200, 'x');
  const std::string qp = QuotedPrintable(long_line);
  BOOST_TEST(qp.find("=\r\n") == 75u);
  BOOST_TEST(DecodeQp(qp) == long_line);
}

BOOST_AUTO_TEST_CASE(headers_are_encoded_when_not_ascii_and_folded_when_long) {
  BOOST_TEST(EncodeHeader("[dmarcwatch] plain") == "[dmarcwatch] plain");
  const std::string encoded = EncodeHeader("[dmarcwatch] caf\xc3\xa9");
  BOOST_TEST(encoded.find("=?UTF-8?B?") == 0u);
  BOOST_TEST(encoded.find("\r") == std::string::npos);
  const std::string folded = EncodeHeader(std::string(60, 'a') + " " + std::string(30, 'b'));
  BOOST_TEST(folded.find("\r\n ") == 60u);
  BOOST_TEST(EncodeHeader("a\r\nBcc: x").find('\n') == std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace dmarcwatch::alerts
