// Parse: DMARC aggregate report XML -> model::Report (see parse.h).
//
// The document goes through four steps, each lenient only where no data is
// lost and each leaving a warning when it repairs something:
//   1. prolog: strip a UTF-8 BOM and whitespace before "<?xml"; refuse any
//      <!DOCTYPE or <!ENTITY (no entity is ever expanded);
//   2. encoding: windows-1252 / latin-1 (declared, or invalid UTF-8 bytes in a
//      document that says UTF-8) is re-encoded to UTF-8;
//   3. pugixml parses it. A document that xml_scan.h can outline is parsed
//      in pieces: <feedback>'s start tag, each header element and each batch
//      of records on its own (SplitDocument), re-encoded piece by piece.
//      Any other document is parsed whole (WholeDocument); when that fails,
//      or the root is not <feedback>, the <feedback>...</feedback> slice is
//      parsed alone (wrappers left unclosed, junk after the document);
//   4. the known paths of RFC 7489 appendix C / RFC 9990 are walked
//      iteratively, without recursion; unknown elements are skipped.
// Both ways of step 3 feed the same walk, which hands the report to a
// ReportSink as it goes. A split document must give what the whole one
// would: when pugixml refuses a piece the outline accepted, or a piece is
// refused after the walk rejected the report, the document is parsed whole
// after all, so that its XML error (and position) is the one reported.
// Limits (ParseLimits) and strictness rules raise a ParseError inside this
// file only; ParseAggregateReport turns it into a Status.

#include "dmarcwatch/ingest/parse.h"

#include <charconv>
#include <cstring>
#include <limits>
#include <map>
#include <optional>
#include <pugixml.hpp>
#include <string>
#include <utility>
#include <vector>

#include "dmarcwatch/ingest/digest.h"
#include "dmarcwatch/model/text.h"
#include "parse_internal.h"
#include "xml_scan.h"

namespace dmarcwatch::ingest {
namespace {

using model::Printable;
using model::TrimAscii;

// Thrown inside this file only, caught in ParseAggregateReport.
struct ParseError {
  Status status;
};

[[noreturn]] void Reject(std::string reason, std::string message) {
  throw ParseError{Status::InvalidInput(std::move(reason), std::move(message))};
}

[[noreturn]] void RejectLimit(std::string reason, std::string message) {
  throw ParseError{Status::LimitExceeded(std::move(reason), std::move(message))};
}

// Thrown when the sink refuses something; carries its Status out unchanged.
struct SinkFailure {
  Status status;
};

// Thrown when pugixml refuses a piece of a split document: the document is
// then parsed whole.
struct SplitFailed {};

// Collects warnings, one entry per code with the first detail and a count,
// so a report with 10,000 upper-case "Pass" words carries one warning.
class Warnings {
 public:
  void Add(const std::string& code, std::string_view detail) {
    auto [it, inserted] = index_.try_emplace(code, list_.size());
    if (inserted) {
      list_.push_back({code, Printable(detail, 120)});
      counts_.push_back(1);
    } else {
      ++counts_[it->second];
    }
  }
  std::vector<model::ParseWarning> Take() {
    for (std::size_t i = 0; i < list_.size(); ++i) {
      if (counts_[i] > 1) list_[i].detail += " (x" + std::to_string(counts_[i]) + ")";
    }
    return std::move(list_);
  }

 private:
  std::map<std::string, std::size_t> index_;
  std::vector<model::ParseWarning> list_;
  std::vector<std::uint64_t> counts_;
};

// ---- Step 1 and 2: prolog and encoding -------------------------------------

bool StartsWithIgnoreCase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && model::EqualsIgnoreCase(s.substr(0, prefix.size()), prefix);
}

// The markup declaration the document holds, if any: "<!DOCTYPE" or
// "<!ENTITY", any case. One pass that stops only at '!', which is rare in a
// report, where '<' is every few bytes.
std::optional<std::string_view> FindMarkupDeclaration(std::string_view doc) {
  static constexpr std::string_view kDeclarations[] = {"<!DOCTYPE", "<!ENTITY"};
  for (std::size_t at = doc.find('!', 1); at != std::string_view::npos;
       at = doc.find('!', at + 1)) {
    if (doc[at - 1] != '<') continue;
    for (std::string_view declaration : kDeclarations) {
      if (StartsWithIgnoreCase(doc.substr(at - 1), declaration)) return declaration;
    }
  }
  return std::nullopt;
}

// The value of encoding="..." in an XML declaration at the start, lower-cased.
std::string DeclaredEncoding(std::string_view doc) {
  if (!doc.starts_with("<?xml")) return {};
  const std::size_t end = doc.find("?>");
  if (end == std::string_view::npos || end > 512) return {};
  std::string_view decl = doc.substr(0, end);
  const std::size_t at = decl.find("encoding");
  if (at == std::string_view::npos) return {};
  std::size_t i = at + 8;
  while (i < decl.size() && (decl[i] == ' ' || decl[i] == '=' || decl[i] == '\t')) ++i;
  if (i >= decl.size() || (decl[i] != '"' && decl[i] != '\'')) return {};
  const char quote = decl[i++];
  const std::size_t close = decl.find(quote, i);
  if (close == std::string_view::npos) return {};
  return model::AsciiLower(decl.substr(i, close - i));
}

bool IsLatinFamily(const std::string& enc) {
  return enc == "windows-1252" || enc == "cp1252" || enc == "iso-8859-1" || enc == "iso8859-1" ||
         enc == "latin1" || enc == "latin-1" || enc == "iso-8859-15" || enc == "l1";
}

// windows-1252 to UTF-8. Bytes 0x80-0x9F take their windows-1252 meaning
// (as browsers do for documents labelled latin-1); the five undefined ones
// become U+FFFD.
std::string Cp1252ToUtf8(std::string_view in) {
  static constexpr char16_t kHigh[32] = {
      0x20AC, 0xFFFD, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
      0x2039, 0x0152, 0xFFFD, 0x017D, 0xFFFD, 0xFFFD, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
      0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0xFFFD, 0x017E, 0x0178};
  std::string out;
  out.reserve(in.size() + in.size() / 8);
  for (const char byte : in) {
    const auto c = static_cast<unsigned char>(byte);
    char32_t cp = c;
    if (c >= 0x80 && c < 0xA0) cp = kHigh[c - 0x80];
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }
  return out;
}

bool IsAscii(std::string_view s) {
  for (const char c : s) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

// The document after steps 1 and 2: `text` from its first '<', in UTF-8, or
// in windows-1252 when `cp1252` is set (then each piece handed to pugixml is
// re-encoded on the way; the markup is ASCII in both).
struct Prepared {
  std::string_view text;
  bool cp1252 = false;
};

std::string Utf8Of(const Prepared& doc, std::string_view piece) {
  return doc.cp1252 ? Cp1252ToUtf8(piece) : std::string(piece);
}

// Steps 1 and 2. `text` points into `xml`: nothing is copied.
Prepared PrepareDocument(std::string_view xml, Warnings& warnings) {
  if (xml.starts_with("\xEF\xBB\xBF")) xml.remove_prefix(3);
  const std::string_view trimmed = TrimAscii(xml);
  if (trimmed.empty()) Reject("empty_document", "the document is empty");
  if (trimmed.data() != xml.data()) {
    warnings.Add("leading_whitespace", "whitespace before the XML declaration was dropped");
  }
  xml = xml.substr(static_cast<std::size_t>(trimmed.data() - xml.data()));
  if (xml.front() != '<') {
    Reject("not_xml", "the document does not start with '<': \"" + Printable(xml.substr(0, 24)) +
                          "\"");
  }
  // RFC 7489 reports have no DTD. Refusing any declaration is simpler and
  // safer than trusting a parser to leave entities alone.
  if (const std::optional<std::string_view> found = FindMarkupDeclaration(xml)) {
    Reject("doctype_forbidden", *found == "<!DOCTYPE"
                                    ? "the document has a <!DOCTYPE declaration"
                                    : "the document declares an <!ENTITY");
  }

  const std::string declared = DeclaredEncoding(xml);
  if (IsLatinFamily(declared)) {
    if (!IsAscii(xml)) warnings.Add("transcoded", "re-encoded from declared " + declared);
    return {xml, true};
  }
  if (model::IsValidUtf8(xml)) {
    if (!declared.empty() && declared != "utf-8" && declared != "utf8" &&
        declared != "us-ascii" && declared != "ascii") {
      warnings.Add("encoding_declaration_ignored",
                   "declared " + declared + " but the bytes are valid UTF-8");
    }
    return {xml, false};
  }
  if (!declared.empty() && declared != "utf-8" && declared != "utf8" && declared != "us-ascii") {
    Reject("unsupported_encoding", "the document is in " + Printable(declared, 40) +
                                       ", which is not supported");
  }
  warnings.Add("invalid_utf8_as_latin1",
               "bytes that are not UTF-8 were read as windows-1252 / latin-1");
  return {xml, true};
}

// ---- Step 3: pugixml, with a second try on the <feedback> slice -------------

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.';
}

// Finds "<feedback" or "<prefix:feedback" as a start tag. Returns the offset
// of '<' and sets `qname` to the tag's full name.
std::size_t FindFeedbackStart(std::string_view doc, std::string& qname) {
  for (std::size_t at = doc.find("feedback"); at != std::string_view::npos;
       at = doc.find("feedback", at + 1)) {
    const std::size_t after = at + 8;
    if (after < doc.size() && IsNameChar(doc[after])) continue;
    if (after < doc.size() && doc[after] != '>' && doc[after] != '/' && doc[after] != ' ' &&
        doc[after] != '\t' && doc[after] != '\r' && doc[after] != '\n') {
      continue;
    }
    if (at == 0) continue;
    if (doc[at - 1] == '<') {
      qname = "feedback";
      return at - 1;
    }
    if (doc[at - 1] != ':') continue;
    std::size_t b = at - 1;
    while (b > 0 && IsNameChar(doc[b - 1])) --b;
    if (b > 0 && doc[b - 1] == '<' && b < at - 1) {
      qname = std::string(doc.substr(b, at - b)) + "feedback";
      return b - 1;
    }
  }
  return std::string_view::npos;
}

// Line and column (1-based) of a byte offset, for error messages.
std::string Position(std::string_view doc, std::ptrdiff_t offset) {
  if (offset < 0) offset = 0;
  const auto end = std::min(static_cast<std::size_t>(offset), doc.size());
  std::size_t line = 1, col = 1;
  for (std::size_t i = 0; i < end; ++i) {
    if (doc[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(col) + " (byte " +
         std::to_string(end) + ")";
}

std::string_view LocalName(std::string_view n) {
  const std::size_t colon = n.find(':');
  return colon == std::string_view::npos ? n : n.substr(colon + 1);
}

std::string_view Prefix(std::string_view n) {
  const std::size_t colon = n.find(':');
  return colon == std::string_view::npos ? std::string_view() : n.substr(0, colon);
}

pugi::xml_node FindFeedbackElement(const pugi::xml_document& doc) {
  for (pugi::xml_node n = doc.first_child(); n; n = n.next_sibling()) {
    if (n.type() == pugi::node_element && LocalName(n.name()) == "feedback") return n;
  }
  return {};
}

constexpr unsigned kParseOptions = pugi::parse_default | pugi::parse_embed_pcdata;

// Parses `buffer`, a copy of `original`, in place and returns <feedback>,
// or rejects. `original` stays untouched for a retry and for positions.
pugi::xml_node LoadFeedback(pugi::xml_document& doc, std::string& buffer,
                            std::string_view original, Warnings& warnings) {
  pugi::xml_parse_result result =
      doc.load_buffer_inplace(buffer.data(), buffer.size(), kParseOptions, pugi::encoding_utf8);
  pugi::xml_node root;
  if (result) {
    root = FindFeedbackElement(doc);
    if (root) return root;
    // A wrapper element that was closed properly: look one level down.
    if (pugi::xml_node top = doc.document_element()) {
      for (pugi::xml_node n = top.first_child(); n; n = n.next_sibling()) {
        if (n.type() == pugi::node_element && LocalName(n.name()) == "feedback") {
          warnings.Add("wrapper_dropped",
                       std::string("<feedback> was inside <") + top.name() + ">");
          return n;
        }
      }
    }
  }

  std::string qname;
  const std::size_t start = FindFeedbackStart(original, qname);
  if (start != std::string::npos) {
    const std::string close = "</" + qname + ">";
    const std::size_t end = original.rfind(close);
    if (end != std::string::npos && end > start) {
      buffer.assign(original.substr(start, end + close.size() - start));
      pugi::xml_parse_result retry = doc.load_buffer_inplace(buffer.data(), buffer.size(),
                                                             kParseOptions, pugi::encoding_utf8);
      if (retry) {
        root = FindFeedbackElement(doc);
        if (root) {
          warnings.Add("junk_around_feedback",
                       "kept only <feedback>...</feedback>; dropped what was around it");
          return root;
        }
      }
    }
  }

  if (!result) {
    Reject("xml_malformed", std::string("XML parse error: ") + result.description() + " at " +
                                Position(original, result.offset));
  }
  pugi::xml_node top = doc.document_element();
  Reject("not_aggregate_report",
         "root element is <" + Printable(top ? top.name() : "", 60) + "> not <feedback>");
}

// ---- Content digest -------------------------------------------------------

// Appends fields with a length prefix, so no two different field lists
// serialise the same way.
class Canon {
 public:
  void AddStr(std::string_view s) {
    AddDecimal(s.size());
    out_ += ':';
    out_ += s;
  }
  void AddOpt(const std::optional<std::string>& s) {
    if (s) {
      out_ += '+';
      AddStr(*s);
    } else {
      out_ += '-';
    }
  }
  // The text of v with its length, as AddStr(std::to_string(v)) would
  // write it.
  void AddInt(std::int64_t v) {
    char digits[24];
    const auto end = std::to_chars(digits, digits + sizeof(digits), v).ptr;
    AddStr(std::string_view(digits, static_cast<std::size_t>(end - digits)));
  }
  void Flush(Sha256& sha) {
    sha.Update(out_);
    out_.clear();
  }
  std::size_t size() const { return out_.size(); }

 private:
  void AddDecimal(std::size_t v) {
    char digits[24];
    const char* end = std::to_chars(digits, digits + sizeof(digits), v).ptr;
    out_.append(digits, static_cast<std::size_t>(end - digits));
  }

  std::string out_;
};

// ContentDigest of a report fed piece by piece: the header (metadata and
// policy), then each record in order.
class ContentDigester {
 public:
  void AddHeader(const model::Report& r) {
    const auto& m = r.report_metadata;
    c_.AddStr(m.org_name);
    c_.AddStr(m.email);
    c_.AddOpt(m.extra_contact_info);
    c_.AddStr(m.report_id);
    c_.AddInt(m.date_range.begin);
    c_.AddInt(m.date_range.end);
    c_.AddInt(static_cast<std::int64_t>(m.errors.size()));
    for (const auto& e : m.errors) c_.AddStr(e);
    c_.AddOpt(m.generator);
    const auto& p = r.policy_published;
    auto opt_enum = [&](auto v) {
      c_.AddOpt(v ? std::optional<std::string>(model::ToString(*v)) : std::nullopt);
    };
    c_.AddStr(p.domain);
    opt_enum(p.adkim);
    opt_enum(p.aspf);
    c_.AddStr(model::ToString(p.p));
    opt_enum(p.sp);
    opt_enum(p.np);
    c_.AddOpt(p.pct ? std::optional<std::string>(std::to_string(*p.pct)) : std::nullopt);
    c_.AddOpt(p.fo);
    opt_enum(p.testing);
    opt_enum(p.discovery_method);
  }

  void AddRecord(const model::Record& rec) {
    c_.AddStr(rec.source_ip.ToString());
    c_.AddInt(static_cast<std::int64_t>(rec.count));
    const auto& pe = rec.policy_evaluated;
    c_.AddStr(model::ToString(pe.disposition));
    c_.AddStr(model::ToString(pe.dkim));
    c_.AddStr(model::ToString(pe.spf));
    c_.AddInt(static_cast<std::int64_t>(pe.reasons.size()));
    for (const auto& reason : pe.reasons) {
      c_.AddStr(model::ToString(reason.type));
      c_.AddOpt(reason.comment);
    }
    c_.AddStr(rec.identifiers.header_from);
    c_.AddOpt(rec.identifiers.envelope_from);
    c_.AddOpt(rec.identifiers.envelope_to);
    c_.AddInt(static_cast<std::int64_t>(rec.auth_results.dkim.size()));
    for (const auto& d : rec.auth_results.dkim) {
      c_.AddStr(d.domain);
      c_.AddOpt(d.selector);
      c_.AddStr(model::ToString(d.result));
      c_.AddOpt(d.human_result);
    }
    c_.AddInt(static_cast<std::int64_t>(rec.auth_results.spf.size()));
    for (const auto& sp : rec.auth_results.spf) {
      c_.AddStr(sp.domain);
      c_.AddStr(model::ToString(sp.scope));
      c_.AddStr(model::ToString(sp.result));
      c_.AddOpt(sp.human_result);
    }
    if (c_.size() > 64 * 1024) c_.Flush(engine_);
  }

  std::string Finish() {
    c_.Flush(engine_);
    return engine_.HexDigest();
  }

 private:
  Sha256 engine_;
  Canon c_;
};

// Hands the walk's output to the sink in batches, and keeps what the
// summary needs: the count, the message total, the digest.
class Emitter {
 public:
  // Records per OnRecords call.
  static constexpr std::size_t kBatch = 1000;

  explicit Emitter(ReportSink& sink) : sink_(sink) {}

  void Header(const model::Report& header) {
    digester_.AddHeader(header);
    Check(sink_.OnHeader(header));
  }
  // A new record for the walk to fill; REQUIRES: Added() before the next.
  model::Record& Next() { return batch_.emplace_back(); }
  void Added() {
    const model::Record& r = batch_.back();
    digester_.AddRecord(r);
    messages_ = model::SaturatingAdd(messages_, r.count);
    ++records_;
    if (batch_.size() >= kBatch) Flush();
  }
  ParseSummary Finish(Warnings& warnings) {
    Flush();
    ParseSummary out;
    out.warnings = warnings.Take();
    out.records = records_;
    out.messages = messages_;
    out.content_digest = digester_.Finish();
    return out;
  }

 private:
  static void Check(Status status) {
    if (!status.ok()) throw SinkFailure{std::move(status)};
  }
  void Flush() {
    if (batch_.empty()) return;
    Check(sink_.OnRecords(batch_));
    batch_.clear();
  }

  ReportSink& sink_;
  ContentDigester digester_;
  std::vector<model::Record> batch_;
  std::uint64_t records_ = 0;
  std::uint64_t messages_ = 0;
};

// ---- Step 4: the walk -------------------------------------------------------

class Walker {
 public:
  Walker(const ParseLimits& limits, Warnings& warnings, std::string_view prefix)
      : limits_(limits), warnings_(warnings), prefix_(prefix) {}

  // Step 4 from <feedback> down: the report goes to `emit`. `feedback_qname`
  // is <feedback>'s name as written, `xml_namespace` the value of its xmlns
  // attribute for the prefix, `children` its element children, read whole
  // (DomChildren) or in pieces (SplitDocument): size(), QName(k), Node(k)
  // (valid until the next call) and Visit(want, f), which calls f(node) for
  // each child k with want(k), in order.
  template <typename Children>
  void Walk(std::string_view feedback_qname, std::optional<std::string> xml_namespace,
            Children& children, Emitter& emit);

 private:
  // True for an element named `local` in the report's namespace: no prefix,
  // or the same prefix as <feedback>. Vendor elements (<vendor:count>) are
  // never mistaken for report fields.
  bool IsName(std::string_view qname, std::string_view local) const {
    const std::string_view p = Prefix(qname);
    return LocalName(qname) == local && (p.empty() || p == prefix_);
  }
  bool Is(pugi::xml_node n, std::string_view local) const {
    return n.type() == pugi::node_element && IsName(n.name(), local);
  }
  pugi::xml_node Child(pugi::xml_node parent, std::string_view local) const {
    for (pugi::xml_node n = parent.first_child(); n; n = n.next_sibling()) {
      if (Is(n, local)) return n;
    }
    return {};
  }
  template <typename F>
  void ForEach(pugi::xml_node parent, std::string_view local, F&& f) const {
    for (pugi::xml_node n = parent.first_child(); n; n = n.next_sibling()) {
      if (Is(n, local)) f(n);
    }
  }
  void NoteUnknownChildren(pugi::xml_node parent, std::initializer_list<std::string_view> known);

  // The local name of a report element; "" for a foreign (vendor) one.
  std::string_view Key(pugi::xml_node n) const {
    // One pass over the name, which is short: up to a colon or its end.
    const char* name = n.name();
    const char* p = name;
    while (*p != '\0' && *p != ':') ++p;
    const std::string_view head(name, static_cast<std::size_t>(p - name));
    if (*p == '\0') return head;
    return head == prefix_ ? std::string_view(p + 1) : std::string_view();
  }

  // The trimmed text of an element, within max_text_bytes: a view into the
  // parsed document, valid while it lives.
  std::string_view View(pugi::xml_node n, std::string_view what);
  std::string Text(pugi::xml_node n, std::string_view what) { return std::string(View(n, what)); }
  // Absent or empty -> nullopt.
  std::optional<std::string> OptionalText(pugi::xml_node parent, std::string_view local) {
    return OptionalTextOf(Child(parent, local), local);
  }
  // The same for `n` itself (null when absent).
  std::optional<std::string> OptionalTextOf(pugi::xml_node n, std::string_view what);
  // The child holding an optional enumerated word; an empty one counts as
  // absent, with a warning.
  pugi::xml_node OptionalWord(pugi::xml_node parent, std::string_view local);
  std::string Domain(pugi::xml_node n, std::string_view what) {
    std::string d;
    Domain(n, what, d);
    return d;
  }
  // Lower-cased, trailing dot removed, within max_domain_bytes.
  void Domain(pugi::xml_node n, std::string_view what, std::string& out);
  std::uint64_t Number(pugi::xml_node n, std::string_view what, std::uint64_t max);

  void Metadata(pugi::xml_node n, model::ReportMetadata& out);
  void Policy(pugi::xml_node n, model::PolicyPublished& out);
  void ParseRecord(pugi::xml_node n, std::size_t index, model::Record& out);

  template <typename E>
  E Word(pugi::xml_node n, std::string_view what,
         std::initializer_list<std::pair<std::string_view, E>> table, E unknown);

  const ParseLimits& limits_;
  Warnings& warnings_;
  std::string prefix_;
};

std::string_view Walker::View(pugi::xml_node n, std::string_view what) {
  const char* raw = n.child_value();
  const std::size_t len = std::strlen(raw);
  if (len > limits_.max_text_bytes + 64) {
    RejectLimit("max_text_bytes", std::string(what) + " is " + std::to_string(len) +
                                      " bytes, over max_text_bytes (" +
                                      std::to_string(limits_.max_text_bytes) + ")");
  }
  const std::string_view value = TrimAscii(std::string_view(raw, len));
  if (value.size() > limits_.max_text_bytes) {
    RejectLimit("max_text_bytes", std::string(what) + " is " + std::to_string(value.size()) +
                                      " bytes, over max_text_bytes (" +
                                      std::to_string(limits_.max_text_bytes) + ")");
  }
  if (value.size() != len) {
    warnings_.Add("padded_value", std::string(what) + " had whitespace around its value");
  }
  return value;
}

std::optional<std::string> Walker::OptionalTextOf(pugi::xml_node n, std::string_view what) {
  if (!n) return std::nullopt;
  const std::string_view text = View(n, what);
  // <sp></sp>, <comment/>: an empty optional element says nothing.
  if (text.empty()) return std::nullopt;
  return std::string(text);
}

pugi::xml_node Walker::OptionalWord(pugi::xml_node parent, std::string_view local) {
  pugi::xml_node n = Child(parent, local);
  if (n && TrimAscii(n.child_value()).empty()) {
    warnings_.Add("empty_value", "<" + std::string(local) + "> is empty; read as absent");
    return {};
  }
  return n;
}

void Walker::Domain(pugi::xml_node n, std::string_view what, std::string& out) {
  std::string_view d = View(n, what);
  if (!d.empty() && d.back() == '.') d.remove_suffix(1);
  if (d.size() > limits_.max_domain_bytes) {
    RejectLimit("max_domain_bytes", std::string(what) + " is " + std::to_string(d.size()) +
                                        " bytes, over max_domain_bytes (" +
                                        std::to_string(limits_.max_domain_bytes) + ")");
  }
  out.assign(d);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
}

std::uint64_t Walker::Number(pugi::xml_node n, std::string_view what, std::uint64_t max) {
  const std::string_view text = View(n, what);
  std::uint64_t value = 0;
  const char* first = text.data();
  const char* last = text.data() + text.size();
  if (!text.empty() && text[0] == '+') ++first;
  auto [end, ec] = std::from_chars(first, last, value);
  if (text.empty() || ec == std::errc::invalid_argument || end != last) {
    Reject("not_a_number", std::string(what) + " is not a number: \"" + Printable(text, 40) + "\"");
  }
  if (ec == std::errc::result_out_of_range || value > max) {
    Reject("number_out_of_range", std::string(what) + " is out of range: " + Printable(text, 40));
  }
  return value;
}

template <typename E>
E Walker::Word(pugi::xml_node n, std::string_view what,
               std::initializer_list<std::pair<std::string_view, E>> table, E unknown) {
  const std::string_view text = View(n, what);
  for (const auto& [word, value] : table) {
    if (text == word) return value;
  }
  for (const auto& [word, value] : table) {
    if (model::EqualsIgnoreCase(text, word)) {
      warnings_.Add("word_case",
                    std::string(what) + " \"" + std::string(text) + "\" is not lower-case");
      return value;
    }
  }
  warnings_.Add("unknown_" + std::string(what), std::string(what) + " \"" + std::string(text) + "\"");
  return unknown;
}

void Walker::NoteUnknownChildren(pugi::xml_node parent,
                                 std::initializer_list<std::string_view> known) {
  for (pugi::xml_node n = parent.first_child(); n; n = n.next_sibling()) {
    if (n.type() != pugi::node_element) continue;
    bool is_known = false;
    for (std::string_view k : known) {
      if (Is(n, k)) {
        is_known = true;
        break;
      }
    }
    if (!is_known) {
      warnings_.Add("unknown_element",
                    std::string("<") + n.name() + "> in <" + parent.name() + "> was skipped");
    }
  }
}

void Walker::Metadata(pugi::xml_node n, model::ReportMetadata& out) {
  NoteUnknownChildren(n, {"org_name", "email", "extra_contact_info", "report_id", "date_range",
                          "error", "generator"});
  if (auto org = OptionalText(n, "org_name")) {
    out.org_name = std::move(*org);
  } else {
    warnings_.Add("missing_org_name", "report_metadata has no org_name");
  }
  if (auto email = OptionalText(n, "email")) {
    out.email = std::move(*email);
  } else {
    warnings_.Add("missing_email", "report_metadata has no email");
  }
  out.extra_contact_info = OptionalText(n, "extra_contact_info");
  out.generator = OptionalText(n, "generator");
  auto id = OptionalText(n, "report_id");
  if (!id || id->empty()) Reject("missing_report_id", "report_metadata has no report_id");
  out.report_id = std::move(*id);
  ForEach(n, "error", [&](pugi::xml_node e) { out.errors.push_back(Text(e, "error")); });

  pugi::xml_node range = Child(n, "date_range");
  if (!range) Reject("missing_date_range", "report_metadata has no date_range");
  pugi::xml_node begin = Child(range, "begin");
  pugi::xml_node end = Child(range, "end");
  if (!begin || !end) Reject("missing_date_range", "date_range lacks begin or end");
  // Up to year 9999; anything later is not a date a reporter means.
  constexpr std::uint64_t kMaxTime = 253402300799;
  out.date_range.begin = static_cast<model::UnixTime>(Number(begin, "begin", kMaxTime));
  out.date_range.end = static_cast<model::UnixTime>(Number(end, "end", kMaxTime));
  if (out.date_range.begin > out.date_range.end) {
    Reject("begin_after_end", "date_range begin " + std::to_string(out.date_range.begin) +
                                  " is after end " + std::to_string(out.date_range.end));
  }
}

void Walker::Policy(pugi::xml_node n, model::PolicyPublished& out) {
  using model::Alignment;
  using model::Disposition;
  NoteUnknownChildren(n, {"domain", "adkim", "aspf", "p", "sp", "np", "pct", "fo", "testing",
                          "discovery_method"});
  pugi::xml_node domain = Child(n, "domain");
  if (domain) out.domain = Domain(domain, "policy domain");
  if (out.domain.empty()) Reject("missing_policy_domain", "policy_published has no domain");

  auto alignment = [&](std::string_view tag) -> std::optional<Alignment> {
    pugi::xml_node a = OptionalWord(n, tag);
    if (!a) return std::nullopt;
    return Word<Alignment>(a, tag,
                           {{"r", Alignment::kRelaxed},
                            {"s", Alignment::kStrict},
                            {"relaxed", Alignment::kRelaxed},
                            {"strict", Alignment::kStrict}},
                           Alignment::kUnknown);
  };
  auto disposition = [&](std::string_view tag) -> std::optional<Disposition> {
    pugi::xml_node d = OptionalWord(n, tag);
    if (!d) return std::nullopt;
    return Word<Disposition>(d, tag,
                             {{"none", Disposition::kNone},
                              {"quarantine", Disposition::kQuarantine},
                              {"reject", Disposition::kReject}},
                             Disposition::kUnknown);
  };
  out.adkim = alignment("adkim");
  out.aspf = alignment("aspf");
  if (auto p = disposition("p")) {
    out.p = *p;
  } else {
    warnings_.Add("missing_p", "policy_published has no p");
  }
  out.sp = disposition("sp");
  out.np = disposition("np");
  if (pugi::xml_node pct = Child(n, "pct")) {
    const std::string text = Text(pct, "pct");
    unsigned value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec == std::errc() && end == text.data() + text.size() && value <= 100) {
      out.pct = value;
    } else {
      warnings_.Add("bad_pct", "pct \"" + text + "\" is not 0-100; ignored");
    }
  }
  out.fo = OptionalText(n, "fo");
  if (pugi::xml_node t = OptionalWord(n, "testing")) {
    out.testing = Word<model::Testing>(
        t, "testing", {{"n", model::Testing::kNo}, {"y", model::Testing::kYes}},
        model::Testing::kUnknown);
  }
  if (pugi::xml_node d = OptionalWord(n, "discovery_method")) {
    out.discovery_method = Word<model::DiscoveryMethod>(
        d, "discovery_method",
        {{"psl", model::DiscoveryMethod::kPsl}, {"treewalk", model::DiscoveryMethod::kTreewalk}},
        model::DiscoveryMethod::kUnknown);
  }
}

// The hot path: one pass over each element's children, text read as views
// into the parsed buffer, one allocation per stored string at most.
void Walker::ParseRecord(pugi::xml_node n, std::size_t index, model::Record& out) {
  using model::DkimResult;
  using model::DmarcResult;
  using model::SpfResult;
  auto where = [index] { return "record " + std::to_string(index + 1); };

  pugi::xml_node row, ids, auth;
  for (pugi::xml_node c = n.first_child(); c; c = c.next_sibling()) {
    if (c.type() != pugi::node_element) continue;
    const std::string_view k = Key(c);
    if (k == "row") {
      if (!row) row = c;
    } else if (k == "identifiers") {
      if (!ids) ids = c;
    } else if (k == "auth_results") {
      if (!auth) auth = c;
    } else {
      warnings_.Add("unknown_element",
                    std::string("<") + c.name() + "> in <" + n.name() + "> was skipped");
    }
  }

  if (!row) Reject("missing_row", where() + " has no row");
  pugi::xml_node ip, count, pe;
  for (pugi::xml_node c = row.first_child(); c; c = c.next_sibling()) {
    if (c.type() != pugi::node_element) continue;
    const std::string_view k = Key(c);
    if (k == "source_ip") {
      if (!ip) ip = c;
    } else if (k == "count") {
      if (!count) count = c;
    } else if (k == "policy_evaluated") {
      if (!pe) pe = c;
    }
  }
  if (!ip) Reject("missing_source_ip", where() + " has no source_ip");
  const std::string_view ip_text = View(ip, "source_ip");
  auto parsed_ip = model::IpAddress::Parse(ip_text);
  if (!parsed_ip) {
    Reject("bad_source_ip", where() + ": source_ip \"" + Printable(ip_text, 60) +
                                "\" is not an IP address");
  }
  out.source_ip = *parsed_ip;
  if (!count) Reject("missing_count", where() + " has no count");
  // Stored as a signed 64-bit integer; no reporter counts past that.
  out.count = Number(count, "count",
                     static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()));

  if (pe) {
    bool seen_disposition = false, seen_dkim = false, seen_spf = false;
    for (pugi::xml_node c = pe.first_child(); c; c = c.next_sibling()) {
      if (c.type() != pugi::node_element) continue;
      const std::string_view k = Key(c);
      if (k == "disposition" && !seen_disposition) {
        seen_disposition = true;
        out.policy_evaluated.disposition = Word<model::AppliedDisposition>(
            c, "disposition",
            {{"none", model::AppliedDisposition::kNone},
             {"pass", model::AppliedDisposition::kPass},
             {"quarantine", model::AppliedDisposition::kQuarantine},
             {"reject", model::AppliedDisposition::kReject}},
            model::AppliedDisposition::kUnknown);
      } else if ((k == "dkim" && !seen_dkim) || (k == "spf" && !seen_spf)) {
        (k == "dkim" ? seen_dkim : seen_spf) = true;
        (k == "dkim" ? out.policy_evaluated.dkim : out.policy_evaluated.spf) = Word<DmarcResult>(
            c, k, {{"pass", DmarcResult::kPass}, {"fail", DmarcResult::kFail}},
            DmarcResult::kUnknown);
      } else if (k == "reason") {
        model::PolicyOverrideReason reason;
        reason.comment = OptionalText(c, "comment");
        pugi::xml_node t = OptionalWord(c, "type");
        if (!t && !reason.comment) continue;  // <reason><type></type></reason> says nothing
        if (t) {
          reason.type = Word<model::PolicyOverride>(
              t, "reason_type",
              {{"forwarded", model::PolicyOverride::kForwarded},
               {"sampled_out", model::PolicyOverride::kSampledOut},
               {"trusted_forwarder", model::PolicyOverride::kTrustedForwarder},
               {"mailing_list", model::PolicyOverride::kMailingList},
               {"local_policy", model::PolicyOverride::kLocalPolicy},
               {"policy_test_mode", model::PolicyOverride::kPolicyTestMode},
               {"other", model::PolicyOverride::kOther}},
              model::PolicyOverride::kUnknown);
        }
        out.policy_evaluated.reasons.push_back(std::move(reason));
      }
    }
  } else {
    warnings_.Add("missing_policy_evaluated", where() + " has no policy_evaluated");
  }

  if (ids) {
    bool seen_hf = false, seen_ef = false, seen_et = false;
    for (pugi::xml_node c = ids.first_child(); c; c = c.next_sibling()) {
      if (c.type() != pugi::node_element) continue;
      const std::string_view k = Key(c);
      if (k == "header_from" && !seen_hf) {
        seen_hf = true;
        Domain(c, "header_from", out.identifiers.header_from);
      } else if (k == "envelope_from" && !seen_ef) {
        seen_ef = true;
        Domain(c, "envelope_from", out.identifiers.envelope_from.emplace());
      } else if (k == "envelope_to" && !seen_et) {
        seen_et = true;
        Domain(c, "envelope_to", out.identifiers.envelope_to.emplace());
      }
    }
  }
  if (out.identifiers.header_from.empty()) {
    warnings_.Add("missing_header_from", where() + " has no header_from");
  }

  if (!auth) {
    warnings_.Add("missing_auth_results", where() + " has no auth_results");
    return;
  }
  for (pugi::xml_node c = auth.first_child(); c; c = c.next_sibling()) {
    if (c.type() != pugi::node_element) continue;
    const std::string_view k = Key(c);
    if (k == "dkim") {
      model::DkimAuthResult& r = out.auth_results.dkim.emplace_back();
      pugi::xml_node dom, sel, res, human;
      for (pugi::xml_node f = c.first_child(); f; f = f.next_sibling()) {
        if (f.type() != pugi::node_element) continue;
        const std::string_view fk = Key(f);
        if (fk == "domain" && !dom) dom = f;
        if (fk == "selector" && !sel) sel = f;
        if (fk == "result" && !res) res = f;
        if (fk == "human_result" && !human) human = f;
      }
      if (dom) Domain(dom, "dkim domain", r.domain);
      if (r.domain.empty()) {
        warnings_.Add("empty_dkim_domain", where() + ": a dkim result has no domain");
      }
      r.selector = OptionalTextOf(sel, "selector");
      if (res) {
        r.result = Word<DkimResult>(res, "dkim_result",
                                    {{"none", DkimResult::kNone},
                                     {"pass", DkimResult::kPass},
                                     {"fail", DkimResult::kFail},
                                     {"policy", DkimResult::kPolicy},
                                     {"neutral", DkimResult::kNeutral},
                                     {"temperror", DkimResult::kTempError},
                                     {"permerror", DkimResult::kPermError}},
                                    DkimResult::kUnknown);
      }
      r.human_result = OptionalTextOf(human, "human_result");
    } else if (k == "spf") {
      model::SpfAuthResult& r = out.auth_results.spf.emplace_back();
      pugi::xml_node dom, scope, res, human;
      for (pugi::xml_node f = c.first_child(); f; f = f.next_sibling()) {
        if (f.type() != pugi::node_element) continue;
        const std::string_view fk = Key(f);
        if (fk == "domain" && !dom) dom = f;
        if (fk == "scope" && !scope) scope = f;
        if (fk == "result" && !res) res = f;
        if (fk == "human_result" && !human) human = f;
      }
      if (dom) Domain(dom, "spf domain", r.domain);
      if (scope) {
        r.scope = Word<model::SpfScope>(
            scope, "spf_scope",
            {{"mfrom", model::SpfScope::kMfrom}, {"helo", model::SpfScope::kHelo}},
            model::SpfScope::kUnknown);
      }
      if (res) {
        if (model::EqualsIgnoreCase(TrimAscii(res.child_value()), "hardfail")) {
          // RFC 7208 has no "hardfail"; reporters mean "fail".
          warnings_.Add("spf_result_alias", where() + ": spf result \"hardfail\" read as fail");
          r.result = SpfResult::kFail;
        } else {
          r.result = Word<SpfResult>(res, "spf_result",
                                     {{"none", SpfResult::kNone},
                                      {"neutral", SpfResult::kNeutral},
                                      {"pass", SpfResult::kPass},
                                      {"fail", SpfResult::kFail},
                                      {"softfail", SpfResult::kSoftFail},
                                      {"temperror", SpfResult::kTempError},
                                      {"permerror", SpfResult::kPermError}},
                                     SpfResult::kUnknown);
        }
      }
      r.human_result = OptionalTextOf(human, "human_result");
    }
  }
  if (out.auth_results.spf.empty()) {
    warnings_.Add("missing_spf_result", where() + " has no spf auth result");
  }
}

template <typename Children>
void Walker::Walk(std::string_view feedback_qname, std::optional<std::string> xml_namespace,
                  Children& children, Emitter& emit) {
  model::Report header;
  header.xml_namespace = std::move(xml_namespace);
  auto first = [&](std::string_view local) -> std::optional<std::size_t> {
    for (std::size_t k = 0; k < children.size(); ++k) {
      if (IsName(children.QName(k), local)) return k;
    }
    return std::nullopt;
  };
  // NoteUnknownChildren, over names rather than nodes.
  for (std::size_t k = 0; k < children.size(); ++k) {
    bool is_known = false;
    for (std::string_view known : {"version", "report_metadata", "policy_published", "record",
                                   "extension", "extensions"}) {
      if (IsName(children.QName(k), known)) {
        is_known = true;
        break;
      }
    }
    if (!is_known) {
      warnings_.Add("unknown_element", "<" + std::string(children.QName(k)) + "> in <" +
                                           std::string(feedback_qname) + "> was skipped");
    }
  }
  if (std::optional<std::size_t> k = first("version")) {
    header.version = OptionalTextOf(children.Node(*k), "version");
  }

  const std::optional<std::size_t> meta = first("report_metadata");
  if (!meta) Reject("missing_report_metadata", "the report has no report_metadata");
  Metadata(children.Node(*meta), header.report_metadata);

  const std::optional<std::size_t> policy = first("policy_published");
  if (!policy) Reject("missing_policy_published", "the report has no policy_published");
  Policy(children.Node(*policy), header.policy_published);

  auto is_record = [&](std::size_t k) { return IsName(children.QName(k), "record"); };
  std::size_t count = 0;
  for (std::size_t k = 0; k < children.size(); ++k) count += is_record(k) ? 1 : 0;
  if (count == 0) Reject("no_records", "the report has no record");
  if (count > limits_.max_records) {
    RejectLimit("max_records", "the report has " + std::to_string(count) +
                                   " records, over max_records (" +
                                   std::to_string(limits_.max_records) + ")");
  }
  emit.Header(header);
  std::size_t i = 0;
  children.Visit(is_record, [&](pugi::xml_node r) {
    ParseRecord(r, i, emit.Next());
    emit.Added();
    ++i;
  });
}

// <feedback>'s element children in a DOM of the whole document.
class DomChildren {
 public:
  explicit DomChildren(pugi::xml_node feedback) {
    for (pugi::xml_node n = feedback.first_child(); n; n = n.next_sibling()) {
      if (n.type() == pugi::node_element) nodes_.push_back(n);
    }
  }
  std::size_t size() const { return nodes_.size(); }
  std::string_view QName(std::size_t k) const { return nodes_[k].name(); }
  pugi::xml_node Node(std::size_t k) const { return nodes_[k]; }
  template <typename Want, typename F>
  void Visit(Want&& want, F&& f) const {
    for (std::size_t k = 0; k < nodes_.size(); ++k) {
      if (want(k)) f(nodes_[k]);
    }
  }

 private:
  std::vector<pugi::xml_node> nodes_;
};

// <feedback>'s element children read from the outline (xml_scan.h), each
// parsed when the walk asks for it; records a batch of about kBatchBytes at
// a time. Throws SplitFailed when pugixml refuses a piece.
class SplitDocument {
 public:
  static constexpr std::size_t kBatchBytes = 512 * 1024;

  SplitDocument(const Prepared& doc, const ScannedFeedback& scan)
      : doc_(doc), scan_(scan), parsed_(scan.children.size(), false) {}

  std::size_t size() const { return scan_.children.size(); }
  std::string_view QName(std::size_t k) const { return scan_.children[k].qname; }

  pugi::xml_node Node(std::size_t k) {
    Load(k, k);
    return FirstElement();
  }

  template <typename Want, typename F>
  void Visit(Want&& want, F&& f) {
    const std::vector<ScannedElement>& c = scan_.children;
    std::size_t k = 0;
    while (k < c.size()) {
      if (!want(k)) {
        ++k;
        continue;
      }
      // A batch from child k to the last wanted child within kBatchBytes;
      // children in between that are not wanted are parsed and skipped.
      std::size_t last = k;
      for (std::size_t j = k + 1; j < c.size() && c[j].end - c[k].begin <= kBatchBytes; ++j) {
        if (want(j)) last = j;
      }
      Load(k, last);
      std::size_t j = k;
      for (pugi::xml_node n = doc_dom_.first_child(); n; n = n.next_sibling()) {
        if (n.type() != pugi::node_element) continue;
        if (want(j)) f(n);
        ++j;
      }
      k = last + 1;
    }
  }

  // The value of <feedback>'s attribute `name`, if it has one.
  std::optional<std::string> Attribute(const std::string& name) {
    std::string tag = Utf8Of(
        doc_, doc_.text.substr(scan_.start_tag_begin, scan_.start_tag_end - scan_.start_tag_begin));
    // Closed on the spot, so that the start tag alone is a whole element.
    if (!scan_.empty_element) tag.insert(tag.size() - 1, "/");
    pugi::xml_document dom;
    if (!dom.load_buffer_inplace(tag.data(), tag.size(), kParseOptions | pugi::parse_fragment,
                                 pugi::encoding_utf8)) {
      throw SplitFailed{};
    }
    pugi::xml_attribute a = dom.first_child().attribute(name.c_str());
    if (!a) return std::nullopt;
    return std::string(a.value());
  }

  // True when pugixml accepts every child the walk did not ask for (after
  // a rejection, the children after the one that caused it).
  bool RestParses() {
    const std::vector<ScannedElement>& c = scan_.children;
    for (std::size_t k = 0; k < c.size(); ++k) {
      if (parsed_[k]) continue;
      std::size_t last = k;
      while (last + 1 < c.size() && !parsed_[last + 1] &&
             c[last + 1].end - c[k].begin <= kBatchBytes) {
        ++last;
      }
      try {
        Load(k, last);
      } catch (const SplitFailed&) {
        return false;
      }
      k = last;
    }
    return true;
  }

 private:
  // Parses children first..last (and what lies between them) as one
  // fragment into doc_dom_.
  void Load(std::size_t first, std::size_t last) {
    const std::vector<ScannedElement>& c = scan_.children;
    buffer_ = Utf8Of(doc_, doc_.text.substr(c[first].begin, c[last].end - c[first].begin));
    const pugi::xml_parse_result result =
        doc_dom_.load_buffer_inplace(buffer_.data(), buffer_.size(),
                                     kParseOptions | pugi::parse_fragment, pugi::encoding_utf8);
    if (!result) throw SplitFailed{};
    // The fragment must hold exactly the children the outline found there.
    std::size_t elements = 0;
    for (pugi::xml_node n = doc_dom_.first_child(); n; n = n.next_sibling()) {
      if (n.type() == pugi::node_element) ++elements;
    }
    if (elements != last - first + 1) throw SplitFailed{};
    for (std::size_t k = first; k <= last; ++k) parsed_[k] = true;
  }

  pugi::xml_node FirstElement() const {
    for (pugi::xml_node n = doc_dom_.first_child(); n; n = n.next_sibling()) {
      if (n.type() == pugi::node_element) return n;
    }
    return {};
  }

  const Prepared& doc_;
  const ScannedFeedback& scan_;
  std::vector<bool> parsed_;
  std::string buffer_;  // the piece doc_dom_ was parsed from, in place
  pugi::xml_document doc_dom_;
};

// Step 3 and 4 for the whole document (see the top of this file).
void WalkWholeDocument(const Prepared& prepared, const ParseLimits& limits, Warnings& warnings,
                       Emitter& emit) {
  std::string utf8;
  std::string_view original = prepared.text;
  if (prepared.cp1252) {
    utf8 = Cp1252ToUtf8(prepared.text);
    original = utf8;
  }
  std::string buffer(original);
  pugi::xml_document doc;
  pugi::xml_node feedback = LoadFeedback(doc, buffer, original, warnings);
  const std::string_view prefix = Prefix(feedback.name());
  Walker walker(limits, warnings, prefix);
  std::optional<std::string> xml_namespace;
  const std::string xmlns = prefix.empty() ? "xmlns" : "xmlns:" + std::string(prefix);
  if (auto ns = feedback.attribute(xmlns.c_str())) xml_namespace = ns.value();
  DomChildren children(feedback);
  walker.Walk(feedback.name(), std::move(xml_namespace), children, emit);
}

// Steps 3 and 4 for a document in pieces. Returns false, having handed
// nothing to `emit`, when the document cannot be split; throws SplitFailed
// when it turns out not to be splittable after all, and ParseError only
// when the whole document would have been parsed by pugixml.
bool WalkSplitDocument(const Prepared& prepared, const ParseLimits& limits, Warnings& warnings,
                       Emitter& emit) {
  Result<ScannedFeedback> scan = ScanFeedback(prepared.text);
  if (!scan.ok()) return false;
  SplitDocument children(prepared, *scan);
  const std::string_view prefix = Prefix(scan->qname);
  Walker walker(limits, warnings, prefix);
  try {
    std::optional<std::string> xml_namespace =
        children.Attribute(prefix.empty() ? "xmlns" : "xmlns:" + std::string(prefix));
    walker.Walk(scan->qname, std::move(xml_namespace), children, emit);
  } catch (const ParseError&) {
    // The whole document's XML error comes first, if it has one.
    if (!children.RestParses()) throw SplitFailed{};
    throw;
  }
  // Every child was parsed by pugixml, as the whole document would have been.
  if (!children.RestParses()) throw SplitFailed{};
  return true;
}

// Below this size a document is parsed whole: its DOM is a few megabytes,
// and outlining it first would only cost time (the outline is a pass over
// every byte of markup, a few percent of an import's CPU time).
constexpr std::size_t kSplitFromBytes = 1024 * 1024;

Result<ParseSummary> Parse(std::string_view xml, const ParseLimits& limits, ReportSink& sink,
                           ReadAs how) {
  Warnings warnings;
  try {
    const Prepared prepared = PrepareDocument(xml, warnings);
    if (how == ReadAs::kPiecesWhenPossible ||
        (how == ReadAs::kDefault && prepared.text.size() >= kSplitFromBytes)) {
      Warnings split_warnings = warnings;
      Emitter emit(sink);
      try {
        if (WalkSplitDocument(prepared, limits, split_warnings, emit)) {
          return emit.Finish(split_warnings);
        }
      } catch (const SplitFailed&) {
        // Read whole below, with the warnings of steps 1 and 2 only; the
        // sink starts over at OnHeader.
      }
    }
    Emitter emit(sink);
    WalkWholeDocument(prepared, limits, warnings, emit);
    return emit.Finish(warnings);
  } catch (const ParseError& e) {
    return e.status;
  } catch (const SinkFailure& e) {
    return e.status;
  } catch (const std::bad_alloc&) {
    return Status::LimitExceeded("out_of_memory", "not enough memory to parse the report");
  }
}

Result<model::Report> Collect(std::string_view xml, const ParseLimits& limits, ReadAs how) {
  ReportCollector sink;
  Result<ParseSummary> summary = Parse(xml, limits, sink, how);
  if (!summary.ok()) return std::move(summary).status();
  sink.report.warnings = std::move(summary->warnings);
  return std::move(sink.report);
}

}  // namespace

Status ReportCollector::OnHeader(const model::Report& header) {
  report = header;
  return Status::Ok();
}

Status ReportCollector::OnRecords(std::vector<model::Record>& records) {
  report.records.insert(report.records.end(), std::make_move_iterator(records.begin()),
                        std::make_move_iterator(records.end()));
  return Status::Ok();
}

Result<model::Report> ParseAggregateReport(std::string_view xml, const ParseLimits& limits) {
  return Collect(xml, limits, ReadAs::kDefault);
}

Result<ParseSummary> ParseAggregateReport(std::string_view xml, const ParseLimits& limits,
                                          ReportSink& sink) {
  return Parse(xml, limits, sink, ReadAs::kDefault);
}

Result<model::Report> ParseAggregateReportAs(std::string_view xml, const ParseLimits& limits,
                                             ReadAs how) {
  return Collect(xml, limits, how);
}

std::string ContentDigest(const model::Report& report) {
  ContentDigester digester;
  digester.AddHeader(report);
  for (const model::Record& record : report.records) digester.AddRecord(record);
  return digester.Finish();
}

}  // namespace dmarcwatch::ingest
