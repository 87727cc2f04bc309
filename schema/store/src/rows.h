#pragma once
// Rows: the store's tables as C++ structs, the Poco::Data TypeHandlers that
// bind and extract them, and the conversions between rows and the model.
//
// Each row struct lists its columns once: kColumns names them in the order
// Fields() ties the members, and both the SQL (column lists, placeholders)
// and the TypeHandler (bind, extract) are derived from that one order.
// A row is bound with use(row) or use(vector_of_rows); a vector makes one
// execute() insert every element with one compiled statement, which is what
// the rollup upserts rely on (store_analysis.cpp). Records are written as
// blocks (record_blocks.h), not as rows of RecordRowData.

#include <Poco/Data/LOB.h>
#include <Poco/Data/TypeHandler.h>
#include <Poco/Nullable.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "dmarcwatch/model/analysis.h"
#include "dmarcwatch/model/report.h"
#include "dmarcwatch/store/store.h"

namespace dmarcwatch::store {

using NullableText = Poco::Nullable<std::string>;
using NullableInt = Poco::Nullable<std::int64_t>;

// inputs, without id.
struct InputRowData {
  std::string sha256;
  std::string channel;
  std::string origin;
  std::string name;
  NullableText message_id;
  std::int64_t received_at = 0;
  std::int64_t size = 0;
  std::string compression;
  Poco::Nullable<Poco::Data::BLOB> raw;

  static constexpr std::array<std::string_view, 9> kColumns = {
      "sha256",      "channel", "origin",      "name", "message_id",
      "received_at", "size",    "compression", "raw"};
  template <typename Self>
  static auto Fields(Self& r) {
    return std::tie(r.sha256, r.channel, r.origin, r.name, r.message_id, r.received_at, r.size,
                    r.compression, r.raw);
  }
};

// reports, without id: everything GetReport needs to rebuild a report.
struct ReportRowData {
  std::int64_t input_id = 0;
  NullableText version;
  NullableText xml_namespace;
  std::string org_name;
  std::string email;
  NullableText extra_contact_info;
  std::string report_id;
  std::int64_t begin_at = 0;
  std::int64_t end_at = 0;
  std::string errors;
  NullableText generator;
  std::string domain;
  std::string domain_as_written;
  NullableText adkim;
  NullableText aspf;
  std::string p;
  NullableText sp;
  NullableText np;
  NullableInt pct;
  NullableText fo;
  NullableText testing;
  NullableText discovery_method;
  std::string channel;
  std::string origin;
  std::string payload_chain;
  std::string payload_name;
  NullableText message_id;
  NullableText mailbox_uid;
  std::int64_t received_at = 0;
  std::string sha256_raw;
  std::string content_sha256;
  std::int64_t record_count = 0;
  std::int64_t message_count = 0;
  std::string warnings;
  std::int64_t warning_count = 0;
  NullableInt duplicate_of;
  std::int64_t imported_at = 0;

  static constexpr std::array<std::string_view, 37> kColumns = {"input_id",
                                                                "version",
                                                                "xml_namespace",
                                                                "org_name",
                                                                "email",
                                                                "extra_contact_info",
                                                                "report_id",
                                                                "begin_at",
                                                                "end_at",
                                                                "errors",
                                                                "generator",
                                                                "domain",
                                                                "domain_as_written",
                                                                "adkim",
                                                                "aspf",
                                                                "p",
                                                                "sp",
                                                                "np",
                                                                "pct",
                                                                "fo",
                                                                "testing",
                                                                "discovery_method",
                                                                "channel",
                                                                "origin",
                                                                "payload_chain",
                                                                "payload_name",
                                                                "message_id",
                                                                "mailbox_uid",
                                                                "received_at",
                                                                "sha256_raw",
                                                                "content_sha256",
                                                                "record_count",
                                                                "message_count",
                                                                "warnings",
                                                                "warning_count",
                                                                "duplicate_of",
                                                                "imported_at"};
  template <typename Self>
  static auto Fields(Self& r) {
    return std::tie(r.input_id, r.version, r.xml_namespace, r.org_name, r.email,
                    r.extra_contact_info, r.report_id, r.begin_at, r.end_at, r.errors, r.generator,
                    r.domain, r.domain_as_written, r.adkim, r.aspf, r.p, r.sp, r.np, r.pct, r.fo,
                    r.testing, r.discovery_method, r.channel, r.origin, r.payload_chain,
                    r.payload_name, r.message_id, r.mailbox_uid, r.received_at, r.sha256_raw,
                    r.content_sha256, r.record_count, r.message_count, r.warnings, r.warning_count,
                    r.duplicate_of, r.imported_at);
  }
};

// records, without id. The analysis columns (from path_key on) are NULL
// until the record has been analysed.
struct RecordRowData {
  std::int64_t report_row_id = 0;
  std::int64_t row_index = 0;
  std::string source_ip;
  std::int64_t count = 0;
  std::string disposition;
  std::string eval_dkim;
  std::string eval_spf;
  std::string reasons;
  std::string header_from;
  NullableText envelope_from;
  NullableText envelope_to;
  std::string dkim;
  std::string spf;
  NullableText path_key;
  NullableText path_kind;
  NullableText path_name;
  NullableText provider;
  NullableInt attribution_rule;
  NullableText evidence;
  NullableInt spf_aligned;
  NullableInt dkim_aligned;
  NullableInt dmarc_pass;
  NullableInt disagrees;
  NullableInt signature_id;

  static constexpr std::array<std::string_view, 24> kColumns = {
      "report_row_id", "row_index",     "source_ip",        "count",        "disposition",
      "eval_dkim",     "eval_spf",      "reasons",          "header_from",  "envelope_from",
      "envelope_to",   "dkim",          "spf",              "path_key",     "path_kind",
      "path_name",     "provider",      "attribution_rule", "evidence",     "spf_aligned",
      "dkim_aligned",  "dmarc_pass",    "disagrees",        "signature_id"};
  template <typename Self>
  static auto Fields(Self& r) {
    return std::tie(r.report_row_id, r.row_index, r.source_ip, r.count, r.disposition, r.eval_dkim,
                    r.eval_spf, r.reasons, r.header_from, r.envelope_from, r.envelope_to, r.dkim,
                    r.spf, r.path_key, r.path_kind, r.path_name, r.provider, r.attribution_rule,
                    r.evidence, r.spf_aligned, r.dkim_aligned, r.dmarc_pass, r.disagrees,
                    r.signature_id);
  }
  bool analysed() const { return !path_key.isNull(); }
};

// record_blocks: a block of a report's records (record_blocks.h).
struct RecordBlockRowData {
  std::int64_t report_row_id = 0;
  std::int64_t first_index = 0;
  std::int64_t row_count = 0;
  std::string encoding;
  Poco::Data::BLOB data;

  static constexpr std::array<std::string_view, 5> kColumns = {
      "report_row_id", "first_index", "row_count", "encoding", "data"};
  template <typename Self>
  static auto Fields(Self& r) {
    return std::tie(r.report_row_id, r.first_index, r.row_count, r.encoding, r.data);
  }
};

// signatures, without id.
struct SignatureRowData {
  std::string digest;
  std::string header_from;
  NullableText envelope_from;
  std::string dkim;
  std::string spf;
  std::string reasons;
  std::string disposition;

  static constexpr std::array<std::string_view, 7> kColumns = {
      "digest", "header_from", "envelope_from", "dkim", "spf", "reasons", "disposition"};
  template <typename Self>
  static auto Fields(Self& r) {
    return std::tie(r.digest, r.header_from, r.envelope_from, r.dkim, r.spf, r.reasons,
                    r.disposition);
  }
};

// One rollup_daily row, or a signed contribution to one.
struct RollupDailyRowData {
  std::string domain;
  std::int64_t day = 0;
  std::string path_key;
  std::string reporter;
  std::string path_kind;
  std::string path_name;
  std::string provider;
  std::int64_t messages = 0;
  std::int64_t dmarc_pass = 0;
  std::int64_t spf_aligned = 0;
  std::int64_t dkim_aligned = 0;
  std::int64_t disagreements = 0;
  std::int64_t quarantined = 0;
  std::int64_t rejected = 0;
  std::int64_t row_count = 0;

  static constexpr std::array<std::string_view, 15> kColumns = {
      "domain",       "day",          "path_key",      "reporter",    "path_kind",
      "path_name",    "provider",     "messages",      "dmarc_pass",  "spf_aligned",
      "dkim_aligned", "disagreements", "quarantined",  "rejected",    "row_count"};
  template <typename Self>
  static auto Fields(Self& r) {
    return std::tie(r.domain, r.day, r.path_key, r.reporter, r.path_kind, r.path_name, r.provider,
                    r.messages, r.dmarc_pass, r.spf_aligned, r.dkim_aligned, r.disagreements,
                    r.quarantined, r.rejected, r.row_count);
  }
};

// One rollup_sources row, or a signed contribution to one.
struct RollupSourceRowData {
  std::string domain;
  std::int64_t day = 0;
  std::string path_key;
  std::string source_ip;
  std::int64_t signature_id = 0;
  std::int64_t messages = 0;
  std::int64_t dmarc_pass = 0;
  std::int64_t spf_aligned = 0;
  std::int64_t dkim_aligned = 0;
  std::int64_t disagreements = 0;
  std::int64_t quarantined = 0;
  std::int64_t rejected = 0;
  std::int64_t row_count = 0;

  static constexpr std::array<std::string_view, 13> kColumns = {
      "domain",      "day",          "path_key",     "source_ip",     "signature_id",
      "messages",    "dmarc_pass",   "spf_aligned",  "dkim_aligned",  "disagreements",
      "quarantined", "rejected",     "row_count"};
  template <typename Self>
  static auto Fields(Self& r) {
    return std::tie(r.domain, r.day, r.path_key, r.source_ip, r.signature_id, r.messages,
                    r.dmarc_pass, r.spf_aligned, r.dkim_aligned, r.disagreements, r.quarantined,
                    r.rejected, r.row_count);
  }
};

// rejects, without id.
struct RejectRowData {
  NullableInt input_id;
  std::string payload_chain;
  std::string payload_name;
  std::string code;
  std::string reason;
  std::string message;
  std::int64_t first_seen = 0;
  std::int64_t last_seen = 0;
  std::int64_t seen_count = 0;

  static constexpr std::array<std::string_view, 9> kColumns = {
      "input_id", "payload_chain", "payload_name", "code",      "reason",
      "message",  "first_seen",    "last_seen",    "seen_count"};
  template <typename Self>
  static auto Fields(Self& r) {
    return std::tie(r.input_id, r.payload_chain, r.payload_name, r.code, r.reason, r.message,
                    r.first_seen, r.last_seen, r.seen_count);
  }
};

// The projection ListReports reads (reports joined with nothing).
struct ReportListRowData {
  std::int64_t id = 0;
  std::int64_t input_id = 0;
  std::string org_name;
  std::string email;
  std::string report_id;
  std::string domain;
  std::int64_t begin_at = 0;
  std::int64_t end_at = 0;
  std::int64_t record_count = 0;
  std::int64_t message_count = 0;
  NullableInt duplicate_of;
  std::string payload_chain;
  std::string payload_name;
  std::string origin;
  std::int64_t warning_count = 0;
  std::int64_t imported_at = 0;
  std::string content_sha256;

  static constexpr std::array<std::string_view, 17> kColumns = {
      "id",           "input_id",      "org_name",      "email",        "report_id",
      "domain",       "begin_at",      "end_at",        "record_count", "message_count",
      "duplicate_of", "payload_chain", "payload_name",  "origin",       "warning_count",
      "imported_at",  "content_sha256"};
  template <typename Self>
  static auto Fields(Self& r) {
    return std::tie(r.id, r.input_id, r.org_name, r.email, r.report_id, r.domain, r.begin_at,
                    r.end_at, r.record_count, r.message_count, r.duplicate_of, r.payload_chain,
                    r.payload_name, r.origin, r.warning_count, r.imported_at, r.content_sha256);
  }
};

// The projection ListRejects reads: rejects joined with their input's origin.
struct RejectListRowData {
  std::int64_t id = 0;
  NullableInt input_id;
  std::string origin;
  std::string payload_chain;
  std::string payload_name;
  std::string code;
  std::string reason;
  std::string message;
  std::int64_t first_seen = 0;
  std::int64_t seen_count = 0;

  static constexpr std::array<std::string_view, 10> kColumns = {"r.id",
                                                                "r.input_id",
                                                                "COALESCE(i.origin, '')",
                                                                "r.payload_chain",
                                                                "r.payload_name",
                                                                "r.code",
                                                                "r.reason",
                                                                "r.message",
                                                                "r.first_seen",
                                                                "r.seen_count"};
  template <typename Self>
  static auto Fields(Self& r) {
    return std::tie(r.id, r.input_id, r.origin, r.payload_chain, r.payload_name, r.code, r.reason,
                    r.message, r.first_seen, r.seen_count);
  }
};

// "a, b, c" and "?, ?, ?" for a row's columns.
template <typename Row>
std::string ColumnList() {
  std::string out;
  for (std::string_view c : Row::kColumns) {
    if (!out.empty()) out += ", ";
    out += c;
  }
  return out;
}
template <typename Row>
std::string PlaceholderList() {
  std::string out;
  for (std::size_t i = 0; i < Row::kColumns.size(); ++i) out += i == 0 ? "?" : ", ?";
  return out;
}

// A stored count: the model's unsigned value, saturated at INT64_MAX.
std::int64_t StoredCount(std::uint64_t count);

// The name of the first field of `report` that holds a NUL byte and is
// stored in a plain text column, or nullptr. Poco's SQLite extractor reads
// text as a C string, so such a value would come back cut short.
const char* FindNulField(const model::Report& report);
// The same for records alone.
const char* FindNulField(const std::vector<model::Record>& records);

// reports.warnings: the report's warnings as JSON text.
std::string EncodeWarnings(const std::vector<model::ParseWarning>& warnings);

ReportRowData ToReportRow(std::int64_t input_id, const model::Report& report,
                          const std::string& content_digest,
                          std::optional<std::int64_t> duplicate_of, model::UnixTime imported_at);
// Resizes `rows` to `records`, a report's records from its record number
// `first_index` on (row_index counts from there), and overwrites them in
// place, so that the strings' buffers are reused from one batch to the next.
void FillRecordRows(std::int64_t report_row_id, std::size_t first_index,
                    const std::vector<model::Record>& records, std::vector<RecordRowData>& rows);

// The list view of a report row.
ReportRow ToReportRow(const ReportListRowData& row);

// Rebuilds the report. Throws Poco::DataFormatException when a row does
// not hold what this store writes (a corrupt database).
model::Report FromRows(const ReportRowData& report_row, const std::vector<RecordRowData>& records);

// Sets a record row's analysis columns (signature_id is set by the caller).
void ApplyAnalysis(const model::RecordAnalysis& analysis, RecordRowData& row);
model::RecordAnalysis AnalysisFromRow(const RecordRowData& row);
// The signature of a record row: its digest and columns.
SignatureRowData SignatureOf(const RecordRowData& row);
// The canonical text SignatureOf hashes: equal texts, equal signatures.
// Cheaper than the digest, so the store's signature cache is keyed by it.
std::string SignatureText(const RecordRowData& row);
// Rebuilds an AuthSignature from a signatures row. Throws like FromRows.
model::AuthSignature FromSignatureRow(const SignatureRowData& row);

}  // namespace dmarcwatch::store

namespace Poco::Data {

// One TypeHandler for every row struct above, driven by Row::Fields. Every
// field is one column. Fields go straight to the binder and extractor
// rather than through TypeHandler<Field>, which would copy the binder's
// SharedPtr (an atomic increment and decrement) for every column of every
// row.
template <typename Row>
class RowTypeHandler {
  static_assert(std::tuple_size_v<decltype(Row::Fields(std::declval<Row&>()))> ==
                    Row::kColumns.size(),
                "kColumns must name every field Fields() ties, in order");

 public:
  static std::size_t size() { return Row::kColumns.size(); }

  static void bind(std::size_t pos, const Row& row, AbstractBinder::Ptr binder,
                   AbstractBinder::Direction dir) {
    AbstractBinder& b = *binder;
    std::apply([&](const auto&... field) { (Bind(b, pos++, field, dir), ...); }, Row::Fields(row));
  }

  static void prepare(std::size_t pos, const Row& row, AbstractPreparator::Ptr preparator) {
    std::apply(
        [&](const auto&... field) {
          (TypeHandler<std::decay_t<decltype(field)>>::prepare(pos++, field, preparator), ...);
        },
        Row::Fields(row));
  }

  // A NULL in a NOT NULL column (which the schema prevents) leaves the
  // field's default value.
  static void extract(std::size_t pos, Row& row, const Row& /*default_row*/,
                      AbstractExtractor::Ptr extractor) {
    AbstractExtractor& e = *extractor;
    std::apply([&](auto&... field) { (Extract(e, pos++, field), ...); }, Row::Fields(row));
  }

 private:
  template <typename T>
  static void Bind(AbstractBinder& b, std::size_t pos, const T& v, AbstractBinder::Direction dir) {
    b.bind(pos, v, dir);
  }
  template <typename T>
  static void Bind(AbstractBinder& b, std::size_t pos, const Nullable<T>& v,
                   AbstractBinder::Direction dir) {
    if (v.isNull()) {
      b.bind(pos, Keywords::null, dir);
    } else {
      b.bind(pos, v.value(), dir);
    }
  }
  template <typename T>
  static void Extract(AbstractExtractor& e, std::size_t pos, T& v) {
    if (!e.extract(pos, v)) v = T();
  }
  template <typename T>
  static void Extract(AbstractExtractor& e, std::size_t pos, Nullable<T>& v) {
    T value;
    if (e.extract(pos, value)) {
      v = std::move(value);
    } else {
      v.clear();
    }
  }
};

template <>
class TypeHandler<dmarcwatch::store::InputRowData>
    : public RowTypeHandler<dmarcwatch::store::InputRowData> {};
template <>
class TypeHandler<dmarcwatch::store::ReportRowData>
    : public RowTypeHandler<dmarcwatch::store::ReportRowData> {};
template <>
class TypeHandler<dmarcwatch::store::RecordRowData>
    : public RowTypeHandler<dmarcwatch::store::RecordRowData> {};
template <>
class TypeHandler<dmarcwatch::store::RejectRowData>
    : public RowTypeHandler<dmarcwatch::store::RejectRowData> {};
template <>
class TypeHandler<dmarcwatch::store::ReportListRowData>
    : public RowTypeHandler<dmarcwatch::store::ReportListRowData> {};
template <>
class TypeHandler<dmarcwatch::store::RejectListRowData>
    : public RowTypeHandler<dmarcwatch::store::RejectListRowData> {};
template <>
class TypeHandler<dmarcwatch::store::RecordBlockRowData>
    : public RowTypeHandler<dmarcwatch::store::RecordBlockRowData> {};
template <>
class TypeHandler<dmarcwatch::store::SignatureRowData>
    : public RowTypeHandler<dmarcwatch::store::SignatureRowData> {};
template <>
class TypeHandler<dmarcwatch::store::RollupDailyRowData>
    : public RowTypeHandler<dmarcwatch::store::RollupDailyRowData> {};
template <>
class TypeHandler<dmarcwatch::store::RollupSourceRowData>
    : public RowTypeHandler<dmarcwatch::store::RollupSourceRowData> {};

}  // namespace Poco::Data
