// ProcessInput, the single entry point from untrusted bytes to reports: the
// table of hostile inputs, each with the reason it is rejected for, and the
// provenance and warnings that reach the report.

#include <archive.h>
#include <archive_entry.h>
#include <zlib.h>

#include <boost/test/unit_test.hpp>
#include <string>

#include "dmarcwatch/ingest/digest.h"
#include "dmarcwatch/ingest/parse.h"
#include "dmarcwatch/ingest/pipeline.h"

namespace ingest = dmarcwatch::ingest;

namespace {

const std::string kReport =
    "<?xml version=\"1.0\"?><feedback><report_metadata><org_name>acme</org_name>"
    "<email>d@acme.test</email><report_id>r-1</report_id><date_range><begin>1700000000</begin>"
    "<end>1700086399</end></date_range></report_metadata><policy_published><domain>example.com"
    "</domain><p>none</p></policy_published><record><row><source_ip>192.0.2.9</source_ip>"
    "<count>4</count><policy_evaluated><disposition>none</disposition><dkim>pass</dkim>"
    "<spf>pass</spf></policy_evaluated></row><identifiers><header_from>example.com</header_from>"
    "</identifiers><auth_results><spf><domain>example.com</domain><result>pass</result></spf>"
    "</auth_results></record></feedback>";

std::string With(const std::string& from, const std::string& to) {
  std::string s = kReport;
  s.replace(s.find(from), from.size(), to);
  return s;
}

std::string Gzip(const std::string& data) {
  z_stream z{};
  deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&z, static_cast<uLong>(data.size())) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

// A gzip of `zeros` zero bytes, built in chunks so the test never holds them.
std::string GzipBomb(std::size_t zeros) {
  z_stream z{};
  deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  const std::string chunk(1 << 20, '\0');
  std::string out;
  std::string buf(1 << 16, '\0');
  for (std::size_t done = 0; done < zeros; done += chunk.size()) {
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(chunk.data()));
    z.avail_in = static_cast<uInt>(chunk.size());
    const int flush = done + chunk.size() >= zeros ? Z_FINISH : Z_NO_FLUSH;
    do {
      z.next_out = reinterpret_cast<Bytef*>(buf.data());
      z.avail_out = static_cast<uInt>(buf.size());
      deflate(&z, flush);
      out.append(buf.data(), buf.size() - z.avail_out);
    } while (z.avail_out == 0);
  }
  deflateEnd(&z);
  return out;
}

std::string Zip(int entries, const std::string& content) {
  std::string out(1 << 20, '\0');
  std::size_t used = 0;
  archive* a = archive_write_new();
  archive_write_set_format_zip(a);
  archive_write_open_memory(a, out.data(), out.size(), &used);
  for (int i = 0; i < entries; ++i) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, ("r" + std::to_string(i) + ".xml").c_str());
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_size(e, static_cast<la_int64_t>(content.size()));
    archive_write_header(a, e);
    archive_write_data(a, content.data(), content.size());
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
  out.resize(used);
  return out;
}

ingest::ProcessedInput Process(const std::string& bytes) {
  ingest::InputInfo info{"file", "/in/x", "x", 1700100000};
  return ingest::ProcessInput(bytes, info, {});
}

}  // namespace

BOOST_AUTO_TEST_SUITE(pipeline)

BOOST_AUTO_TEST_CASE(a_report_carries_its_provenance_and_digest) {
  auto out = Process(Gzip(kReport));
  BOOST_REQUIRE_EQUAL(out.reports.size(), 1u);
  BOOST_TEST(out.rejections.empty());
  const auto& p = out.reports[0].provenance;
  BOOST_TEST(p.channel == "file");
  BOOST_TEST(p.origin == "/in/x");
  BOOST_TEST(p.payload_chain == "gz>xml");
  BOOST_TEST(p.received_at == 1700100000);
  BOOST_TEST(p.sha256_raw == out.sha256_raw);
  BOOST_TEST(out.sha256_raw == ingest::Sha256Hex(Gzip(kReport)));
  BOOST_REQUIRE_EQUAL(out.content_digests.size(), 1u);
  // The parser's digest is the digest of the report it gave.
  BOOST_TEST(out.content_digests[0] == ingest::ContentDigest(out.reports[0]));
  // The same report, plain: other input bytes, same content.
  auto plain = Process(kReport);
  BOOST_TEST(plain.content_digests.at(0) == out.content_digests[0]);
  BOOST_TEST(plain.sha256_raw != out.sha256_raw);
}

BOOST_AUTO_TEST_CASE(sha256_matches_the_standard_test_vector) {
  BOOST_TEST(ingest::Sha256Hex("abc") ==
             "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

BOOST_AUTO_TEST_CASE(unpack_warnings_reach_the_report) {
  std::string junk_after = Gzip(kReport) + "\r\n";
  auto out = Process(junk_after);
  BOOST_REQUIRE_EQUAL(out.reports.size(), 1u);
  bool found = false;
  for (const auto& w : out.reports[0].warnings) found |= w.code == "gzip_trailing_junk";
  BOOST_TEST(found);
}

struct Hostile {
  const char* name;
  std::string bytes;
  const char* reason;
};

BOOST_AUTO_TEST_CASE(hostile_inputs_are_rejected_with_their_reason_and_never_crash) {
  const std::vector<Hostile> table = {
      {"empty", "", "empty_input"},
      {"gzip_bomb", GzipBomb(300u << 20), "max_inflate_ratio"},
      {"zip_with_1000_entries", Zip(1000, kReport), "max_zip_entries"},
      {"zip_in_zip", Zip(1, Zip(1, kReport)), "nested_zip"},
      {"doctype_with_entities",
       "<?xml version=\"1.0\"?><!DOCTYPE feedback [<!ENTITY a \"aaaa\"><!ENTITY b \"&a;&a;&a;\">]>"
       "<feedback>&b;</feedback>",
       "doctype_forbidden"},
      {"huge_count", With("<count>4</count>", "<count>99999999999999999999999</count>"),
       "number_out_of_range"},
      {"negative_count", With("<count>4</count>", "<count>-1</count>"), "not_a_number"},
      {"bad_ip", With("192.0.2.9", "192.0.2.999"), "bad_source_ip"},
      {"begin_after_end", With("<begin>1700000000</begin>", "<begin>1800000000</begin>"),
       "begin_after_end"},
      {"not_a_report", "just some text\n", "unrecognised_payload"},
      {"truncated_gzip", Gzip(kReport).substr(0, 40), "corrupt_gzip"},
      {"gzip_of_garbage", Gzip("garbage that is not xml"), "unrecognised_payload"},
  };
  for (const Hostile& h : table) {
    auto out = Process(h.bytes);
    BOOST_TEST(out.reports.empty(), h.name);
    BOOST_REQUIRE_MESSAGE(out.rejections.size() == 1u, h.name << ": " << out.rejections.size()
                                                              << " rejections");
    BOOST_TEST(out.rejections[0].status.reason() == h.reason,
               h.name << ": " << out.rejections[0].status.ToString());
    BOOST_TEST(!out.rejections[0].status.message().empty(), h.name);
  }
}

BOOST_AUTO_TEST_CASE(one_bad_report_in_a_zip_does_not_stop_the_others) {
  std::string out(1 << 16, '\0');
  std::size_t used = 0;
  archive* a = archive_write_new();
  archive_write_set_format_zip(a);
  archive_write_open_memory(a, out.data(), out.size(), &used);
  const std::string bad = With("192.0.2.9", "nonsense");
  const std::string good2 = With("<report_id>r-1</report_id>", "<report_id>r-2</report_id>");
  int i = 0;
  for (const std::string* content : {&kReport, &bad, &good2}) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, ("e" + std::to_string(i++) + ".xml").c_str());
    archive_entry_set_filetype(e, AE_IFREG);
    archive_entry_set_perm(e, 0644);
    archive_entry_set_size(e, static_cast<la_int64_t>(content->size()));
    archive_write_header(a, e);
    archive_write_data(a, content->data(), content->size());
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
  out.resize(used);
  auto processed = Process(out);
  BOOST_TEST(processed.reports.size() == 2u);
  BOOST_REQUIRE_EQUAL(processed.rejections.size(), 1u);
  BOOST_TEST(processed.rejections[0].name == "e1.xml");
  BOOST_TEST(processed.rejections[0].chain == "zip>xml");
  BOOST_TEST(processed.rejections[0].status.reason() == "bad_source_ip");
}

BOOST_AUTO_TEST_SUITE_END()
