// Unpack: kind detection, gzip / zlib / zip layers, limits, and the payload
// chains of the real-world corpus (tests/corpus/EXPECTED.tsv).
//
// Hostile inputs (bombs, 1000-entry zips, nesting) are built here at run
// time; nothing binary is committed.

#include "dmarcwatch/ingest/unpack.h"

#include <archive.h>
#include <archive_entry.h>
#include <zlib.h>

#include <algorithm>
#include <boost/test/unit_test.hpp>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dmarcwatch::ingest {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kReport =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<feedback><report_metadata><org_name>example.net</org_name>"
    "<report_id>r-1</report_id></report_metadata></feedback>\n";

// ----- builders --------------------------------------------------------------

// Deflates `chunks` copies of `chunk` into one gzip (window_bits 31) or zlib
// (15) stream, so large inputs never exist in memory.
std::string Deflate(std::string_view chunk, std::size_t chunks, int window_bits) {
  z_stream zs{};
  BOOST_REQUIRE(deflateInit2(&zs, Z_BEST_COMPRESSION, Z_DEFLATED, window_bits, 9,
                             Z_DEFAULT_STRATEGY) == Z_OK);
  std::string out;
  std::string buffer(64 * 1024, '\0');
  for (std::size_t i = 0; i < chunks; ++i) {
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(chunk.data()));
    zs.avail_in = static_cast<uInt>(chunk.size());
    const int flush = i + 1 == chunks ? Z_FINISH : Z_NO_FLUSH;
    int rc = Z_OK;
    do {
      zs.next_out = reinterpret_cast<Bytef*>(buffer.data());
      zs.avail_out = static_cast<uInt>(buffer.size());
      rc = deflate(&zs, flush);
      out.append(buffer.data(), buffer.size() - zs.avail_out);
    } while (zs.avail_out == 0 || (flush == Z_FINISH && rc != Z_STREAM_END));
  }
  deflateEnd(&zs);
  return out;
}

std::string Gzip(std::string_view data) { return Deflate(data, 1, 15 + 16); }
std::string Zlib(std::string_view data) { return Deflate(data, 1, 15); }

struct ZipEntry {
  std::string name;
  std::string data;
};

// A zip written by libarchive into memory. Names ending in '/' are
// directories.
std::string MakeZip(const std::vector<ZipEntry>& entries) {
  std::size_t capacity = 64 * 1024;
  for (const ZipEntry& e : entries) capacity += e.data.size() + 2 * e.name.size() + 512;
  std::string buffer(capacity, '\0');
  std::size_t used = 0;
  archive* a = archive_write_new();
  BOOST_REQUIRE(a != nullptr);
  BOOST_REQUIRE(archive_write_set_format_zip(a) == ARCHIVE_OK);
  BOOST_REQUIRE(archive_write_open_memory(a, buffer.data(), buffer.size(), &used) == ARCHIVE_OK);
  for (const ZipEntry& e : entries) {
    archive_entry* entry = archive_entry_new();
    archive_entry_set_pathname(entry, e.name.c_str());
    const bool dir = !e.name.empty() && e.name.back() == '/';
    archive_entry_set_filetype(entry, dir ? AE_IFDIR : AE_IFREG);
    archive_entry_set_perm(entry, dir ? 0755 : 0644);
    archive_entry_set_size(entry, static_cast<la_int64_t>(e.data.size()));
    BOOST_REQUIRE(archive_write_header(a, entry) == ARCHIVE_OK);
    if (!e.data.empty()) {
      BOOST_REQUIRE(archive_write_data(a, e.data.data(), e.data.size()) ==
                    static_cast<la_ssize_t>(e.data.size()));
    }
    archive_entry_free(entry);
  }
  BOOST_REQUIRE(archive_write_close(a) == ARCHIVE_OK);
  archive_write_free(a);
  buffer.resize(used);
  return buffer;
}

// A zip whose one entry inflates to `total` zero bytes, written in 1 MiB
// pieces.
std::string ZipOfZeros(const std::string& name, std::size_t mebibytes) {
  std::string buffer(4 * 1024 * 1024, '\0');
  std::size_t used = 0;
  archive* a = archive_write_new();
  BOOST_REQUIRE(archive_write_set_format_zip(a) == ARCHIVE_OK);
  BOOST_REQUIRE(archive_write_open_memory(a, buffer.data(), buffer.size(), &used) == ARCHIVE_OK);
  archive_entry* entry = archive_entry_new();
  archive_entry_set_pathname(entry, name.c_str());
  archive_entry_set_filetype(entry, AE_IFREG);
  archive_entry_set_perm(entry, 0644);
  archive_entry_set_size(entry, static_cast<la_int64_t>(mebibytes * 1024 * 1024));
  BOOST_REQUIRE(archive_write_header(a, entry) == ARCHIVE_OK);
  const std::string zeros(1024 * 1024, '\0');
  for (std::size_t i = 0; i < mebibytes; ++i) {
    BOOST_REQUIRE(archive_write_data(a, zeros.data(), zeros.size()) ==
                  static_cast<la_ssize_t>(zeros.size()));
  }
  archive_entry_free(entry);
  BOOST_REQUIRE(archive_write_close(a) == ARCHIVE_OK);
  archive_write_free(a);
  buffer.resize(used);
  return buffer;
}

void PutLe(std::string& out, std::uint32_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out += static_cast<char>((value >> (8 * i)) & 0xffu);
}

// A zip of stored entries written byte by byte (APPNOTE 4.3.7, 4.3.12,
// 4.3.16), for what libarchive refuses to write: an empty name, the
// encryption flag.
std::string StoredZip(const std::vector<ZipEntry>& entries, std::uint16_t flags = 0) {
  std::string out;
  std::string directory;
  for (const ZipEntry& e : entries) {
    const auto crc = static_cast<std::uint32_t>(
        crc32(0, reinterpret_cast<const Bytef*>(e.data.data()), static_cast<uInt>(e.data.size())));
    const auto offset = static_cast<std::uint32_t>(out.size());
    const auto size = static_cast<std::uint32_t>(e.data.size());
    const auto name_size = static_cast<std::uint32_t>(e.name.size());
    out += "PK\x03\x04";
    PutLe(out, 20, 2);
    PutLe(out, flags, 2);
    PutLe(out, 0, 2);  // stored
    PutLe(out, 0, 4);  // time, date
    PutLe(out, crc, 4);
    PutLe(out, size, 4);
    PutLe(out, size, 4);
    PutLe(out, name_size, 2);
    PutLe(out, 0, 2);
    out += e.name;
    out += e.data;
    directory += "PK\x01\x02";
    PutLe(directory, 20, 2);
    PutLe(directory, 20, 2);
    PutLe(directory, flags, 2);
    PutLe(directory, 0, 2);
    PutLe(directory, 0, 4);
    PutLe(directory, crc, 4);
    PutLe(directory, size, 4);
    PutLe(directory, size, 4);
    PutLe(directory, name_size, 2);
    PutLe(directory, 0, 2);  // extra
    PutLe(directory, 0, 2);  // comment
    PutLe(directory, 0, 2);  // disk
    PutLe(directory, 0, 2);  // internal attributes
    PutLe(directory, 0, 4);  // external attributes
    PutLe(directory, offset, 4);
    directory += e.name;
  }
  const auto directory_offset = static_cast<std::uint32_t>(out.size());
  out += directory;
  out += "PK\x05\x06";
  PutLe(out, 0, 2);
  PutLe(out, 0, 2);
  PutLe(out, static_cast<std::uint32_t>(entries.size()), 2);
  PutLe(out, static_cast<std::uint32_t>(entries.size()), 2);
  PutLe(out, static_cast<std::uint32_t>(directory.size()), 4);
  PutLe(out, directory_offset, 4);
  PutLe(out, 0, 2);
  return out;
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  BOOST_REQUIRE_MESSAGE(in.good(), "cannot open " << path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const PayloadFailure* FindFailure(const Unpacked& u, std::string_view reason) {
  for (const PayloadFailure& f : u.failures) {
    if (f.status.reason() == reason) return &f;
  }
  return nullptr;
}

bool HasWarning(const Payload& p, std::string_view code) {
  return std::any_of(p.warnings.begin(), p.warnings.end(),
                     [&](const model::ParseWarning& w) { return w.code == code; });
}

}  // namespace

BOOST_AUTO_TEST_SUITE(unpack)

// ----- detection -------------------------------------------------------------

BOOST_AUTO_TEST_CASE(kind_is_detected_from_magic_bytes_not_names) {
  struct Case {
    std::string bytes;
    PayloadKind kind;
  };
  const std::vector<Case> cases = {
      {"", PayloadKind::kEmpty},
      {"<?xml version=\"1.0\"?><feedback/>", PayloadKind::kXml},
      {"\xEF\xBB\xBF \r\n\t<feedback/>", PayloadKind::kXml},
      {std::string("\x1f\x8b\x08\x00", 4), PayloadKind::kGzip},
      {std::string("PK\x03\x04", 4), PayloadKind::kZip},
      {std::string("PK\x05\x06", 4), PayloadKind::kZip},
      {std::string("\x78\x9c", 2), PayloadKind::kZlib},
      {std::string("\x78\x01", 2), PayloadKind::kZlib},
      {std::string("\x78\xda", 2), PayloadKind::kZlib},
      {std::string("\x78\x9d", 2), PayloadKind::kUnknown},  // check bits wrong
      {std::string("\x78\xbb", 2), PayloadKind::kUnknown},  // preset dictionary
      {"  {\"organization-name\": \"x\"}", PayloadKind::kJson},
      {"Received: from mx.example.net\r\n", PayloadKind::kEmail},
      {"Return-Path: <a@example.net>\n", PayloadKind::kEmail},
      {"From dmarc@example.net Tue Apr 30 02:09:16 2019\n", PayloadKind::kEmail},
      {"MIME-Version:\n", PayloadKind::kEmail},
      {"http://example.net/report", PayloadKind::kUnknown},
      {"This is not XML: at all", PayloadKind::kUnknown},
      {" \r\n ", PayloadKind::kUnknown},
  };
  for (const Case& c : cases) {
    BOOST_TEST_CONTEXT("bytes " << c.bytes) {
      BOOST_TEST(static_cast<int>(DetectKind(c.bytes)) == static_cast<int>(c.kind));
    }
  }
}

BOOST_AUTO_TEST_CASE(chain_words_are_the_documented_tokens) {
  BOOST_TEST(std::string(ChainWord(PayloadKind::kXml)) == "xml");
  BOOST_TEST(std::string(ChainWord(PayloadKind::kGzip)) == "gz");
  BOOST_TEST(std::string(ChainWord(PayloadKind::kZip)) == "zip");
  BOOST_TEST(std::string(ChainWord(PayloadKind::kZlib)) == "zlib");
  BOOST_TEST(std::string(ChainWord(PayloadKind::kEmail)) == "eml");
  BOOST_TEST(std::string(ChainWord(PayloadKind::kJson)) == "json");
  BOOST_TEST(std::string(ChainWord(PayloadKind::kEmpty)) == "empty");
  BOOST_TEST(std::string(ChainWord(PayloadKind::kUnknown)) == "unknown");
}

// ----- plain inputs ----------------------------------------------------------

BOOST_AUTO_TEST_CASE(xml_input_is_a_report_named_after_the_input_whatever_its_extension) {
  const Unpacked u = Unpack(kReport, "report.txt", UnpackLimits{});
  BOOST_TEST_REQUIRE(u.reports.size() == 1u);
  BOOST_TEST(u.reports[0].chain == "xml");
  BOOST_TEST(u.reports[0].name == "report.txt");
  BOOST_TEST(u.reports[0].bytes == kReport);
  BOOST_TEST(u.failures.empty());
  BOOST_TEST(!u.message_id.has_value());
}

BOOST_AUTO_TEST_CASE(xml_is_handed_on_unvalidated_outside_emails) {
  // Whether this is a report is for the parser to say.
  const Unpacked u = Unpack("<root><not-a-report/></root>", "x.xml", UnpackLimits{});
  BOOST_TEST_REQUIRE(u.reports.size() == 1u);
  BOOST_TEST(u.reports[0].chain == "xml");
}

BOOST_AUTO_TEST_CASE(empty_input_fails_with_empty_input) {
  const Unpacked u = Unpack("", "empty.xml", UnpackLimits{});
  BOOST_TEST(u.reports.empty());
  BOOST_TEST_REQUIRE(u.failures.size() == 1u);
  BOOST_TEST(u.failures[0].chain == "empty");
  BOOST_TEST(u.failures[0].name == "empty.xml");
  BOOST_TEST(u.failures[0].status.reason() == "empty_input");
  BOOST_TEST(static_cast<int>(u.failures[0].status.code()) ==
             static_cast<int>(StatusCode::kInvalidInput));
}

BOOST_AUTO_TEST_CASE(unrecognised_bytes_fail_with_a_printable_excerpt) {
  const std::string input =
      std::string("Not a report\x01\x02 at all, just prose") + std::string(200, 'x');
  const Unpacked u = Unpack(input, "notes.xml", UnpackLimits{});
  BOOST_TEST_REQUIRE(u.failures.size() == 1u);
  const PayloadFailure& f = u.failures[0];
  BOOST_TEST(f.chain == "unknown");
  BOOST_TEST(f.status.reason() == "unrecognised_payload");
  BOOST_TEST(f.status.message().find("Not a report?? at all") != std::string::npos);
  BOOST_TEST(f.status.message().find(std::to_string(input.size()) + " bytes") != std::string::npos);
  BOOST_TEST(f.status.message().find('\x01') == std::string::npos);
  BOOST_TEST(f.status.message().size() < 120u);
}

BOOST_AUTO_TEST_CASE(json_input_is_skipped_as_an_smtp_tls_report) {
  const Unpacked u = Unpack("{\"organization-name\":\"x\"}", "tls.json", UnpackLimits{});
  BOOST_TEST(u.reports.empty());
  BOOST_TEST(u.failures.empty());
  BOOST_TEST_REQUIRE(u.skipped.size() == 1u);
  BOOST_TEST(u.skipped[0].chain == "json");
  BOOST_TEST(u.skipped[0].reason == "smtp_tls_report");
}

BOOST_AUTO_TEST_CASE(input_over_max_input_bytes_is_rejected_naming_the_limit) {
  UnpackLimits limits;
  limits.max_input_bytes = 100;
  const std::string input = std::string(kReport) + std::string(100, ' ');
  const Unpacked u = Unpack(input, "big.xml", limits);
  BOOST_TEST(u.reports.empty());
  BOOST_TEST_REQUIRE(u.failures.size() == 1u);
  BOOST_TEST(u.failures[0].status.reason() == "max_input_bytes");
  BOOST_TEST(static_cast<int>(u.failures[0].status.code()) ==
             static_cast<int>(StatusCode::kLimitExceeded));
  BOOST_TEST(u.failures[0].status.message() == "input size exceeds max_input_bytes (100)");
  // Exactly at the limit is allowed.
  limits.max_input_bytes = input.size();
  BOOST_TEST(Unpack(input, "big.xml", limits).reports.size() == 1u);
}

// ----- gzip and zlib ---------------------------------------------------------

BOOST_AUTO_TEST_CASE(gzip_layer_names_its_payload_without_the_gz_suffix) {
  const Unpacked u = Unpack(Gzip(kReport), "google.com!example.com!1!2.xml.gz", UnpackLimits{});
  BOOST_TEST_REQUIRE(u.reports.size() == 1u);
  BOOST_TEST(u.reports[0].chain == "gz>xml");
  BOOST_TEST(u.reports[0].name == "google.com!example.com!1!2.xml");
  BOOST_TEST(u.reports[0].bytes == kReport);
  BOOST_TEST(u.reports[0].warnings.empty());
}

BOOST_AUTO_TEST_CASE(gzip_inside_gzip_is_unpacked_again) {
  const Unpacked u = Unpack(Gzip(Gzip(kReport)), "r.xml.gz.gz", UnpackLimits{});
  BOOST_TEST_REQUIRE(u.reports.size() == 1u);
  BOOST_TEST(u.reports[0].chain == "gz>gz>xml");
  BOOST_TEST(u.reports[0].name == "r.xml");
  BOOST_TEST(u.reports[0].bytes == kReport);
}

BOOST_AUTO_TEST_CASE(multi_member_gzip_yields_both_members_concatenated) {
  const std::string first = "<?xml version=\"1.0\"?>\n<feedback>";
  const std::string second = "<report_metadata/></feedback>\n";
  const Unpacked u = Unpack(Gzip(first) + Gzip(second), "r.gz", UnpackLimits{});
  BOOST_TEST_REQUIRE(u.reports.size() == 1u);
  BOOST_TEST(u.reports[0].bytes == first + second);
  BOOST_TEST(u.reports[0].warnings.empty());
}

BOOST_AUTO_TEST_CASE(trailing_junk_after_gzip_is_accepted_with_a_warning) {
  const Unpacked u = Unpack(Gzip(kReport) + "\r\n", "r.xml.gz", UnpackLimits{});
  BOOST_TEST(u.failures.empty());
  BOOST_TEST_REQUIRE(u.reports.size() == 1u);
  BOOST_TEST(u.reports[0].bytes == kReport);
  BOOST_TEST_REQUIRE(u.reports[0].warnings.size() == 1u);
  BOOST_TEST(u.reports[0].warnings[0].code == "gzip_trailing_junk");
  BOOST_TEST(u.reports[0].warnings[0].detail.find("2 bytes") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(truncated_gzip_fails_as_corrupt_gzip) {
  const std::string gz = Gzip(std::string(kReport) + std::string(kReport));
  const Unpacked u = Unpack(gz.substr(0, gz.size() / 2), "r.xml.gz", UnpackLimits{});
  BOOST_TEST(u.reports.empty());
  BOOST_TEST_REQUIRE(u.failures.size() == 1u);
  BOOST_TEST(u.failures[0].chain == "gz");
  BOOST_TEST(u.failures[0].status.reason() == "corrupt_gzip");
  BOOST_TEST(u.failures[0].status.message().find("truncated") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(corrupt_gzip_reports_the_zlib_message) {
  std::string gz = Gzip(kReport);
  gz[3] = '\x00';
  gz[10] = '\xff';  // first deflate block header: reserved block type 3
  const Unpacked u = Unpack(gz, "r.xml.gz", UnpackLimits{});
  BOOST_TEST_REQUIRE(u.failures.size() == 1u);
  BOOST_TEST(u.failures[0].status.reason() == "corrupt_gzip");
  BOOST_TEST(u.failures[0].status.message().rfind("corrupt gzip stream: ", 0) == 0u);
  BOOST_TEST(u.failures[0].status.message().size() > std::string("corrupt gzip stream: ").size());
}

BOOST_AUTO_TEST_CASE(zlib_stream_is_unpacked) {
  const Unpacked u = Unpack(Zlib(kReport), "report.xml.zlib", UnpackLimits{});
  BOOST_TEST(u.failures.empty());
  BOOST_TEST_REQUIRE(u.reports.size() == 1u);
  BOOST_TEST(u.reports[0].chain == "zlib>xml");
  BOOST_TEST(u.reports[0].name == "report.xml");
  BOOST_TEST(u.reports[0].bytes == kReport);
}

BOOST_AUTO_TEST_CASE(gzip_of_json_is_skipped_as_an_smtp_tls_report) {
  const Unpacked u = Unpack(Gzip("{\"policies\":[]}"), "tls.json.gz", UnpackLimits{});
  BOOST_TEST(u.reports.empty());
  BOOST_TEST_REQUIRE(u.skipped.size() == 1u);
  BOOST_TEST(u.skipped[0].chain == "gz>json");
  BOOST_TEST(u.skipped[0].name == "tls.json");
  BOOST_TEST(u.skipped[0].reason == "smtp_tls_report");
}

BOOST_AUTO_TEST_CASE(gzip_bomb_made_at_test_time_is_rejected_naming_the_limit) {
  // 300 MiB of zeros in about 300 KiB: far above any report, and above the
  // default ratio once the first MiB is out.
  const std::string zeros(1024 * 1024, '\0');
  const std::string bomb = Deflate(zeros, 300, 15 + 16);
  BOOST_TEST_REQUIRE(bomb.size() < 1024u * 1024u);
  const Unpacked u = Unpack(bomb, "bomb.xml.gz", UnpackLimits{});
  BOOST_TEST(u.reports.empty());
  BOOST_TEST_REQUIRE(u.failures.size() == 1u);
  const Status& s = u.failures[0].status;
  BOOST_TEST(static_cast<int>(s.code()) == static_cast<int>(StatusCode::kLimitExceeded));
  BOOST_TEST(s.reason() == "max_inflate_ratio");
  BOOST_TEST(s.message() == "inflate ratio exceeds max_inflate_ratio (250)");
  BOOST_TEST(u.failures[0].chain == "gz");

  // With the ratio out of the way the size limit stops it instead.
  UnpackLimits no_ratio;
  no_ratio.max_inflate_ratio = UINT64_MAX;
  no_ratio.max_inflated_bytes = 8 * kMiB;
  const Unpacked v = Unpack(bomb, "bomb.xml.gz", no_ratio);
  BOOST_TEST_REQUIRE(v.failures.size() == 1u);
  BOOST_TEST(v.failures[0].status.reason() == "max_inflated_bytes");
  BOOST_TEST(v.failures[0].status.message() ==
             "inflated size exceeds max_inflated_bytes (8388608)");
}

BOOST_AUTO_TEST_CASE(inflated_size_is_allowed_up_to_the_limit_and_refused_one_byte_past_it) {
  UnpackLimits limits;
  limits.max_inflated_bytes = 64 * 1024;
  std::string exact = std::string(kReport);
  exact.resize(limits.max_inflated_bytes, ' ');
  const Unpacked ok = Unpack(Gzip(exact), "r.xml.gz", limits);
  BOOST_TEST(ok.failures.empty());
  BOOST_TEST_REQUIRE(ok.reports.size() == 1u);
  BOOST_TEST(ok.reports[0].bytes.size() == limits.max_inflated_bytes);

  const Unpacked over = Unpack(Gzip(exact + " "), "r.xml.gz", limits);
  BOOST_TEST(over.reports.empty());
  BOOST_TEST_REQUIRE(over.failures.size() == 1u);
  BOOST_TEST(over.failures[0].status.reason() == "max_inflated_bytes");
  BOOST_TEST(over.failures[0].status.message() ==
             "inflated size exceeds max_inflated_bytes (65536)");
}

BOOST_AUTO_TEST_CASE(all_payloads_of_one_input_together_stay_within_max_inflated_bytes) {
  // Five entries of 40 KiB, each under a 100 KiB limit: the first two fit,
  // the third would take the input past it.
  UnpackLimits limits;
  limits.max_inflated_bytes = 100 * 1024;
  std::vector<ZipEntry> entries;
  for (int i = 0; i < 5; ++i) {
    std::string xml = std::string(kReport);
    xml.resize(40 * 1024, ' ');
    entries.push_back({"r" + std::to_string(i) + ".xml", xml});
  }
  const Unpacked u = Unpack(MakeZip(entries), "r.zip", limits);
  BOOST_TEST(u.reports.size() == 2u);
  BOOST_TEST_REQUIRE(u.failures.size() == 3u);
  BOOST_TEST(u.failures[0].name == "r2.xml");
  BOOST_TEST(u.failures[0].status.reason() == "max_inflated_bytes");
  BOOST_TEST(u.failures[0].status.message() ==
             "total inflated size exceeds max_inflated_bytes (102400)");
}

BOOST_AUTO_TEST_CASE(small_payloads_are_not_ratio_checked) {
  // 512 KiB of padding compresses about 1000:1, but stays under
  // ratio_check_after_bytes (1 MiB), as small reports legitimately do.
  std::string padded = std::string(kReport) + std::string(512 * 1024, ' ');
  const std::string gz = Gzip(padded);
  BOOST_TEST_REQUIRE(padded.size() / gz.size() > 250u);
  const Unpacked u = Unpack(gz, "r.xml.gz", UnpackLimits{});
  BOOST_TEST(u.failures.empty());
  BOOST_TEST(u.reports.size() == 1u);
}

BOOST_AUTO_TEST_CASE(nesting_past_max_depth_is_refused_naming_the_limit) {
  std::string four = std::string(kReport);
  for (int i = 0; i < 4; ++i) four = Gzip(four);
  const Unpacked ok = Unpack(four, "r", UnpackLimits{});
  BOOST_TEST_REQUIRE(ok.reports.size() == 1u);
  BOOST_TEST(ok.reports[0].chain == "gz>gz>gz>gz>xml");

  const Unpacked deep = Unpack(Gzip(four), "r", UnpackLimits{});
  BOOST_TEST(deep.reports.empty());
  BOOST_TEST_REQUIRE(deep.failures.size() == 1u);
  BOOST_TEST(deep.failures[0].chain == "gz>gz>gz>gz>gz");
  BOOST_TEST(deep.failures[0].status.reason() == "max_depth");
  BOOST_TEST(deep.failures[0].status.message() == "nesting depth exceeds max_depth (4)");
}

BOOST_AUTO_TEST_CASE(max_depth_is_capped_so_recursion_stays_shallow) {
  UnpackLimits limits;
  limits.max_depth = 1000000;
  std::string nested = std::string(kReport);
  for (int i = 0; i < 40; ++i) nested = Gzip(nested);
  const Unpacked u = Unpack(nested, "r", limits);
  BOOST_TEST(u.reports.empty());
  BOOST_TEST_REQUIRE(u.failures.size() == 1u);
  BOOST_TEST(u.failures[0].status.reason() == "max_depth");
}

// ----- zip -------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(zip_entries_are_reports_named_by_entry_in_archive_order) {
  const std::string zip = MakeZip(
      {{"b/first.xml", std::string(kReport)}, {"second.xml", std::string(kReport) + "<!-- 2 -->"}});
  const Unpacked u = Unpack(zip, "reports.zip", UnpackLimits{});
  BOOST_TEST(u.failures.empty());
  BOOST_TEST_REQUIRE(u.reports.size() == 2u);
  BOOST_TEST(u.reports[0].chain == "zip>xml");
  BOOST_TEST(u.reports[0].name == "b/first.xml");
  BOOST_TEST(u.reports[0].bytes == kReport);
  BOOST_TEST(u.reports[1].name == "second.xml");
  BOOST_TEST(u.reports[1].bytes == std::string(kReport) + "<!-- 2 -->");
}

BOOST_AUTO_TEST_CASE(zip_skips_macosx_appledouble_and_directory_entries) {
  const std::string zip = MakeZip({{"dir/", ""},
                                   {"dir/report.xml", std::string(kReport)},
                                   {"__MACOSX/", ""},
                                   {"__MACOSX/dir/._report.xml", "\x00\x05\x16\x07 resource fork"},
                                   {"dir/._report.xml", "\x00\x05\x16\x07 resource fork"}});
  const Unpacked u = Unpack(zip, "r.zip", UnpackLimits{});
  BOOST_TEST(u.failures.empty());
  BOOST_TEST(u.skipped.empty());
  BOOST_TEST_REQUIRE(u.reports.size() == 1u);
  BOOST_TEST(u.reports[0].name == "dir/report.xml");
}

BOOST_AUTO_TEST_CASE(zip_with_1000_entries_is_rejected_naming_max_zip_entries) {
  std::vector<ZipEntry> entries;
  for (int i = 0; i < 1000; ++i)
    entries.push_back({"r" + std::to_string(i) + ".xml", std::string(kReport)});
  const Unpacked u = Unpack(MakeZip(entries), "many.zip", UnpackLimits{});
  BOOST_TEST(u.reports.empty());
  BOOST_TEST_REQUIRE(u.failures.size() == 1u);
  BOOST_TEST(u.failures[0].chain == "zip");
  BOOST_TEST(u.failures[0].status.reason() == "max_zip_entries");
  BOOST_TEST(static_cast<int>(u.failures[0].status.code()) ==
             static_cast<int>(StatusCode::kLimitExceeded));
  BOOST_TEST(u.failures[0].status.message() ==
             "number of zip entries exceeds max_zip_entries (64)");
}

BOOST_AUTO_TEST_CASE(zip_entry_limit_counts_directories_and_macos_metadata) {
  const std::string zip = MakeZip({{"dir/", ""},
                                   {"dir/report.xml", std::string(kReport)},
                                   {"__MACOSX/", ""},
                                   {"__MACOSX/dir/._report.xml", "fork"}});
  UnpackLimits limits;
  limits.max_zip_entries = 3;
  const Unpacked u = Unpack(zip, "r.zip", limits);
  BOOST_TEST(u.reports.empty());
  BOOST_TEST_REQUIRE(u.failures.size() == 1u);
  BOOST_TEST(u.failures[0].status.reason() == "max_zip_entries");
  limits.max_zip_entries = 4;
  BOOST_TEST(Unpack(zip, "r.zip", limits).reports.size() == 1u);
}

BOOST_AUTO_TEST_CASE(zip_inside_zip_is_refused_as_nested_zip_and_siblings_still_come_out) {
  const std::string inner = MakeZip({{"inner.xml", std::string(kReport)}});
  const std::string outer = MakeZip({{"inner.zip", inner}, {"outer.xml", std::string(kReport)}});
  const Unpacked u = Unpack(outer, "outer.zip", UnpackLimits{});
  const PayloadFailure* nested = FindFailure(u, "nested_zip");
  BOOST_TEST_REQUIRE(nested != nullptr);
  BOOST_TEST(nested->chain == "zip>zip");
  BOOST_TEST(nested->name == "inner.zip");
  BOOST_TEST_REQUIRE(u.reports.size() == 1u);
  BOOST_TEST(u.reports[0].name == "outer.xml");
}

BOOST_AUTO_TEST_CASE(zip_inside_gzip_inside_zip_is_still_nested_zip) {
  const std::string inner = MakeZip({{"inner.xml", std::string(kReport)}});
  const std::string outer = MakeZip({{"inner.zip.gz", Gzip(inner)}});
  const Unpacked u = Unpack(outer, "outer.zip", UnpackLimits{});
  const PayloadFailure* nested = FindFailure(u, "nested_zip");
  BOOST_TEST_REQUIRE(nested != nullptr);
  BOOST_TEST(nested->chain == "zip>gz>zip");
  BOOST_TEST(u.reports.empty());
}

BOOST_AUTO_TEST_CASE(gzip_inside_zip_is_unpacked) {
  const Unpacked u = Unpack(MakeZip({{"r.xml.gz", Gzip(kReport)}}), "r.zip", UnpackLimits{});
  BOOST_TEST_REQUIRE(u.reports.size() == 1u);
  BOOST_TEST(u.reports[0].chain == "zip>gz>xml");
  BOOST_TEST(u.reports[0].name == "r.xml");
}

BOOST_AUTO_TEST_CASE(encrypted_zip_entry_fails_with_zip_encrypted_and_others_are_read) {
  // Bit 0 of the general purpose flags (APPNOTE 4.4.4) on the first entry
  // only: build the two halves and splice the flag in.
  std::string zip = StoredZip({{"secret.xml", std::string(12, 'k') + std::string(kReport)},
                               {"plain.xml", std::string(kReport)}});
  zip[6] = '\x01';  // local header flags of the first entry
  const std::size_t central = zip.find("PK\x01\x02");
  BOOST_TEST_REQUIRE(central != std::string::npos);
  zip[central + 8] = '\x01';  // its central directory flags
  const Unpacked u = Unpack(zip, "r.zip", UnpackLimits{});
  const PayloadFailure* encrypted = FindFailure(u, "zip_encrypted");
  BOOST_TEST_REQUIRE(encrypted != nullptr);
  BOOST_TEST(encrypted->name == "secret.xml");
  BOOST_TEST(encrypted->chain == "zip");
  BOOST_TEST_REQUIRE(u.reports.size() == 1u);
  BOOST_TEST(u.reports[0].name == "plain.xml");
}

BOOST_AUTO_TEST_CASE(zip_entry_with_an_empty_name_is_read_under_a_generated_name) {
  const Unpacked u = Unpack(StoredZip({{"", std::string(kReport)}}), "google.zip", UnpackLimits{});
  BOOST_TEST(u.failures.empty());
  BOOST_TEST_REQUIRE(u.reports.size() == 1u);
  BOOST_TEST(u.reports[0].chain == "zip>xml");
  BOOST_TEST(u.reports[0].name == "google#1");
  BOOST_TEST(u.reports[0].bytes == kReport);
}

BOOST_AUTO_TEST_CASE(zero_byte_zip_entry_fails_with_empty_payload) {
  const Unpacked u = Unpack(MakeZip({{"bad.xml", ""}}), "bad.zip", UnpackLimits{});
  BOOST_TEST(u.reports.empty());
  BOOST_TEST_REQUIRE(u.failures.size() == 1u);
  BOOST_TEST(u.failures[0].chain == "zip>empty");
  BOOST_TEST(u.failures[0].name == "bad.xml");
  BOOST_TEST(u.failures[0].status.reason() == "empty_payload");
}

BOOST_AUTO_TEST_CASE(zip_holding_only_directories_fails_with_empty_zip) {
  const Unpacked u = Unpack(MakeZip({{"dir/", ""}, {"__MACOSX/", ""}}), "d.zip", UnpackLimits{});
  BOOST_TEST(u.reports.empty());
  BOOST_TEST_REQUIRE(u.failures.size() == 1u);
  BOOST_TEST(u.failures[0].status.reason() == "empty_zip");
}

BOOST_AUTO_TEST_CASE(truncated_zip_fails_as_corrupt_zip) {
  const std::string zip = MakeZip({{"r.xml", std::string(kReport)}});
  const Unpacked u = Unpack(zip.substr(0, zip.size() - 30), "r.zip", UnpackLimits{});
  BOOST_TEST(u.reports.empty());
  BOOST_TEST_REQUIRE(u.failures.size() == 1u);
  BOOST_TEST(u.failures[0].chain == "zip");
  BOOST_TEST(u.failures[0].status.reason() == "corrupt_zip");
}

BOOST_AUTO_TEST_CASE(zip_bomb_entry_is_stopped_by_the_archive_ratio) {
  const std::string zip = ZipOfZeros("bomb.xml", 64);
  BOOST_TEST_REQUIRE(zip.size() < 1024u * 1024u);
  const Unpacked u = Unpack(zip, "bomb.zip", UnpackLimits{});
  BOOST_TEST(u.reports.empty());
  const PayloadFailure* f = FindFailure(u, "max_inflate_ratio");
  BOOST_TEST_REQUIRE(f != nullptr);
  BOOST_TEST(f->name == "bomb.xml");

  UnpackLimits no_ratio;
  no_ratio.max_inflate_ratio = UINT64_MAX;
  no_ratio.max_inflated_bytes = 4 * kMiB;
  const Unpacked v = Unpack(zip, "bomb.zip", no_ratio);
  BOOST_TEST(FindFailure(v, "max_inflated_bytes") != nullptr);
}

// ----- robustness ------------------------------------------------------------

BOOST_AUTO_TEST_CASE(every_prefix_and_byte_flip_of_containers_yields_an_outcome) {
  // A small deterministic fuzz: whatever the damage, Unpack records at
  // least one outcome and does not crash (the sanitizer build checks the
  // rest).
  const std::vector<std::string> seeds = {
      Gzip(kReport),
      Zlib(kReport),
      MakeZip({{"a.xml", std::string(kReport)}, {"b.xml.gz", Gzip(kReport)}}),
      StoredZip({{"", std::string(kReport)}}),
  };
  for (const std::string& seed : seeds) {
    for (std::size_t n = 0; n <= seed.size(); ++n) {
      const Unpacked u = Unpack(std::string_view(seed).substr(0, n), "f", UnpackLimits{});
      BOOST_TEST_REQUIRE(u.reports.size() + u.failures.size() + u.skipped.size() >= 1u);
    }
    for (std::size_t i = 0; i < seed.size(); ++i) {
      std::string damaged = seed;
      damaged[i] = static_cast<char>(damaged[i] ^ 0x5a);
      const Unpacked u = Unpack(damaged, "f", UnpackLimits{});
      BOOST_TEST_REQUIRE(u.reports.size() + u.failures.size() + u.skipped.size() >= 1u);
    }
  }
}

// ----- the corpus ------------------------------------------------------------

namespace {

struct ExpectedRow {
  std::string chain;
  std::string name;
  std::string type;  // aggregate, smtp_tls, failure, or "?" for a failure to unpack
};

// EXPECTED.tsv rows by file, read at run time so the corpus and its table
// can grow without touching this test.
std::map<std::string, std::vector<ExpectedRow>> ReadExpected() {
  const std::string text = ReadFile(fs::path(DMARC_CORPUS_DIR) / "EXPECTED.tsv");
  std::vector<std::vector<std::string>> rows;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    std::vector<std::string> fields;
    std::size_t start = 0;
    for (;;) {
      const std::size_t tab = line.find('\t', start);
      fields.push_back(
          line.substr(start, tab == std::string::npos ? std::string::npos : tab - start));
      if (tab == std::string::npos) break;
      start = tab + 1;
    }
    rows.push_back(std::move(fields));
  }
  BOOST_TEST_REQUIRE(rows.size() > 1u);
  std::map<std::string, std::size_t> column;
  for (std::size_t i = 0; i < rows[0].size(); ++i) column[rows[0][i]] = i;
  for (const char* name : {"file", "payload_chain", "payload_name", "type"}) {
    BOOST_REQUIRE_MESSAGE(column.count(name) == 1u, "EXPECTED.tsv lacks column " << name);
  }
  std::map<std::string, std::vector<ExpectedRow>> by_file;
  for (std::size_t r = 1; r < rows.size(); ++r) {
    const std::vector<std::string>& row = rows[r];
    BOOST_REQUIRE_MESSAGE(row.size() == rows[0].size(), "EXPECTED.tsv row " << r << " is short");
    by_file[row[column["file"]]].push_back(ExpectedRow{
        row[column["payload_chain"]], row[column["payload_name"]], row[column["type"]]});
  }
  return by_file;
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// "chain | name", so that a mismatch prints readably.
using Pairs = std::multiset<std::string>;

std::string Key(const std::string& chain, const std::string& name) { return chain + " | " + name; }

}  // namespace

BOOST_AUTO_TEST_CASE(corpus_payload_chains_and_names_match_expected_tsv) {
  const auto expected = ReadExpected();
  std::size_t checked_rows = 0;
  for (const auto& [file, rows] : expected) {
    BOOST_TEST_CONTEXT("corpus file " << file) {
      const fs::path path = fs::path(DMARC_CORPUS_DIR) / file;
      const Unpacked u = Unpack(ReadFile(path), path.filename().string(), UnpackLimits{});
      Pairs want_reports, want_failures, want_tls, got_reports, got_failures, got_tls;
      std::multiset<std::string> want_failure_reports, got_failure_reports;
      for (const ExpectedRow& row : rows) {
        ++checked_rows;
        if (row.type == "aggregate") {
          want_reports.insert(Key(row.chain, row.name));
        } else if (row.type == "smtp_tls") {
          want_tls.insert(Key(row.chain, row.name));
        } else if (row.type == "failure") {
          // The table gives no payload name for failure reports.
          want_failure_reports.insert(row.chain);
        } else {
          BOOST_CHECK_MESSAGE(EndsWith(row.chain, "empty") || EndsWith(row.chain, "unknown"),
                              "unexpected row type " << row.type);
          want_failures.insert(Key(row.chain, row.name));
        }
      }
      for (const Payload& p : u.reports) got_reports.insert(Key(p.chain, p.name));
      for (const PayloadFailure& f : u.failures) {
        got_failures.insert(Key(f.chain, f.name));
        const std::string& reason = f.status.reason();
        if (EndsWith(f.chain, "unknown")) {
          BOOST_TEST(reason == "unrecognised_payload");
        } else if (f.chain == "empty") {
          BOOST_TEST(reason == "empty_input");
        } else if (EndsWith(f.chain, ">empty")) {
          BOOST_TEST(reason == "empty_payload");
        }
      }
      for (const Skipped& s : u.skipped) {
        if (s.reason == "smtp_tls_report") got_tls.insert(Key(s.chain, s.name));
        if (s.reason == "failure_report") got_failure_reports.insert(s.chain);
        BOOST_CHECK_MESSAGE(s.reason == "smtp_tls_report" || s.reason == "failure_report" ||
                                s.reason == "not_a_report",
                            "unexpected skip reason " << s.reason);
      }
      BOOST_TEST(got_reports == want_reports, boost::test_tools::per_element());
      BOOST_TEST(got_failures == want_failures, boost::test_tools::per_element());
      BOOST_TEST(got_tls == want_tls, boost::test_tools::per_element());
      BOOST_TEST(got_failure_reports == want_failure_reports, boost::test_tools::per_element());
      // Warnings on corpus payloads: only the one file with junk after its
      // gzip stream has any. In particular no real mail here trips the
      // header continuation rule by mistake.
      for (const Payload& p : u.reports) {
        const bool junk = file == "eml/parsedmarc__mimecast-weird-gzip.eml";
        BOOST_TEST(HasWarning(p, "gzip_trailing_junk") == junk);
        BOOST_TEST(p.warnings.size() == (junk ? 1u : 0u));
      }
    }
  }
  BOOST_TEST(checked_rows > 150u);
}

BOOST_AUTO_TEST_CASE(every_corpus_file_has_a_row_in_expected_tsv) {
  const auto expected = ReadExpected();
  std::size_t files = 0;
  for (const char* folder : {"aggregate", "eml", "malformed", "smtp_tls", "forensic"}) {
    for (const auto& entry : fs::directory_iterator(fs::path(DMARC_CORPUS_DIR) / folder)) {
      const std::string relative = std::string(folder) + "/" + entry.path().filename().string();
      BOOST_CHECK_MESSAGE(expected.count(relative) == 1u,
                          relative << " has no row in EXPECTED.tsv");
      ++files;
    }
  }
  BOOST_TEST(files == expected.size());
}

BOOST_AUTO_TEST_CASE(corpus_emails_carry_message_id_and_subject) {
  const fs::path path = fs::path(DMARC_CORPUS_DIR) / "eml" / "mox__outlook.eml";
  const Unpacked u = Unpack(ReadFile(path), "mox__outlook.eml", UnpackLimits{});
  BOOST_TEST(u.message_id.value_or("") == "<8be4eb9d89044800947965b8a040291c@microsoft.com>");
  // The Subject is RFC 2047 base64 in the file.
  BOOST_TEST(u.subject.value_or("") ==
             "[Preview] Report Domain: ueber.net Submitter: protection.outlook.com Report-ID: "
             "8be4eb9d89044800947965b8a040291c");
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace dmarcwatch::ingest
