// The report generator: determinism, XML escaping through a real parser,
// gzip / zip / email containers read back with zlib and libarchive, and the
// committed demo data (samples/demo) checked against its TRUTH.tsv and
// against what the generator produces today.

#define ZLIB_CONST
#include "generator.h"

#include <archive.h>
#include <archive_entry.h>
#include <zlib.h>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <pugixml.hpp>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace dmarcwatch::bench {
namespace {

namespace fs = std::filesystem;

constexpr model::UnixTime kOct1 = 1790812800;  // 2026-10-01T00:00:00Z
constexpr model::UnixTime kDay = 86400;

// ---- Readers, written against the libraries, not the generator -------------------

std::string Gunzip(std::string_view gz) {
  z_stream zs{};
  BOOST_REQUIRE(inflateInit2(&zs, 16 + MAX_WBITS) == Z_OK);
  zs.next_in = reinterpret_cast<const Bytef*>(gz.data());
  zs.avail_in = static_cast<uInt>(gz.size());
  std::string out;
  char buffer[65536];
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    zs.next_out = reinterpret_cast<Bytef*>(buffer);
    zs.avail_out = sizeof buffer;
    rc = inflate(&zs, Z_NO_FLUSH);
    BOOST_REQUIRE_MESSAGE(rc == Z_OK || rc == Z_STREAM_END, "inflate failed: " << rc);
    out.append(buffer, sizeof buffer - zs.avail_out);
  }
  BOOST_TEST(zs.avail_in == 0u, "bytes after the gzip stream");
  inflateEnd(&zs);
  return out;
}

struct ZipEntry {
  std::string name;
  std::string data;
  std::time_t mtime = 0;
};

std::vector<ZipEntry> Unzip(std::string_view zip) {
  std::unique_ptr<struct archive, int (*)(struct archive*)> a(archive_read_new(),
                                                              archive_read_free);
  archive_read_support_format_zip(a.get());
  BOOST_REQUIRE(archive_read_open_memory(a.get(), zip.data(), zip.size()) == ARCHIVE_OK);
  std::vector<ZipEntry> entries;
  struct archive_entry* entry = nullptr;
  while (archive_read_next_header(a.get(), &entry) == ARCHIVE_OK) {
    ZipEntry e;
    e.name = archive_entry_pathname(entry);
    e.mtime = archive_entry_mtime(entry);
    char buffer[65536];
    la_ssize_t n;
    while ((n = archive_read_data(a.get(), buffer, sizeof buffer)) > 0) {
      e.data.append(buffer, static_cast<std::size_t>(n));
    }
    if (n != 0) BOOST_FAIL("cannot read a zip entry's data");
    entries.push_back(std::move(e));
  }
  return entries;
}

std::string DecodeBase64(std::string_view text) {
  std::string out;
  std::uint32_t bits = 0;
  int have = 0;
  for (char c : text) {
    int v;
    if (c >= 'A' && c <= 'Z') {
      v = c - 'A';
    } else if (c >= 'a' && c <= 'z') {
      v = c - 'a' + 26;
    } else if (c >= '0' && c <= '9') {
      v = c - '0' + 52;
    } else if (c == '+') {
      v = 62;
    } else if (c == '/') {
      v = 63;
    } else {
      continue;  // line breaks and '=' padding
    }
    bits = (bits << 6) | static_cast<std::uint32_t>(v);
    have += 6;
    if (have >= 8) {
      have -= 8;
      out += static_cast<char>((bits >> have) & 0xff);
    }
  }
  return out;
}

// The body of the base64 part of a report email.
std::string AttachmentOf(const std::string& eml) {
  const std::size_t header = eml.find("Content-Transfer-Encoding: base64\r\n");
  BOOST_REQUIRE(header != std::string::npos);
  const std::size_t body = eml.find("\r\n\r\n", header);
  BOOST_REQUIRE(body != std::string::npos);
  const std::size_t end = eml.find("\r\n--", body + 4);
  BOOST_REQUIRE(end != std::string::npos);
  return DecodeBase64(std::string_view(eml).substr(body + 4, end - body - 4));
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// The report XML inside a generated file, by its extension.
std::string XmlOf(const std::string& name, const std::string& bytes) {
  if (EndsWith(name, ".xml.gz")) return Gunzip(bytes);
  if (EndsWith(name, ".zip")) {
    auto entries = Unzip(bytes);
    BOOST_REQUIRE_EQUAL(entries.size(), 1u);
    return entries[0].data;
  }
  if (EndsWith(name, ".eml")) return Gunzip(AttachmentOf(bytes));
  BOOST_REQUIRE(EndsWith(name, ".xml"));
  return bytes;
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  BOOST_REQUIRE_MESSAGE(in, "cannot read " << path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> Split(const std::string& line, char sep) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (true) {
    const std::size_t next = line.find(sep, pos);
    out.push_back(line.substr(pos, next == std::string::npos ? std::string::npos : next - pos));
    if (next == std::string::npos) return out;
    pos = next + 1;
  }
}

// Relaxed alignment as the brief for this data states it: the same domain or
// a subdomain of the header From domain (all demo domains are example.com
// or example.net, directly under a one-label suffix).
bool Aligned(const std::string& domain, const std::string& header_from) {
  return domain == header_from || EndsWith(domain, "." + header_from);
}

// ---- The data under test ----------------------------------------------------------------

const DemoOutput& DefaultDemo() {
  static const DemoOutput demo = [] {
    auto built = BuildDemo(DemoOptions{});
    if (!built.ok()) BOOST_FAIL(built.status().ToString());
    return std::move(built).value();
  }();
  return demo;
}

const fs::path kDemoDir = fs::path(DMARC_SOURCE_DIR) / "samples" / "demo";

struct TruthLine {
  std::vector<std::string> f;  // the 13 columns
  const std::string& file() const { return f[0]; }
  std::uint64_t count() const { return std::stoull(f[5]); }
  const std::string& kind() const { return f[6]; }
};

std::vector<TruthLine> CommittedTruth() {
  std::istringstream in(ReadFile(kDemoDir / "TRUTH.tsv"));
  std::string line;
  std::getline(in, line);
  BOOST_REQUIRE_EQUAL(line,
                      "file\treport_id\tpolicy_domain\trow\tsource_ip\tcount\tkind\tname\t"
                      "provider\tspf_aligned\tdkim_aligned\tdmarc_pass\treporter_disagrees");
  std::vector<TruthLine> out;
  while (std::getline(in, line)) {
    TruthLine t{Split(line, '\t')};
    BOOST_REQUIRE_MESSAGE(t.f.size() == 13u, "bad truth line: " << line);
    out.push_back(std::move(t));
  }
  return out;
}

// name -> bytes of every file in the committed reports folder.
std::map<std::string, std::string> CommittedFiles() {
  std::map<std::string, std::string> files;
  for (const auto& entry : fs::directory_iterator(kDemoDir / "reports")) {
    files[entry.path().filename().string()] = ReadFile(entry.path());
  }
  return files;
}

// Fields of "<reporter>!<domain>!<begin>!<end>.<ext>".
struct FileName {
  std::string reporter;
  std::string domain;
  model::UnixTime begin = 0;
  model::UnixTime end = 0;
};

FileName ParseName(const std::string& name) {
  auto parts = Split(name, '!');
  BOOST_REQUIRE_EQUAL(parts.size(), 4u);
  return {parts[0], parts[1], std::stoll(parts[2]), std::stoll(parts[3].substr(0, 10))};
}

model::Report SmallReport() {
  model::Report r;
  r.report_metadata.org_name = "google.com";
  r.report_metadata.email = "noreply-dmarc-support@google.com";
  r.report_metadata.report_id = "1234567890123456789";
  r.report_metadata.date_range = {kOct1, kOct1 + kDay - 1};
  r.policy_published.domain = "example.com";
  r.policy_published.p = model::Disposition::kNone;
  model::Record rec;
  rec.source_ip = *model::IpAddress::Parse("192.0.2.1");
  rec.count = 3;
  rec.identifiers.header_from = "example.com";
  rec.policy_evaluated = {
      model::AppliedDisposition::kNone, model::DmarcResult::kPass, model::DmarcResult::kPass, {}};
  rec.auth_results.dkim.push_back({"example.com", "mta", model::DkimResult::kPass, std::nullopt});
  rec.auth_results.spf.push_back(
      {"example.com", model::SpfScope::kMfrom, model::SpfResult::kPass, std::nullopt});
  r.records.push_back(rec);
  return r;
}

BOOST_AUTO_TEST_SUITE(generator)

// ---- Randomness and determinism ----------------------------------------------------------

BOOST_AUTO_TEST_CASE(rng_is_splitmix64) {
  Rng rng(0);
  BOOST_TEST(rng.Next() == 0xe220a8397b1dcdafULL);
  BOOST_TEST(rng.Next() == 0x6e789e6aa1b965f4ULL);
  BOOST_TEST(rng.Next() == 0x06c45d188009454fULL);
  for (int i = 0; i < 1000; ++i) {
    BOOST_TEST(rng.Below(7) < 7u);
    const std::int64_t v = rng.Between(-3, 3);
    BOOST_TEST((v >= -3 && v <= 3));
    const double u = rng.Unit();
    BOOST_TEST((u >= 0.0 && u < 1.0));
  }
}

BOOST_AUTO_TEST_CASE(same_seed_gives_byte_identical_files) {
  DemoOptions options;
  options.days = 3;
  options.seed = 7;
  auto a = BuildDemo(options);
  auto b = BuildDemo(options);
  BOOST_REQUIRE(a.ok());
  BOOST_REQUIRE(b.ok());
  BOOST_REQUIRE_EQUAL(a->files.size(), b->files.size());
  for (std::size_t i = 0; i < a->files.size(); ++i) {
    BOOST_TEST(a->files[i].name == b->files[i].name);
    BOOST_TEST((a->files[i].bytes == b->files[i].bytes), a->files[i].name << " differs");
  }
  BOOST_TEST(FormatTruthTsv(a->truth) == FormatTruthTsv(b->truth));
}

BOOST_AUTO_TEST_CASE(different_seed_gives_different_files) {
  DemoOptions options;
  options.days = 3;
  options.seed = 7;
  auto a = BuildDemo(options);
  options.seed = 8;
  auto b = BuildDemo(options);
  BOOST_REQUIRE(a.ok());
  BOOST_REQUIRE(b.ok());
  BOOST_REQUIRE_EQUAL(a->files.size(), b->files.size());
  for (std::size_t i = 0; i < a->files.size(); ++i) {
    BOOST_TEST(a->files[i].name == b->files[i].name);  // names come from the dates
    BOOST_TEST((a->files[i].bytes != b->files[i].bytes), a->files[i].name << " is the same");
  }
  BOOST_TEST(FormatTruthTsv(a->truth) != FormatTruthTsv(b->truth));
}

BOOST_AUTO_TEST_CASE(rejects_a_start_that_is_not_midnight_and_bad_day_counts) {
  DemoOptions options;
  options.start = kOct1 + 1;
  BOOST_TEST(!BuildDemo(options).ok());
  options.start = kOct1;
  options.days = 0;
  BOOST_TEST(!BuildDemo(options).ok());
}

// ---- XML ----------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(hostile_strings_round_trip_through_a_real_xml_parser) {
  const std::string org = "<script>alert('x')</script> & \"Co\"";
  const std::string id = "id]]>&amp;<!-- -->&#x41;";
  const std::string contact = "line one\r\nline two\ttab & <b>";
  const std::string comment = "</comment></reason><reason><type>forwarded";
  model::Report r = SmallReport();
  r.report_metadata.org_name = org;
  r.report_metadata.report_id = id;
  r.report_metadata.extra_contact_info = contact;
  r.records[0].policy_evaluated.reasons.push_back({model::PolicyOverride::kOther, comment});

  XmlStyle one_line;
  one_line.indent = "";
  one_line.newline = "";
  for (const XmlStyle& style : {XmlStyle{}, one_line}) {
    const std::string xml = WriteReportXml(r, style);
    BOOST_TEST(xml.find("<script>") == std::string::npos);
    pugi::xml_document doc;
    const pugi::xml_parse_result parsed = doc.load_buffer(xml.data(), xml.size());
    BOOST_REQUIRE_MESSAGE(parsed, parsed.description());
    const pugi::xml_node meta = doc.child("feedback").child("report_metadata");
    BOOST_TEST(std::string(meta.child_value("org_name")) == org);
    BOOST_TEST(std::string(meta.child_value("report_id")) == id);
    BOOST_TEST(std::string(meta.child_value("extra_contact_info")) == contact);
    const pugi::xml_node pe =
        doc.child("feedback").child("record").child("row").child("policy_evaluated");
    BOOST_TEST(std::distance(pe.children("reason").begin(), pe.children("reason").end()) == 1);
    BOOST_TEST(std::string(pe.child("reason").child_value("comment")) == comment);
  }
}

BOOST_AUTO_TEST_CASE(control_characters_xml_cannot_carry_become_question_marks) {
  BOOST_TEST(EscapeXml(std::string("a\x01"
                                   "b\x1f"
                                   "c",
                                   5)) == "a?b?c");
  BOOST_TEST(EscapeXml("\t\n") == "\t\n");
  BOOST_TEST(EscapeXml("\r") == "&#13;");
}

BOOST_AUTO_TEST_CASE(rfc9990_namespace_and_policy_fields_are_written) {
  model::Report r = SmallReport();
  r.xml_namespace = "urn:ietf:params:xml:ns:dmarc-2.0";
  r.policy_published.np = model::Disposition::kReject;
  r.policy_published.testing = model::Testing::kNo;
  r.policy_published.discovery_method = model::DiscoveryMethod::kPsl;
  const std::string xml = WriteReportXml(r);
  pugi::xml_document doc;
  BOOST_REQUIRE(doc.load_string(xml.c_str()));
  const pugi::xml_node feedback = doc.child("feedback");
  BOOST_TEST(std::string(feedback.attribute("xmlns").value()) ==
             "urn:ietf:params:xml:ns:dmarc-2.0");
  const pugi::xml_node policy = feedback.child("policy_published");
  BOOST_TEST(std::string(policy.child_value("np")) == "reject");
  BOOST_TEST(std::string(policy.child_value("testing")) == "n");
  BOOST_TEST(std::string(policy.child_value("discovery_method")) == "psl");
  BOOST_TEST(!policy.child("pct"));
}

// ---- Containers -----------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(gzip_inflates_back_to_the_xml_with_no_timestamp) {
  const std::string xml = WriteReportXml(SmallReport());
  auto gz = Gzip(xml, "r.xml");
  BOOST_REQUIRE(gz.ok());
  const std::string& g = *gz;
  BOOST_REQUIRE(g.size() > 10u);
  BOOST_TEST(static_cast<unsigned char>(g[0]) == 0x1fu);
  BOOST_TEST(static_cast<unsigned char>(g[1]) == 0x8bu);
  BOOST_TEST((g[3] & 0x08) != 0, "FNAME flag");
  BOOST_TEST(g.substr(4, 4) == std::string(4, '\0'), "MTIME is not 0");
  BOOST_TEST(static_cast<unsigned char>(g[9]) == 3u);
  BOOST_TEST(g.substr(10, 6) == std::string("r.xml\0", 6));
  BOOST_TEST(Gunzip(g) == xml);
}

BOOST_AUTO_TEST_CASE(gzip_round_trips_empty_and_large_inputs) {
  auto empty = Gzip("", "e.xml");
  BOOST_REQUIRE(empty.ok());
  BOOST_TEST(Gunzip(*empty).empty());
  std::string large;
  Rng rng(3);
  while (large.size() < (3u << 20)) large += std::to_string(rng.Next()) + "\n";
  auto gz = Gzip(large, "l.xml");
  BOOST_REQUIRE(gz.ok());
  BOOST_TEST((Gunzip(*gz) == large));
}

BOOST_AUTO_TEST_CASE(zip_inflates_back_to_the_xml_with_the_report_end_as_time) {
  const model::Report r = SmallReport();
  const std::string xml = WriteReportXml(r);
  auto zip = Zip(xml, "google.com!example.com!1790812800!1790899199.xml",
                 r.report_metadata.date_range.end);
  BOOST_REQUIRE(zip.ok());
  auto entries = Unzip(*zip);
  BOOST_REQUIRE_EQUAL(entries.size(), 1u);
  BOOST_TEST(entries[0].name == "google.com!example.com!1790812800!1790899199.xml");
  BOOST_TEST(entries[0].data == xml);
  BOOST_TEST(entries[0].mtime == r.report_metadata.date_range.end);
}

// libarchive computes the DOS time with localtime(); the generator must not.
BOOST_AUTO_TEST_CASE(zip_is_the_same_in_every_time_zone) {
  const char* saved = std::getenv("TZ");
  const std::optional<std::string> old_tz =
      saved ? std::optional<std::string>(saved) : std::nullopt;
  const std::string xml = WriteReportXml(SmallReport());
  std::vector<std::string> zips;
  for (const char* tz : {"UTC0", "EST5EDT,M3.2.0,M11.1.0", "JST-9"}) {
    setenv("TZ", tz, 1);
    tzset();
    auto zip = Zip(xml, "r.xml", kOct1 + kDay - 1);
    BOOST_REQUIRE(zip.ok());
    zips.push_back(*zip);
  }
  if (old_tz) {
    setenv("TZ", old_tz->c_str(), 1);
  } else {
    unsetenv("TZ");
  }
  tzset();
  BOOST_TEST((zips[0] == zips[1]));
  BOOST_TEST((zips[0] == zips[2]));
  // Local header DOS time/date: 23:59:58 (two-second resolution), 2026-10-01.
  const auto le16 = [&](std::size_t at) {
    return static_cast<unsigned>(static_cast<unsigned char>(zips[0][at])) |
           static_cast<unsigned>(static_cast<unsigned char>(zips[0][at + 1])) << 8;
  };
  BOOST_TEST(le16(10) == ((23u << 11) | (59u << 5) | 29u));
  BOOST_TEST(le16(12) == (((2026u - 1980u) << 9) | (10u << 5) | 1u));
}

BOOST_AUTO_TEST_CASE(email_carries_the_report_as_a_base64_attachment) {
  const model::Report r = SmallReport();
  auto gz = Gzip(WriteReportXml(r), "a.xml");
  BOOST_REQUIRE(gz.ok());
  EmailOptions options;
  options.from = "noreply-dmarc-support@google.com";
  options.submitter = "google.com";
  options.message_id_domain = "google.com";
  options.attachment_name = "a.xml.gz";
  options.attachment_type = "application/gzip";
  const std::string eml = WriteReportEmail(r, *gz, options);

  // Unfolded header block.
  const std::string head = eml.substr(0, eml.find("\r\n\r\n"));
  std::string unfolded;
  for (std::size_t i = 0; i < head.size(); ++i) {
    if (head.compare(i, 3, "\r\n ") == 0) {
      i += 1;
      continue;
    }
    unfolded += head[i];
  }
  for (const char* field :
       {"From: noreply-dmarc-support@google.com\r\n", "To: dmarc-reports@example.com\r\n",
        "Subject: Report Domain: example.com Submitter: google.com "
        "Report-ID: <1234567890123456789>\r\n",
        "Date: Fri, 02 Oct 2026 ", "Message-ID: <", "MIME-Version: 1.0\r\n",
        "Content-Type: multipart/mixed; boundary="}) {
    BOOST_TEST(unfolded.find(field) != std::string::npos, "missing " << field);
  }
  for (const std::string& line : Split(eml, '\n')) {
    BOOST_TEST(line.size() <= 998u);
    if (!line.empty()) BOOST_TEST(line.back() == '\r', "line without CRLF: " << line);
  }
  BOOST_TEST(eml.find("Content-Disposition: attachment; filename=\"a.xml.gz\"") !=
             std::string::npos);
  BOOST_TEST((AttachmentOf(eml) == *gz));
  BOOST_TEST(WriteReportEmail(r, *gz, options) ==
             eml);  // Date and Message-ID derive from the report
}

BOOST_AUTO_TEST_CASE(email_headers_cannot_be_injected_through_report_values) {
  model::Report r = SmallReport();
  r.report_metadata.report_id = "x\r\nBcc: someone@example.org";
  EmailOptions options;
  options.from = "a@example.org\r\nX-Injected: 1";
  options.submitter = "s";
  options.message_id_domain = "example.org";
  options.attachment_name = "a\".xml.gz";
  options.attachment_type = "application/gzip";
  const std::string eml = WriteReportEmail(r, "x", options);
  BOOST_TEST(eml.find("\r\nBcc:") == std::string::npos);
  BOOST_TEST(eml.find("\r\nX-Injected:") == std::string::npos);
  BOOST_TEST(eml.find("filename=\"a_.xml.gz\"") != std::string::npos);
}

// ---- Alignment ---------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(alignment_follows_rfc7489_section_3_1) {
  model::PolicyPublished relaxed;
  relaxed.domain = "example.com";
  model::PolicyPublished strict = relaxed;
  strict.adkim = model::Alignment::kStrict;
  strict.aspf = model::Alignment::kStrict;

  model::Record r;
  r.identifiers.header_from = "example.com";
  r.auth_results.dkim.push_back({"mg.example.com", "krs", model::DkimResult::kPass, std::nullopt});
  r.auth_results.spf.push_back(
      {"example.com", model::SpfScope::kHelo, model::SpfResult::kPass, std::nullopt});
  AlignmentFlags f = ComputeAlignment(r, relaxed);
  BOOST_TEST(f.dkim_aligned);  // a subdomain aligns in relaxed mode
  BOOST_TEST(!f.spf_aligned);  // a HELO pass is not an aligned SPF pass
  BOOST_TEST(f.dmarc_pass);
  f = ComputeAlignment(r, strict);
  BOOST_TEST(!f.dkim_aligned);
  BOOST_TEST(!f.dmarc_pass);

  r.auth_results.spf[0].scope = model::SpfScope::kUnspecified;
  r.auth_results.spf[0].domain = "us-east-1.amazonses.com";
  r.auth_results.dkim[0] = {"examplecom.onmicrosoft.com", "selector1", model::DkimResult::kPass,
                            std::nullopt};
  f = ComputeAlignment(r, relaxed);
  BOOST_TEST(!f.dkim_aligned);
  BOOST_TEST(!f.spf_aligned);
  r.auth_results.spf[0].domain = "EXAMPLE.COM";
  r.auth_results.spf[0].result = model::SpfResult::kSoftFail;
  BOOST_TEST(!ComputeAlignment(r, relaxed).spf_aligned);
  r.auth_results.spf[0].result = model::SpfResult::kPass;
  BOOST_TEST(ComputeAlignment(r, strict).spf_aligned);  // case does not matter
}

// ---- The committed demo -------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(committed_demo_is_what_the_generator_writes) {
  const auto files = CommittedFiles();
  const DemoOutput& demo = DefaultDemo();
  BOOST_TEST(files.size() == demo.files.size());
  for (const GeneratedFile& f : demo.files) {
    auto it = files.find(f.name);
    BOOST_TEST_REQUIRE((it != files.end()), f.name << " is not committed");
    BOOST_TEST((it->second == f.bytes),
               f.name << " differs: regenerate with dmarcwatch-generate demo (see README)");
  }
  BOOST_TEST((ReadFile(kDemoDir / "TRUTH.tsv") == FormatTruthTsv(demo.truth)),
             "TRUTH.tsv differs from the generator's");
}

BOOST_AUTO_TEST_CASE(truth_matches_every_row_of_every_committed_file) {
  const auto files = CommittedFiles();
  const auto truth = CommittedTruth();
  std::map<std::string, std::vector<const TruthLine*>> by_file;
  std::uint64_t truth_messages = 0;
  for (const TruthLine& t : truth) {
    by_file[t.file()].push_back(&t);
    truth_messages += t.count();
  }
  BOOST_TEST(by_file.size() == files.size());

  std::uint64_t file_messages = 0;
  for (const auto& [name, bytes] : files) {
    const std::string xml = XmlOf(name, bytes);
    pugi::xml_document doc;
    BOOST_REQUIRE_MESSAGE(doc.load_buffer(xml.data(), xml.size()), name);
    const pugi::xml_node feedback = doc.child("feedback");
    const std::string report_id = feedback.child("report_metadata").child_value("report_id");
    const std::string domain = feedback.child("policy_published").child_value("domain");
    const auto& lines = by_file[name];
    std::size_t i = 0;
    for (pugi::xml_node rec : feedback.children("record")) {
      BOOST_REQUIRE_MESSAGE(i < lines.size(), name << " has more records than the truth");
      const TruthLine& t = *lines[i];
      const pugi::xml_node row = rec.child("row");
      const std::uint64_t count = std::stoull(row.child_value("count"));
      file_messages += count;
      BOOST_TEST(t.f[1] == report_id);
      BOOST_TEST(t.f[2] == domain);
      BOOST_TEST(t.f[3] == std::to_string(i + 1));
      BOOST_TEST(t.f[4] == row.child_value("source_ip"));
      BOOST_TEST(t.count() == count);

      // The flags, recomputed from the XML without the generator's code.
      const std::string from = rec.child("identifiers").child_value("header_from");
      bool dkim = false;
      bool spf = false;
      for (pugi::xml_node d : rec.child("auth_results").children("dkim")) {
        dkim = dkim || (std::string(d.child_value("result")) == "pass" &&
                        Aligned(d.child_value("domain"), from));
      }
      for (pugi::xml_node s : rec.child("auth_results").children("spf")) {
        const std::string scope = s.child_value("scope");
        spf = spf || ((scope.empty() || scope == "mfrom") &&
                      std::string(s.child_value("result")) == "pass" &&
                      Aligned(s.child_value("domain"), from));
      }
      const pugi::xml_node pe = row.child("policy_evaluated");
      const bool disagrees = (std::string(pe.child_value("dkim")) == "pass") != dkim ||
                             (std::string(pe.child_value("spf")) == "pass") != spf;
      BOOST_TEST(t.f[9] == (spf ? "1" : "0"), name << " row " << i + 1);
      BOOST_TEST(t.f[10] == (dkim ? "1" : "0"), name << " row " << i + 1);
      BOOST_TEST(t.f[11] == (dkim || spf ? "1" : "0"), name << " row " << i + 1);
      BOOST_TEST(t.f[12] == (disagrees ? "1" : "0"), name << " row " << i + 1);
      ++i;
    }
    BOOST_TEST(i == lines.size(), name << " has fewer records than the truth");
  }
  BOOST_TEST(file_messages == truth_messages);
}

BOOST_AUTO_TEST_CASE(demo_tells_the_story_of_the_readme) {
  const auto truth = CommittedTruth();
  const auto files = CommittedFiles();

  // Eight reports a day: six reporters for example.com, two for example.net.
  std::map<model::UnixTime, int> reports_per_day;
  std::map<std::string, std::set<std::string>> ids_per_reporter;
  int emails = 0;
  for (const auto& [name, bytes] : files) {
    const FileName n = ParseName(name);
    ++reports_per_day[n.begin];
    BOOST_TEST(n.begin % kDay == 0);
    BOOST_TEST(n.end - n.begin ==
               (n.reporter == "enterprise.protection.outlook.com" ? kDay : kDay - 1));
    if (n.reporter == "google.com") BOOST_TEST(EndsWith(name, ".zip"));
    if (n.reporter == "enterprise.protection.outlook.com" || n.reporter == "yahoo.com") {
      BOOST_TEST(EndsWith(name, ".xml.gz"));
    }
    if (n.reporter == "mail.ru") {
      BOOST_TEST((EndsWith(name, ".xml.gz") || EndsWith(name, ".eml")));
      emails += EndsWith(name, ".eml") ? 1 : 0;
    }
    if (n.reporter == "gmx.net" || n.reporter == "comcast.net") BOOST_TEST(EndsWith(name, ".xml"));
    if (n.domain == "example.net") {
      BOOST_TEST((n.reporter == "google.com" || n.reporter == "yahoo.com"));
    }
    const std::string xml = XmlOf(name, bytes);
    pugi::xml_document doc;
    BOOST_REQUIRE(doc.load_buffer(xml.data(), xml.size()));
    const pugi::xml_node feedback = doc.child("feedback");
    const std::string org = feedback.child("report_metadata").child_value("org_name");
    BOOST_TEST(ids_per_reporter[org]
                   .insert(feedback.child("report_metadata").child_value("report_id"))
                   .second);
    const pugi::xml_node policy = feedback.child("policy_published");
    BOOST_TEST(std::string(policy.child_value("p")) ==
               (n.domain == "example.net" ? "reject" : "none"));
    if (n.reporter == "gmx.net") {
      BOOST_TEST(std::string(feedback.attribute("xmlns").value()) ==
                 "urn:ietf:params:xml:ns:dmarc-2.0");
      BOOST_TEST(!policy.child("pct"));
      BOOST_TEST(std::string(policy.child_value("testing")) == "n");
      BOOST_TEST(std::string(policy.child_value("discovery_method")) == "psl");
    } else {
      BOOST_TEST(std::string(policy.child_value("pct")) == "100");
    }
    for (pugi::xml_node rec : feedback.children("record")) {
      if (n.domain == "example.net") {
        BOOST_TEST(
            std::string(rec.child("row").child("policy_evaluated").child_value("disposition")) ==
            "reject");
      }
      if (n.reporter == "enterprise.protection.outlook.com") {
        BOOST_TEST(rec.child("identifiers").child("envelope_to"));
      }
      if (n.reporter == "google.com") {
        BOOST_TEST(std::string(rec.child("auth_results").child("spf").child_value("scope")) ==
                   "mfrom");
      }
    }
  }
  BOOST_TEST(reports_per_day.size() == 31u);
  for (const auto& [day, n] : reports_per_day) BOOST_TEST(n == 8);
  BOOST_TEST(emails >= 3);

  // Who sent what.
  const std::set<std::string> allowed = {"direct|Office MTA|",
                                         "smarthost|Microsoft 365|microsoft-365",
                                         "smarthost|SendGrid|sendgrid",
                                         "smarthost|Amazon SES|amazon-ses",
                                         "undeclared||mailgun",
                                         "forwarder||",
                                         "unknown||"};
  std::map<model::UnixTime, std::uint64_t> spoofed, direct;
  int disagreements = 0;
  for (const TruthLine& t : truth) {
    BOOST_TEST(allowed.count(t.kind() + "|" + t.f[7] + "|" + t.f[8]) == 1u, t.f[6] << t.f[7]);
    const FileName n = ParseName(t.file());
    if (t.f[8] == "mailgun") BOOST_TEST(n.begin >= kOct1 + 11 * kDay);
    if (t.f[2] == "example.net") BOOST_TEST(t.kind() == "unknown");
    if (t.kind() == "unknown") BOOST_TEST(t.f[11] == "0");
    if (t.f[4] == "192.0.2.7") {
      BOOST_TEST(t.f[9] == "0");
      BOOST_TEST(t.f[10] == "1");
    }
    if (t.f[8] == "sendgrid") BOOST_TEST(t.f[11] == "0");
    if (t.f[8] == "microsoft-365") BOOST_TEST((t.f[9] == "1" && t.f[10] == "0"));
    if (t.f[8] == "amazon-ses") BOOST_TEST((t.f[9] == "0" && t.f[10] == "1"));
    if (t.f[12] == "1") {
      ++disagreements;
      BOOST_TEST(n.reporter == "yahoo.com");
    }
    if (t.kind() == "unknown" && t.f[2] == "example.com") spoofed[n.begin] += t.count();
    if (t.kind() == "direct") direct[n.begin] += t.count();
  }
  BOOST_TEST(disagreements >= 3);

  // The spoofing campaign of 2026-10-20 stands out from every other day.
  const model::UnixTime campaign = kOct1 + 19 * kDay;
  for (const auto& [day, count] : spoofed) {
    if (day != campaign) BOOST_TEST(spoofed[campaign] > 10 * count);
  }
  // Office mail drops at weekends (2026-10-03 is a Saturday).
  std::uint64_t weekday_total = 0, weekend_total = 0;
  int weekdays = 0, weekend_days = 0;
  for (const auto& [day, count] : direct) {
    const auto dow = ((day - kOct1) / kDay + 3) % 7;  // 0 = Monday; 2026-10-01 is a Thursday
    if (dow >= 5) {
      weekend_total += count;
      ++weekend_days;
    } else {
      weekday_total += count;
      ++weekdays;
    }
  }
  BOOST_TEST(weekend_total * static_cast<std::uint64_t>(weekdays) * 2 <
             weekday_total * static_cast<std::uint64_t>(weekend_days));
}

// ---- Synthetic load ---------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(synthetic_load_has_the_requested_shape_and_distinct_ips) {
  SyntheticOptions options;
  options.reports = 12;
  options.rows_per_report = 50;
  options.reporters = 8;
  options.formats = {Container::kXml, Container::kGzip, Container::kZip, Container::kEmail};
  options.huge_rows = 3000;
  options.ipv6_share = 0.2;
  options.fail_share = 0.3;
  std::vector<GeneratedFile> files;
  auto summary = BuildSynthetic(options, [&](const GeneratedFile& f) {
    files.push_back(f);
    return Status::Ok();
  });
  if (!summary.ok()) BOOST_FAIL(summary.status().ToString());
  BOOST_TEST(summary->files == 13u);
  BOOST_TEST(summary->rows == 12u * 50u + 3000u);
  BOOST_REQUIRE_EQUAL(files.size(), 13u);

  std::set<std::string> names, ips;
  std::uint64_t rows = 0, messages = 0, v6 = 0, failing = 0;
  for (std::size_t i = 0; i < files.size(); ++i) {
    BOOST_TEST(names.insert(files[i].name).second);
    const std::string xml = XmlOf(files[i].name, files[i].bytes);
    pugi::xml_document doc;
    BOOST_REQUIRE(doc.load_buffer(xml.data(), xml.size()));
    std::uint64_t records = 0;
    for (pugi::xml_node rec : doc.child("feedback").children("record")) {
      ++records;
      const std::string ip = rec.child("row").child_value("source_ip");
      BOOST_TEST(ips.insert(ip).second, "repeated source ip " << ip);
      v6 += ip.find(':') != std::string::npos ? 1 : 0;
      messages += std::stoull(rec.child("row").child_value("count"));
      const pugi::xml_node pe = rec.child("row").child("policy_evaluated");
      failing += std::string(pe.child_value("dkim")) == "fail" &&
                         std::string(pe.child_value("spf")) == "fail"
                     ? 1
                     : 0;
    }
    BOOST_TEST(records == (i == 12 ? 3000u : 50u));
    rows += records;
  }
  BOOST_TEST(messages == summary->messages);
  BOOST_TEST((v6 > rows / 10 && v6 < rows * 3 / 10), v6 << " IPv6 rows of " << rows);
  BOOST_TEST((failing > rows / 5 && failing < rows * 2 / 5), failing << " failing of " << rows);
}

BOOST_AUTO_TEST_CASE(synthetic_load_is_deterministic) {
  SyntheticOptions options;
  options.reports = 6;
  options.rows_per_report = 20;
  options.formats = {Container::kZip, Container::kGzip};
  const auto run = [&] {
    std::vector<GeneratedFile> files;
    auto summary = BuildSynthetic(options, [&](const GeneratedFile& f) {
      files.push_back(f);
      return Status::Ok();
    });
    BOOST_REQUIRE(summary.ok());
    return files;
  };
  const auto a = run();
  const auto b = run();
  BOOST_REQUIRE_EQUAL(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    BOOST_TEST(a[i].name == b[i].name);
    BOOST_TEST((a[i].bytes == b[i].bytes));
  }
}

BOOST_AUTO_TEST_CASE(synthetic_sink_failure_stops_the_run) {
  SyntheticOptions options;
  options.reports = 5;
  options.rows_per_report = 2;
  int calls = 0;
  auto summary = BuildSynthetic(options, [&](const GeneratedFile&) {
    ++calls;
    return Status::IoError("disk full");
  });
  BOOST_TEST(!summary.ok());
  BOOST_TEST(calls == 1);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace
}  // namespace dmarcwatch::bench
