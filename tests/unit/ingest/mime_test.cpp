// The MIME walker, through Unpack (emails as reporters send them) and through
// its helpers (header blocks, parameters, transfer encodings, multipart
// splitting). Emails are written out here, CRLF or LF as real mail has them.

#include "mime.h"  // private to ingest; the test binary has ingest/src on its path

#include <zlib.h>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "dmarcwatch/ingest/unpack.h"

namespace dmarcwatch::ingest {
namespace {

using internal::DecodeBase64;
using internal::DecodeEncodedWords;
using internal::DecodeQuotedPrintable;
using internal::ParseHeaderBlock;
using internal::ParseStructuredValue;
using internal::SplitMultipart;

constexpr std::string_view kReport =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<feedback><report_metadata><org_name>example.net</org_name>"
    "<report_id>r-1</report_id></report_metadata></feedback>\n";

std::string Gzip(std::string_view data) {
  z_stream zs{};
  BOOST_REQUIRE(
      deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  std::string out(deflateBound(&zs, static_cast<uLong>(data.size())), '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  BOOST_REQUIRE(deflate(&zs, Z_FINISH) == Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

// RFC 2045 §6.8 base64 in 76-character lines.
std::string Base64(std::string_view data) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t line = 0;
  for (std::size_t i = 0; i < data.size(); i += 3) {
    std::uint32_t v = static_cast<unsigned char>(data[i]) << 16;
    if (i + 1 < data.size())
      v |= static_cast<std::uint32_t>(static_cast<unsigned char>(data[i + 1]) << 8);
    if (i + 2 < data.size()) v |= static_cast<unsigned char>(data[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < data.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += i + 2 < data.size() ? kAlphabet[v & 63] : '=';
    line += 4;
    if (line >= 76) {
      out += "\r\n";
      line = 0;
    }
  }
  return out;
}

// A multipart/mixed aggregate report email with a text part and one
// attachment, in CRLF.
std::string ReportEmail(
    const std::string& attachment_headers, const std::string& attachment_body,
    const std::string& top_content_type = "Content-Type: multipart/mixed; boundary=\"b1\"") {
  return "Received: from mx.example.net by mx.example.com\r\n"
         "From: noreply-dmarc@example.net\r\n"
         "To: dmarc@example.com\r\n"
         "Subject: Report domain: example.com Submitter: example.net Report-ID: r-1\r\n"
         "Message-ID: <r-1@example.net>\r\n"
         "MIME-Version: 1.0\r\n" +
         top_content_type +
         "\r\n"
         "\r\n"
         "This is a multi-part message in MIME format.\r\n"
         "--b1\r\n"
         "Content-Type: text/plain; charset=us-ascii\r\n"
         "\r\n"
         "This is an aggregate report from example.net.\r\n"
         "--b1\r\n" +
         attachment_headers + "\r\n\r\n" + attachment_body +
         "\r\n"
         "--b1--\r\n";
}

bool HasWarning(const Payload& p, std::string_view code) {
  return std::any_of(p.warnings.begin(), p.warnings.end(),
                     [&](const model::ParseWarning& w) { return w.code == code; });
}

const PayloadFailure* FindFailure(const Unpacked& u, std::string_view reason) {
  for (const PayloadFailure& f : u.failures) {
    if (f.status.reason() == reason) return &f;
  }
  return nullptr;
}

std::size_t CountSkipped(const Unpacked& u, std::string_view reason) {
  return static_cast<std::size_t>(std::count_if(
      u.skipped.begin(), u.skipped.end(), [&](const Skipped& s) { return s.reason == reason; }));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(mime)

// ----- emails through Unpack -------------------------------------------------

BOOST_AUTO_TEST_CASE(base64_zip_attachment_is_decoded_and_named_by_its_filename) {
  // A stored zip made by hand would need the zip helpers; a gzip is enough
  // to prove decoding, and the chain proves it was found by its bytes.
  const std::string email = ReportEmail(
      "Content-Type: application/gzip; name=\"example.net!example.com!1!2.xml.gz\"\r\n"
      "Content-Transfer-Encoding: base64\r\n"
      "Content-Disposition: attachment; filename=\"example.net!example.com!1!2.xml.gz\"",
      Base64(Gzip(kReport)));
  const Unpacked u = Unpack(email, "mail.eml", UnpackLimits{});
  BOOST_TEST(u.failures.empty());
  BOOST_TEST_REQUIRE(u.reports.size() == 1u);
  BOOST_TEST(u.reports[0].chain == "eml>gz>xml");
  BOOST_TEST(u.reports[0].name == "example.net!example.com!1!2.xml");
  BOOST_TEST(u.reports[0].bytes == kReport);
  BOOST_TEST(u.reports[0].warnings.empty());
  // The text part is a human-readable body, recorded but not a failure.
  BOOST_TEST(CountSkipped(u, "not_a_report") == 1u);
  BOOST_TEST(u.message_id.value_or("") == "<r-1@example.net>");
  BOOST_TEST(u.subject.value_or("") ==
             "Report domain: example.com Submitter: example.net Report-ID: r-1");
}

BOOST_AUTO_TEST_CASE(gzip_attachment_declared_as_octet_stream_is_found_by_its_bytes) {
  const std::string email = ReportEmail(
      "Content-Type: application/octet-stream;\r\n\tname=amazonses.com!x!1!2.xml.gz\r\n"
      "Content-Transfer-Encoding: base64\r\n"
      "Content-Disposition: attachment;\r\n\tfilename=amazonses.com!x!1!2.xml.gz",
      Base64(Gzip(kReport)));
  const Unpacked u = Unpack(email, "mail.eml", UnpackLimits{});
  BOOST_TEST_REQUIRE(u.reports.size() == 1u);
  BOOST_TEST(u.reports[0].chain == "eml>gz>xml");
  BOOST_TEST(u.reports[0].name == "amazonses.com!x!1!2.xml");
}

BOOST_AUTO_TEST_CASE(microsoft_style_unindented_continuation_is_joined_with_a_warning) {
  // The boundary parameter sits on its own line without leading
  // whitespace; a strict parser finds no boundary and no attachment.
  const std::string email = ReportEmail(
      "Content-Type: application/gzip\r\nContent-Transfer-Encoding: base64\r\n"
      "Content-Disposition: attachment; filename=\"r.xml.gz\"",
      Base64(Gzip(kReport)),
      "Content-Type: multipart/mixed;\r\nboundary=\"b1\"; report-type=tlsrpt");
  const Unpacked u = Unpack(email, "mail.eml", UnpackLimits{});
  BOOST_TEST(u.failures.empty());
  BOOST_TEST_REQUIRE(u.reports.size() == 1u);
  BOOST_TEST(u.reports[0].chain == "eml>gz>xml");
  BOOST_TEST(HasWarning(u.reports[0], "mime_header_continuation"));
}

BOOST_AUTO_TEST_CASE(bare_name_line_in_an_attachment_header_names_the_payload) {
  // As in Microsoft reports of 2024: "name=" alone on a line in the part
  // header.
  const std::string email = ReportEmail(
      "Content-Type: application/gzip;\r\nname=report.xml.gz\r\nContent-Transfer-Encoding: base64",
      Base64(Gzip(kReport)));
  const Unpacked u = Unpack(email, "mail.eml", UnpackLimits{});
  BOOST_TEST_REQUIRE(u.reports.size() == 1u);
  BOOST_TEST(u.reports[0].name == "report.xml");
  BOOST_TEST_REQUIRE(u.reports[0].warnings.size() == 1u);
  BOOST_TEST(u.reports[0].warnings[0].code == "mime_header_continuation");
  BOOST_TEST(u.reports[0].warnings[0].detail.find("name=report.xml.gz") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(quoted_printable_xml_part_is_decoded) {
  const std::string qp =
      "<?xml version=3D\"1.0\"?>\r\n"
      "<feedback><report_metadata><org_name>exa=\r\nmple.net</org_name>   \r\n"
      "</report_metadata></feedback>";
  const std::string email =
      ReportEmail("Content-Type: text/xml\r\nContent-Transfer-Encoding: quoted-printable", qp);
  const Unpacked u = Unpack(email, "mail.eml", UnpackLimits{});
  BOOST_TEST_REQUIRE(u.reports.size() == 1u);
  BOOST_TEST(u.reports[0].chain == "eml>xml");
  BOOST_TEST(u.reports[0].name == "mail.eml");
  BOOST_TEST(u.reports[0].bytes ==
             "<?xml version=\"1.0\"?>\r\n"
             "<feedback><report_metadata><org_name>example.net</org_name>\r\n"
             "</report_metadata></feedback>");
}

BOOST_AUTO_TEST_CASE(single_part_xml_email_is_a_report) {
  const std::string email =
      "From: noreply@example.net\n"
      "Subject: report\n"
      "Content-Type: text/xml; charset=utf-8\n"
      "\n" +
      std::string(kReport);
  const Unpacked u = Unpack(email, "inline.eml", UnpackLimits{});
  BOOST_TEST_REQUIRE(u.reports.size() == 1u);
  BOOST_TEST(u.reports[0].chain == "eml>xml");
  BOOST_TEST(u.reports[0].bytes == kReport);
}

BOOST_AUTO_TEST_CASE(html_only_email_fails_with_no_report_in_message_and_skips_the_html) {
  const std::string email =
      "Received: from mx.example.net\r\n"
      "From: someone@example.net\r\n"
      "Subject: Hello\r\n"
      "Content-Type: text/html; charset=utf-8\r\n"
      "\r\n"
      "<html><body><p>Not a report.</p></body></html>\r\n";
  const Unpacked u = Unpack(email, "hello.eml", UnpackLimits{});
  BOOST_TEST(u.reports.empty());
  BOOST_TEST_REQUIRE(u.skipped.size() == 1u);
  BOOST_TEST(u.skipped[0].chain == "eml>xml");
  BOOST_TEST(u.skipped[0].reason == "not_a_report");
  BOOST_TEST_REQUIRE(u.failures.size() == 1u);
  BOOST_TEST(u.failures[0].chain == "eml");
  BOOST_TEST(u.failures[0].name == "hello.eml");
  BOOST_TEST(u.failures[0].status.reason() == "no_report_in_message");
  BOOST_TEST(u.subject.value_or("") == "Hello");
}

BOOST_AUTO_TEST_CASE(json_attachment_is_skipped_as_an_smtp_tls_report) {
  const std::string email = ReportEmail(
      "Content-Type: application/tlsrpt+json\r\n"
      "Content-Disposition: attachment; filename=\"x!example.com!1!2.json\"",
      "{\"organization-name\": \"example.net\", \"policies\": []}",
      "Content-Type: multipart/report; report-type=tlsrpt; boundary=\"b1\"");
  const Unpacked u = Unpack(email, "tls.eml", UnpackLimits{});
  BOOST_TEST(u.reports.empty());
  BOOST_TEST(u.failures.empty());
  BOOST_TEST(CountSkipped(u, "smtp_tls_report") == 1u);
  const auto it = std::find_if(u.skipped.begin(), u.skipped.end(),
                               [](const Skipped& s) { return s.reason == "smtp_tls_report"; });
  BOOST_TEST(it->chain == "eml>json");
  BOOST_TEST(it->name == "x!example.com!1!2.json");
}

BOOST_AUTO_TEST_CASE(failure_report_is_skipped_whole_even_when_the_reported_message_has_a_report) {
  // The reported message (message/rfc822) carries an aggregate report; it
  // must not be imported as ours.
  const std::string reported = ReportEmail(
      "Content-Type: application/gzip\r\nContent-Transfer-Encoding: base64\r\n"
      "Content-Disposition: attachment; filename=\"r.xml.gz\"",
      Base64(Gzip(kReport)));
  const std::string email =
      "From: dmarc-failure@example.net\r\n"
      "Subject: DMARC failure report\r\n"
      "Content-Type: multipart/report; report-type=feedback-report;\r\n"
      "    boundary=\"arf\"\r\n"
      "\r\n"
      "--arf\r\n"
      "Content-Type: text/plain\r\n\r\nA message failed DMARC.\r\n"
      "--arf\r\n"
      "Content-Type: message/feedback-report\r\n\r\nFeedback-Type: auth-failure\r\n"
      "--arf\r\n"
      "Content-Type: message/rfc822\r\n\r\n" +
      reported + "\r\n--arf--\r\n";
  const Unpacked u = Unpack(email, "ruf.eml", UnpackLimits{});
  BOOST_TEST(u.reports.empty());
  BOOST_TEST(u.failures.empty());
  BOOST_TEST_REQUIRE(u.skipped.size() == 1u);
  BOOST_TEST(u.skipped[0].chain == "eml>arf");
  BOOST_TEST(u.skipped[0].reason == "failure_report");
}

BOOST_AUTO_TEST_CASE(feedback_report_part_in_multipart_mixed_is_a_failure_report) {
  const std::string email =
      "From: abuse@example.net\n"
      "Content-Type: multipart/mixed; boundary=\"m\"\n"
      "\n"
      "--m\nContent-Type: text/plain\n\nReport.\n"
      "--m\nContent-Type: message/feedback-report; name=\"ATT00001\"\n"
      "Content-Transfer-Encoding: base64\n\nRmVlZGJhY2stVHlwZTogYXV0aC1mYWlsdXJl\n"
      "--m\nContent-Type: message/rfc822\n\nFrom: x@example.org\n\nhello\n"
      "--m--\n";
  const Unpacked u = Unpack(email, "ruf.eml", UnpackLimits{});
  BOOST_TEST(u.failures.empty());
  BOOST_TEST_REQUIRE(u.skipped.size() == 1u);
  BOOST_TEST(u.skipped[0].reason == "failure_report");
  BOOST_TEST(u.skipped[0].chain == "eml>arf");
}

BOOST_AUTO_TEST_CASE(multipart_report_without_report_type_and_no_report_is_a_failure_report) {
  // RFC 6522 requires report-type; a DMARC failure report written as plain
  // text without it exists in the corpus (forensic/..exim..).
  const std::string email =
      "From: no-reply@mailgate.example.net\n"
      "Subject: DMARC Forensic Report for example.com\n"
      "Content-Type: multipart/report;\n boundary=\"r\"\n"
      "\n"
      "--r\nContent-Type: text/plain\n\nA message claiming to be from you failed DMARC.\n"
      "--r--\n";
  const Unpacked u = Unpack(email, "ruf.eml", UnpackLimits{});
  BOOST_TEST(u.failures.empty());
  BOOST_TEST(CountSkipped(u, "failure_report") == 1u);
  BOOST_TEST(CountSkipped(u, "not_a_report") == 1u);
}

BOOST_AUTO_TEST_CASE(message_rfc822_part_is_walked_as_a_nested_email) {
  const std::string inner = ReportEmail(
      "Content-Type: application/gzip\r\nContent-Transfer-Encoding: base64\r\n"
      "Content-Disposition: attachment; filename=\"r.xml.gz\"",
      Base64(Gzip(kReport)));
  const std::string email =
      "From: forwarder@example.com\r\n"
      "Message-ID: <outer@example.com>\r\n"
      "Subject: Fwd: report\r\n"
      "Content-Type: multipart/mixed; boundary=\"fwd\"\r\n"
      "\r\n"
      "--fwd\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n"
      "--fwd\r\nContent-Type: message/rfc822\r\n\r\n" +
      inner + "\r\n--fwd--\r\n";
  const Unpacked u = Unpack(email, "fwd.eml", UnpackLimits{});
  BOOST_TEST(u.failures.empty());
  BOOST_TEST_REQUIRE(u.reports.size() == 1u);
  BOOST_TEST(u.reports[0].chain == "eml>eml>gz>xml");
  BOOST_TEST(u.reports[0].name == "r.xml");
  // The outermost message's headers, not the forwarded one's.
  BOOST_TEST(u.message_id.value_or("") == "<outer@example.com>");
  BOOST_TEST(u.subject.value_or("") == "Fwd: report");
}

BOOST_AUTO_TEST_CASE(nested_emails_past_max_depth_are_refused_naming_the_limit) {
  std::string email = "From: a@example.net\nContent-Type: text/xml\n\n" + std::string(kReport);
  // Depth 4 (eml>eml>eml>eml) is allowed; a fifth email is not.
  for (int i = 0; i < 3; ++i)
    email = "From: a@example.net\nContent-Type: message/rfc822\n\n" + email;
  const Unpacked ok = Unpack(email, "n.eml", UnpackLimits{});
  BOOST_TEST_REQUIRE(ok.reports.size() == 1u);
  BOOST_TEST(ok.reports[0].chain == "eml>eml>eml>eml>xml");

  email = "From: a@example.net\nContent-Type: message/rfc822\n\n" + email;
  const Unpacked deep = Unpack(email, "n.eml", UnpackLimits{});
  BOOST_TEST(deep.reports.empty());
  const PayloadFailure* f = FindFailure(deep, "max_depth");
  BOOST_TEST_REQUIRE(f != nullptr);
  BOOST_TEST(f->chain == "eml>eml>eml>eml>eml");
  BOOST_TEST(static_cast<int>(f->status.code()) == static_cast<int>(StatusCode::kLimitExceeded));
}

BOOST_AUTO_TEST_CASE(too_many_mime_parts_is_rejected_naming_max_mime_parts) {
  std::string email = "From: a@example.net\nContent-Type: multipart/mixed; boundary=\"p\"\n\n";
  for (int i = 0; i < 40; ++i)
    email += "--p\nContent-Type: text/plain\n\npart " + std::to_string(i) + "\n";
  email += "--p--\n";
  const Unpacked u = Unpack(email, "parts.eml", UnpackLimits{});
  const PayloadFailure* f = FindFailure(u, "max_mime_parts");
  BOOST_TEST_REQUIRE(f != nullptr);
  BOOST_TEST(f->chain == "eml");
  BOOST_TEST(f->status.message() == "number of MIME parts exceeds max_mime_parts (32)");
  // The message itself is part 1, so 31 text parts were looked at.
  BOOST_TEST(CountSkipped(u, "not_a_report") == 31u);
  BOOST_TEST(FindFailure(u, "no_report_in_message") == nullptr);
}

BOOST_AUTO_TEST_CASE(deeply_nested_multiparts_stop_at_max_mime_parts_without_recursion) {
  std::string email = "From: a@example.net\nContent-Type: multipart/mixed; boundary=\"b0\"\n\n";
  constexpr int kLevels = 5000;
  for (int i = 0; i < kLevels; ++i) {
    email += "--b" + std::to_string(i) + "\nContent-Type: multipart/mixed; boundary=\"b" +
             std::to_string(i + 1) + "\"\n\n";
  }
  const Unpacked u = Unpack(email, "deep.eml", UnpackLimits{});
  BOOST_TEST(FindFailure(u, "max_mime_parts") != nullptr);
}

BOOST_AUTO_TEST_CASE(too_many_candidate_parts_is_rejected_naming_max_candidates) {
  std::string email = "From: a@example.net\nContent-Type: multipart/mixed; boundary=\"c\"\n\n";
  for (int i = 0; i < 6; ++i) {
    email +=
        "--c\nContent-Type: application/gzip\nContent-Transfer-Encoding: base64\n"
        "Content-Disposition: attachment; filename=\"r" +
        std::to_string(i) + ".xml.gz\"\n\n" + Base64(Gzip(kReport)) + "\n";
  }
  email += "--c--\n";
  const Unpacked u = Unpack(email, "many.eml", UnpackLimits{});
  BOOST_TEST(u.reports.size() == 4u);
  BOOST_TEST_REQUIRE(u.failures.size() == 1u);
  BOOST_TEST(u.failures[0].status.reason() == "max_candidates");
  BOOST_TEST(u.failures[0].name == "r4.xml.gz");
  BOOST_TEST(u.failures[0].status.message() ==
             "number of candidate parts exceeds max_candidates (4)");
}

BOOST_AUTO_TEST_CASE(oversized_header_block_is_rejected_naming_max_header_bytes) {
  std::string email = "From: a@example.net\n";
  for (int i = 0; i < 100; ++i) email += "X-Filler: " + std::string(100, 'x') + "\n";
  email += "Content-Type: text/xml\n\n" + std::string(kReport);
  UnpackLimits limits;
  limits.max_header_bytes = 4096;
  const Unpacked u = Unpack(email, "big.eml", limits);
  BOOST_TEST(u.reports.empty());
  const PayloadFailure* f = FindFailure(u, "max_header_bytes");
  BOOST_TEST_REQUIRE(f != nullptr);
  BOOST_TEST(f->status.message() == "header block size exceeds max_header_bytes (4096)");
  limits.max_header_bytes = 64 * 1024;
  BOOST_TEST(Unpack(email, "big.eml", limits).reports.size() == 1u);
}

BOOST_AUTO_TEST_CASE(mbox_from_line_before_the_headers_is_skipped) {
  const std::string email =
      "From dmarc@example.net Tue Apr 30 02:09:16 2019\n"
      "Message-ID: <mbox@example.net>\n"
      "Content-Type: text/xml\n"
      "\n" +
      std::string(kReport);
  const Unpacked u = Unpack(email, "m.eml", UnpackLimits{});
  BOOST_TEST_REQUIRE(u.reports.size() == 1u);
  BOOST_TEST(u.message_id.value_or("") == "<mbox@example.net>");
}

BOOST_AUTO_TEST_CASE(rfc2231_and_rfc2047_filenames_are_decoded) {
  const std::string rfc2231 = ReportEmail(
      "Content-Type: application/gzip\r\nContent-Transfer-Encoding: base64\r\n"
      "Content-Disposition: attachment;\r\n filename*0*=UTF-8''r%C3%A9port;\r\n "
      "filename*1=\".xml.gz\"",
      Base64(Gzip(kReport)));
  Unpacked u = Unpack(rfc2231, "m.eml", UnpackLimits{});
  BOOST_TEST_REQUIRE(u.reports.size() == 1u);
  BOOST_TEST(u.reports[0].name == "r\xC3\xA9port.xml");

  const std::string rfc2047 = ReportEmail(
      "Content-Type: application/gzip; name=\"=?ISO-8859-1?Q?r=E9port=2Exml=2Egz?=\"\r\n"
      "Content-Transfer-Encoding: base64",
      Base64(Gzip(kReport)));
  u = Unpack(rfc2047, "m.eml", UnpackLimits{});
  BOOST_TEST_REQUIRE(u.reports.size() == 1u);
  BOOST_TEST(u.reports[0].name == "r\xC3\xA9port.xml");
}

BOOST_AUTO_TEST_CASE(empty_attachment_with_a_filename_fails_with_empty_payload) {
  const std::string email = ReportEmail(
      "Content-Type: application/gzip\r\nContent-Disposition: attachment; filename=\"r.xml.gz\"",
      "");
  const Unpacked u = Unpack(email, "m.eml", UnpackLimits{});
  const PayloadFailure* f = FindFailure(u, "empty_payload");
  BOOST_TEST_REQUIRE(f != nullptr);
  BOOST_TEST(f->chain == "eml>empty");
  BOOST_TEST(f->name == "r.xml.gz");
}

BOOST_AUTO_TEST_CASE(multipart_without_a_usable_boundary_is_one_opaque_part) {
  const std::string email =
      "From: a@example.net\n"
      "Content-Type: multipart/mixed\n"
      "\n"
      "--x\nContent-Type: text/plain\n\nhello\n--x--\n";
  const Unpacked u = Unpack(email, "m.eml", UnpackLimits{});
  BOOST_TEST(u.reports.empty());
  BOOST_TEST(FindFailure(u, "no_report_in_message") != nullptr);
}

BOOST_AUTO_TEST_CASE(report_pasted_after_prose_in_a_text_body_is_found) {
  const std::string email =
      "From: a@example.net\n"
      "Content-Type: text/plain\n"
      "\n"
      "Report follows.\n" +
      std::string(kReport).substr(std::string_view(kReport).find("<feedback"));
  const Unpacked u = Unpack(email, "m.eml", UnpackLimits{});
  BOOST_TEST_REQUIRE(u.reports.size() == 1u);
  BOOST_TEST(u.reports[0].chain == "eml>xml");
}

BOOST_AUTO_TEST_CASE(hostile_emails_never_crash_and_always_yield_an_outcome) {
  const std::string good = ReportEmail(
      "Content-Type: application/gzip; name*=\"UTF-8''r%zz\"\r\nContent-Transfer-Encoding: "
      "base64\r\n"
      "Content-Disposition: attachment; filename=\"=?UTF-8?B?cg==?==?UTF-8?Q?_x?=\"",
      Base64(Gzip(kReport)));
  for (std::size_t n = 0; n <= good.size(); n += 7) {
    const Unpacked u = Unpack(std::string_view(good).substr(0, n), "m.eml", UnpackLimits{});
    BOOST_TEST_REQUIRE(u.reports.size() + u.failures.size() + u.skipped.size() >= 1u);
  }
  const std::vector<std::string> odd = {
      "From: a\n",
      "From: a\nContent-Type: multipart/mixed; boundary=\"\n\n--\n",
      "From: a\nContent-Type: multipart/mixed; boundary=b\n\n--b\n--b\n--b\n",
      "From: a\nContent-Type: ;;;=;\"\n\n<?xml",
      "From: a\nContent-Type: message/rfc822\n\n",
      "From: a\nSubject: =?=?=?=?x?B?=?UTF-8?Q?=ZZ?=\n\n",
      "From \n",
      "From: a\n" + std::string(1000, '=') + "\n\n",
  };
  for (const std::string& input : odd) {
    const Unpacked u = Unpack(input, "m.eml", UnpackLimits{});
    BOOST_TEST_REQUIRE(u.reports.size() + u.failures.size() + u.skipped.size() >= 1u);
  }
}

// ----- helpers ---------------------------------------------------------------

BOOST_AUTO_TEST_CASE(header_block_unfolds_and_joins_lines_without_a_field_name) {
  const std::string block =
      "Content-Type: multipart/report;\r\n"
      "boundary=\"a737a3b9-5ea5\"; report-type=tlsrpt\r\n"
      "Subject: folded\r\n"
      "\tline\r\n"
      "x=y: not a field\r\n"
      "\r\n"
      "body";
  const Result<internal::HeaderBlock> parsed = ParseHeaderBlock(block, 1024);
  BOOST_TEST_REQUIRE(parsed.ok());
  BOOST_TEST_REQUIRE(parsed->fields.size() == 2u);
  BOOST_TEST(parsed->fields[0].name == "Content-Type");
  BOOST_TEST(parsed->fields[0].value ==
             "multipart/report; boundary=\"a737a3b9-5ea5\"; report-type=tlsrpt");
  BOOST_TEST(parsed->fields[1].value == "folded\tline x=y: not a field");
  BOOST_TEST(block.substr(parsed->body_offset) == "body");
  BOOST_TEST_REQUIRE(parsed->warnings.size() == 1u);
  BOOST_TEST(parsed->warnings[0].code == "mime_header_continuation");
  BOOST_TEST(parsed->warnings[0].detail.find("(and 1 more)") != std::string::npos);
  const std::string* ct = parsed->Find("content-type");
  BOOST_TEST_REQUIRE(ct != nullptr);
  const internal::StructuredValue content_type = ParseStructuredValue(*ct);
  BOOST_TEST_REQUIRE(content_type.Param("boundary") != nullptr);
  BOOST_TEST(*content_type.Param("boundary") == "a737a3b9-5ea5");
}

BOOST_AUTO_TEST_CASE(part_that_starts_with_body_text_has_no_header_block) {
  const Result<internal::HeaderBlock> parsed = ParseHeaderBlock("just text\nmore", 1024);
  BOOST_TEST_REQUIRE(parsed.ok());
  BOOST_TEST(parsed->fields.empty());
  BOOST_TEST(parsed->body_offset == 0u);
  const Result<internal::HeaderBlock> empty_block = ParseHeaderBlock("\r\nbody", 1024);
  BOOST_TEST_REQUIRE(empty_block.ok());
  BOOST_TEST(empty_block->body_offset == 2u);
}

BOOST_AUTO_TEST_CASE(structured_values_are_parsed_leniently) {
  const internal::StructuredValue v = ParseStructuredValue(
      " Application/GZIP ;; NAME=\"a \\\"quoted\\\" name\" ; junk ; filename*=iso-8859-1'en'caf%E9;"
      " broken=\"unterminated");
  BOOST_TEST(v.value == "Application/GZIP");
  BOOST_TEST_REQUIRE(v.Param("name") != nullptr);
  BOOST_TEST(*v.Param("name") == "a \"quoted\" name");
  BOOST_TEST_REQUIRE(v.Param("filename") != nullptr);
  BOOST_TEST(*v.Param("filename") == "caf\xC3\xA9");
  BOOST_TEST_REQUIRE(v.Param("broken") != nullptr);
  BOOST_TEST(*v.Param("broken") == "unterminated");
  BOOST_TEST(v.Param("junk") == nullptr);
}

BOOST_AUTO_TEST_CASE(base64_decoding_skips_noise_and_survives_inner_padding) {
  BOOST_TEST(DecodeBase64("PD94\r\nbWwg\t dmVy!!c2lvbj0=") == "<?xml version=");
  BOOST_TEST(DecodeBase64("YQ==YmM=") == "abc");
  BOOST_TEST(DecodeBase64("") == "");
  BOOST_TEST(DecodeBase64("====") == "");
}

BOOST_AUTO_TEST_CASE(quoted_printable_decoding_follows_rfc2045) {
  BOOST_TEST(DecodeQuotedPrintable("a=3Db=3d=\r\nc") == "a=b=c");
  BOOST_TEST(DecodeQuotedPrintable("soft=  \nbreak") == "softbreak");
  BOOST_TEST(DecodeQuotedPrintable("trailing   \r\nspace \t\nend") == "trailing\r\nspace\nend");
  BOOST_TEST(DecodeQuotedPrintable("bad =ZZ and =4") == "bad =ZZ and =4");
  BOOST_TEST(DecodeQuotedPrintable("end=") == "end");
}

BOOST_AUTO_TEST_CASE(encoded_words_are_decoded_and_joined) {
  BOOST_TEST(DecodeEncodedWords("=?utf-8?B?UmVwb3J0?= =?utf-8?Q?_domain?= done") ==
             "Report domain done");
  BOOST_TEST(DecodeEncodedWords("=?windows-1252?Q?=80?=") == "\xE2\x82\xAC");
  BOOST_TEST(DecodeEncodedWords("=?x-unknown?Q?abc?= stays") == "=?x-unknown?Q?abc?= stays");
  BOOST_TEST(DecodeEncodedWords("plain =? text") == "plain =? text");
}

BOOST_AUTO_TEST_CASE(multipart_split_honours_delimiters_preamble_and_epilogue) {
  const std::string body =
      "preamble\r\n"
      "--b\r\n"
      "one\r\n"
      "--bb\r\n"  // another boundary that starts like this one: not a delimiter
      "still one\r\n"
      "--b  \r\n"  // transport padding
      "two\r\n"
      "--b--\r\n"
      "epilogue\r\n--b\r\nignored\r\n";
  bool more = true;
  const std::vector<std::string_view> parts = SplitMultipart(body, "b", 10, &more);
  BOOST_TEST(!more);
  BOOST_TEST_REQUIRE(parts.size() == 2u);
  BOOST_TEST(parts[0] == "one\r\n--bb\r\nstill one");
  BOOST_TEST(parts[1] == "two");

  // No close delimiter: the last part runs to the end.
  const std::vector<std::string_view> open = SplitMultipart("--b\nx\n--b\ny\n", "b", 10, &more);
  BOOST_TEST_REQUIRE(open.size() == 2u);
  BOOST_TEST(open[1] == "y\n");

  const std::vector<std::string_view> capped =
      SplitMultipart("--b\n1\n--b\n2\n--b\n3\n--b--", "b", 2, &more);
  BOOST_TEST(capped.size() == 2u);
  BOOST_TEST(more);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace dmarcwatch::ingest
