#include "rows.h"

#include <openssl/evp.h>

#include <Poco/Exception.h>

#include <algorithm>
#include <cstring>
#include <limits>

#include "dmarcwatch/model/text.h"
#include "json_text.h"

namespace dmarcwatch::store {
namespace {

constexpr std::int64_t kMaxStored = std::numeric_limits<std::int64_t>::max();

NullableText ToNullable(const std::optional<std::string>& v) {
  return v ? NullableText(*v) : NullableText();
}

std::optional<std::string> FromNullable(const NullableText& v) {
  if (v.isNull()) return std::nullopt;
  return v.value();
}

template <typename Enum>
NullableText EnumToNullable(const std::optional<Enum>& v) {
  return v ? NullableText(model::ToString(*v)) : NullableText();
}

// The enumerator whose model::ToString() is `word`. Every model enum runs
// from 0 to kUnknown, so the words can be walked; a word this binary does
// not know (written by a newer one) is kUnknown, as the parser would do.
template <typename Enum>
Enum ParseEnum(std::string_view word) {
  using Underlying = std::underlying_type_t<Enum>;
  for (auto i = Underlying{0}; i < static_cast<Underlying>(Enum::kUnknown); ++i) {
    const auto e = static_cast<Enum>(i);
    if (word == model::ToString(e)) return e;
  }
  return Enum::kUnknown;
}

template <typename Enum>
std::optional<Enum> ParseOptionalEnum(const NullableText& v) {
  if (v.isNull()) return std::nullopt;
  return ParseEnum<Enum>(v.value());
}

bool HasNul(const std::string& s) { return s.find('\0') != std::string::npos; }
bool HasNul(const std::optional<std::string>& s) { return s && HasNul(*s); }

// The encoders below overwrite `out` in place, so that the record rows'
// strings keep their buffers from one report to the next.

// The fixed-size rows of the JSON lists; a row of another width is corrupt.
void CheckWidth(const JsonRow& row, std::size_t width, const char* column) {
  if (row.size() != width) {
    throw Poco::DataFormatException("stored list has rows of the wrong width", column);
  }
}

std::string Required(const std::optional<std::string>& v, const char* column) {
  if (!v) throw Poco::DataFormatException("stored list has null where text belongs", column);
  return *v;
}

std::uint32_t ToUint32(std::int64_t v) {
  if (v < 0) return 0;
  if (v > std::numeric_limits<std::uint32_t>::max())
    return std::numeric_limits<std::uint32_t>::max();
  return static_cast<std::uint32_t>(v);
}

void EncodeReasons(const std::vector<model::PolicyOverrideReason>& reasons, std::string& out) {
  out.assign(1, '[');
  for (const model::PolicyOverrideReason& r : reasons) {
    if (out.size() > 1) out += ',';
    out += '[';
    AppendJsonString(out, model::ToString(r.type));
    out += ',';
    AppendJsonOptional(out, r.comment);
    out += ']';
  }
  out += ']';
}

void EncodeDkim(const std::vector<model::DkimAuthResult>& results, std::string& out) {
  out.assign(1, '[');
  for (const model::DkimAuthResult& r : results) {
    if (out.size() > 1) out += ',';
    out += '[';
    AppendJsonString(out, r.domain);
    out += ',';
    AppendJsonOptional(out, r.selector);
    out += ',';
    AppendJsonString(out, model::ToString(r.result));
    out += ',';
    AppendJsonOptional(out, r.human_result);
    out += ']';
  }
  out += ']';
}

void EncodeSpf(const std::vector<model::SpfAuthResult>& results, std::string& out) {
  out.assign(1, '[');
  for (const model::SpfAuthResult& r : results) {
    if (out.size() > 1) out += ',';
    out += '[';
    AppendJsonString(out, r.domain);
    out += ',';
    AppendJsonString(out, model::ToString(r.scope));
    out += ',';
    AppendJsonString(out, model::ToString(r.result));
    out += ',';
    AppendJsonOptional(out, r.human_result);
    out += ']';
  }
  out += ']';
}

}  // namespace

std::string EncodeWarnings(const std::vector<model::ParseWarning>& warnings) {
  std::vector<JsonRow> rows;
  rows.reserve(warnings.size());
  for (const model::ParseWarning& w : warnings) rows.push_back({w.code, w.detail});
  return EncodeRows(rows);
}

std::int64_t StoredCount(std::uint64_t count) {
  return count > static_cast<std::uint64_t>(kMaxStored) ? kMaxStored
                                                        : static_cast<std::int64_t>(count);
}

const char* FindNulField(const model::Report& report) {
  const model::ReportMetadata& m = report.report_metadata;
  const model::PolicyPublished& p = report.policy_published;
  const model::Provenance& v = report.provenance;
  if (HasNul(report.version)) return "version";
  if (HasNul(report.xml_namespace)) return "xml_namespace";
  if (HasNul(m.org_name)) return "org_name";
  if (HasNul(m.email)) return "email";
  if (HasNul(m.extra_contact_info)) return "extra_contact_info";
  if (HasNul(m.report_id)) return "report_id";
  if (HasNul(m.generator)) return "generator";
  if (HasNul(p.domain)) return "domain";
  if (HasNul(p.fo)) return "fo";
  if (HasNul(v.channel)) return "channel";
  if (HasNul(v.origin)) return "origin";
  if (HasNul(v.payload_chain)) return "payload_chain";
  if (HasNul(v.payload_name)) return "payload_name";
  if (HasNul(v.message_id)) return "message_id";
  if (HasNul(v.mailbox_uid)) return "mailbox_uid";
  if (HasNul(v.sha256_raw)) return "sha256_raw";
  return FindNulField(report.records);
}

const char* FindNulField(const std::vector<model::Record>& records) {
  for (const model::Record& r : records) {
    if (HasNul(r.identifiers.header_from)) return "header_from";
    if (HasNul(r.identifiers.envelope_from)) return "envelope_from";
    if (HasNul(r.identifiers.envelope_to)) return "envelope_to";
  }
  return nullptr;
}

ReportRowData ToReportRow(std::int64_t input_id, const model::Report& report,
                          const std::string& content_digest,
                          std::optional<std::int64_t> duplicate_of, model::UnixTime imported_at) {
  const model::ReportMetadata& m = report.report_metadata;
  const model::PolicyPublished& p = report.policy_published;
  const model::Provenance& v = report.provenance;
  ReportRowData row;
  row.input_id = input_id;
  row.version = ToNullable(report.version);
  row.xml_namespace = ToNullable(report.xml_namespace);
  row.org_name = m.org_name;
  row.email = m.email;
  row.extra_contact_info = ToNullable(m.extra_contact_info);
  row.report_id = m.report_id;
  row.begin_at = m.date_range.begin;
  row.end_at = m.date_range.end;
  row.errors = EncodeStringArray(m.errors);
  row.generator = ToNullable(m.generator);
  row.domain = model::AsciiLower(p.domain);
  row.domain_as_written = p.domain;
  row.adkim = EnumToNullable(p.adkim);
  row.aspf = EnumToNullable(p.aspf);
  row.p = model::ToString(p.p);
  row.sp = EnumToNullable(p.sp);
  row.np = EnumToNullable(p.np);
  row.pct = p.pct ? NullableInt(static_cast<std::int64_t>(*p.pct)) : NullableInt();
  row.fo = ToNullable(p.fo);
  row.testing = EnumToNullable(p.testing);
  row.discovery_method = EnumToNullable(p.discovery_method);
  row.channel = v.channel;
  row.origin = v.origin;
  row.payload_chain = v.payload_chain;
  row.payload_name = v.payload_name;
  row.message_id = ToNullable(v.message_id);
  row.mailbox_uid = ToNullable(v.mailbox_uid);
  row.received_at = v.received_at;
  row.sha256_raw = v.sha256_raw;
  row.content_sha256 = content_digest;
  row.record_count = StoredCount(report.records.size());
  row.message_count = StoredCount(report.MessageCount());
  row.warnings = EncodeWarnings(report.warnings);
  row.warning_count = StoredCount(report.warnings.size());
  row.duplicate_of = duplicate_of ? NullableInt(*duplicate_of) : NullableInt();
  row.imported_at = imported_at;
  return row;
}

void FillRecordRows(std::int64_t report_row_id, std::size_t first_index,
                    const std::vector<model::Record>& records, std::vector<RecordRowData>& rows) {
  rows.resize(records.size());
  for (std::size_t i = 0; i < records.size(); ++i) {
    const model::Record& r = records[i];
    RecordRowData& row = rows[i];
    row.report_row_id = report_row_id;
    row.row_index = static_cast<std::int64_t>(first_index + i);
    row.source_ip = r.source_ip.ToString();
    row.count = StoredCount(r.count);
    row.disposition = model::ToString(r.policy_evaluated.disposition);
    row.eval_dkim = model::ToString(r.policy_evaluated.dkim);
    row.eval_spf = model::ToString(r.policy_evaluated.spf);
    EncodeReasons(r.policy_evaluated.reasons, row.reasons);
    row.header_from = r.identifiers.header_from;
    row.envelope_from = ToNullable(r.identifiers.envelope_from);
    row.envelope_to = ToNullable(r.identifiers.envelope_to);
    EncodeDkim(r.auth_results.dkim, row.dkim);
    EncodeSpf(r.auth_results.spf, row.spf);
    row.path_key.clear();
    row.path_kind.clear();
    row.path_name.clear();
    row.provider.clear();
    row.attribution_rule.clear();
    row.evidence.clear();
    row.spf_aligned.clear();
    row.dkim_aligned.clear();
    row.dmarc_pass.clear();
    row.disagrees.clear();
    row.signature_id.clear();
  }
}

namespace {

std::vector<model::PolicyOverrideReason> DecodeReasons(std::string_view json) {
  std::vector<model::PolicyOverrideReason> out;
  for (const JsonRow& j : DecodeRows(json)) {
    CheckWidth(j, 2, "reasons");
    out.push_back({ParseEnum<model::PolicyOverride>(Required(j[0], "reasons")), j[1]});
  }
  return out;
}

std::vector<model::DkimAuthResult> DecodeDkim(std::string_view json) {
  std::vector<model::DkimAuthResult> out;
  for (const JsonRow& j : DecodeRows(json)) {
    CheckWidth(j, 4, "dkim");
    out.push_back(
        {Required(j[0], "dkim"), j[1], ParseEnum<model::DkimResult>(Required(j[2], "dkim")), j[3]});
  }
  return out;
}

std::vector<model::SpfAuthResult> DecodeSpf(std::string_view json) {
  std::vector<model::SpfAuthResult> out;
  for (const JsonRow& j : DecodeRows(json)) {
    CheckWidth(j, 4, "spf");
    out.push_back({Required(j[0], "spf"), ParseEnum<model::SpfScope>(Required(j[1], "spf")),
                   ParseEnum<model::SpfResult>(Required(j[2], "spf")), j[3]});
  }
  return out;
}

NullableInt Flag(bool v) { return NullableInt(v ? 1 : 0); }
bool FlagValue(const NullableInt& v) { return !v.isNull() && v.value() != 0; }

}  // namespace

void ApplyAnalysis(const model::RecordAnalysis& a, RecordRowData& row) {
  row.path_key = a.path_key;
  row.path_kind = std::string(model::ToString(a.kind));
  row.path_name = a.path_name;
  row.provider = a.provider;
  row.attribution_rule = NullableInt(a.rule);
  row.evidence = a.evidence;
  row.spf_aligned = Flag(a.spf_aligned);
  row.dkim_aligned = Flag(a.dkim_aligned);
  row.dmarc_pass = Flag(a.dmarc_pass);
  row.disagrees = Flag(a.disagrees);
}

model::RecordAnalysis AnalysisFromRow(const RecordRowData& row) {
  model::RecordAnalysis a;
  if (!row.analysed()) return a;
  a.path_key = row.path_key.value();
  a.kind = model::PathKindFromString(row.path_kind.isNull() ? "" : row.path_kind.value());
  a.path_name = row.path_name.isNull() ? "" : row.path_name.value();
  a.provider = row.provider.isNull() ? "" : row.provider.value();
  a.rule = row.attribution_rule.isNull() ? 6 : static_cast<int>(row.attribution_rule.value());
  a.evidence = row.evidence.isNull() ? "" : row.evidence.value();
  a.spf_aligned = FlagValue(row.spf_aligned);
  a.dkim_aligned = FlagValue(row.dkim_aligned);
  a.dmarc_pass = FlagValue(row.dmarc_pass);
  a.disagrees = FlagValue(row.disagrees);
  return a;
}

std::string SignatureText(const RecordRowData& row) {
  // Length-prefixed, so no two different column lists hash alike.
  std::string canon;
  for (const std::string* field :
       {&row.header_from, &row.dkim, &row.spf, &row.reasons, &row.disposition}) {
    canon += std::to_string(field->size());
    canon += ':';
    canon += *field;
  }
  canon += row.envelope_from.isNull() ? "-" : "+" + std::to_string(row.envelope_from.value().size()) +
                                                  ":" + row.envelope_from.value();
  return canon;
}

SignatureRowData SignatureOf(const RecordRowData& row) {
  SignatureRowData s;
  s.header_from = row.header_from;
  s.envelope_from = row.envelope_from;
  s.dkim = row.dkim;
  s.spf = row.spf;
  s.reasons = row.reasons;
  s.disposition = row.disposition;
  const std::string canon = SignatureText(row);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(canon.data(), canon.size(), digest, &size, EVP_sha256(), nullptr);
  s.digest = model::HexEncode(std::string_view(reinterpret_cast<const char*>(digest), size));
  return s;
}

model::AuthSignature FromSignatureRow(const SignatureRowData& row) {
  model::AuthSignature s;
  s.header_from = row.header_from;
  s.envelope_from = FromNullable(row.envelope_from);
  s.dkim = DecodeDkim(row.dkim);
  s.spf = DecodeSpf(row.spf);
  for (const auto& r : DecodeReasons(row.reasons)) s.reasons.push_back(r.type);
  s.disposition = ParseEnum<model::AppliedDisposition>(row.disposition);
  return s;
}

model::Report FromRows(const ReportRowData& row, const std::vector<RecordRowData>& records) {
  model::Report report;
  report.version = FromNullable(row.version);
  report.xml_namespace = FromNullable(row.xml_namespace);

  model::ReportMetadata& m = report.report_metadata;
  m.org_name = row.org_name;
  m.email = row.email;
  m.extra_contact_info = FromNullable(row.extra_contact_info);
  m.report_id = row.report_id;
  m.date_range = {row.begin_at, row.end_at};
  m.errors = DecodeStringArray(row.errors);
  m.generator = FromNullable(row.generator);

  model::PolicyPublished& p = report.policy_published;
  p.domain = row.domain_as_written;
  p.adkim = ParseOptionalEnum<model::Alignment>(row.adkim);
  p.aspf = ParseOptionalEnum<model::Alignment>(row.aspf);
  p.p = ParseEnum<model::Disposition>(row.p);
  p.sp = ParseOptionalEnum<model::Disposition>(row.sp);
  p.np = ParseOptionalEnum<model::Disposition>(row.np);
  if (!row.pct.isNull()) p.pct = ToUint32(row.pct.value());
  p.fo = FromNullable(row.fo);
  p.testing = ParseOptionalEnum<model::Testing>(row.testing);
  p.discovery_method = ParseOptionalEnum<model::DiscoveryMethod>(row.discovery_method);

  model::Provenance& v = report.provenance;
  v.channel = row.channel;
  v.origin = row.origin;
  v.payload_chain = row.payload_chain;
  v.payload_name = row.payload_name;
  v.message_id = FromNullable(row.message_id);
  v.mailbox_uid = FromNullable(row.mailbox_uid);
  v.received_at = row.received_at;
  v.sha256_raw = row.sha256_raw;

  for (const JsonRow& w : DecodeRows(row.warnings)) {
    CheckWidth(w, 2, "warnings");
    report.warnings.push_back({Required(w[0], "warnings"), Required(w[1], "warnings")});
  }

  report.records.reserve(records.size());
  for (const RecordRowData& rr : records) {
    model::Record r;
    const std::optional<model::IpAddress> ip = model::IpAddress::Parse(rr.source_ip);
    if (!ip) throw Poco::DataFormatException("stored source_ip is not an address", rr.source_ip);
    r.source_ip = *ip;
    r.count = rr.count < 0 ? 0 : static_cast<std::uint64_t>(rr.count);
    r.policy_evaluated.disposition = ParseEnum<model::AppliedDisposition>(rr.disposition);
    r.policy_evaluated.dkim = ParseEnum<model::DmarcResult>(rr.eval_dkim);
    r.policy_evaluated.spf = ParseEnum<model::DmarcResult>(rr.eval_spf);
    r.policy_evaluated.reasons = DecodeReasons(rr.reasons);
    r.identifiers.header_from = rr.header_from;
    r.identifiers.envelope_from = FromNullable(rr.envelope_from);
    r.identifiers.envelope_to = FromNullable(rr.envelope_to);
    r.auth_results.dkim = DecodeDkim(rr.dkim);
    r.auth_results.spf = DecodeSpf(rr.spf);
    report.records.push_back(std::move(r));
  }
  return report;
}

ReportRow ToReportRow(const ReportListRowData& r) {
  ReportRow row;
  row.id = r.id;
  row.input_id = r.input_id;
  row.content_sha256 = r.content_sha256;
  row.org_name = r.org_name;
  row.email = r.email;
  row.report_id = r.report_id;
  row.domain = r.domain;
  row.begin = r.begin_at;
  row.end = r.end_at;
  row.records = r.record_count < 0 ? 0 : static_cast<std::uint64_t>(r.record_count);
  row.messages = r.message_count < 0 ? 0 : static_cast<std::uint64_t>(r.message_count);
  if (!r.duplicate_of.isNull()) row.duplicate_of = r.duplicate_of.value();
  row.payload_chain = r.payload_chain;
  row.payload_name = r.payload_name;
  row.origin = r.origin;
  row.warnings = static_cast<std::uint32_t>(
      std::clamp<std::int64_t>(r.warning_count, 0, std::numeric_limits<std::uint32_t>::max()));
  row.imported_at = r.imported_at;
  return row;
}

}  // namespace dmarcwatch::store
