// Alert and digest emails (message.h): the text and HTML parts, and MIME.

#include "dmarcwatch/alerts/message.h"

#include <algorithm>
#include <sstream>

#include "dmarcwatch/model/text.h"
#include "dmarcwatch/model/time.h"
#include "format.h"

namespace dmarcwatch::alerts {
namespace {

using analysis::Finding;
using internal::DayText;
using internal::Grouped;
using internal::PercentText;
using internal::Rate;

constexpr const char* kPrefix = "[dmarcwatch] ";

// A value from a report, made safe to show: control bytes masked (line
// breaks kept when `lines`), capped.
std::string Clean(std::string_view s, std::size_t max = 2000, bool lines = false) {
  if (!lines) return model::Printable(s, max);
  std::string out;
  std::size_t at = 0;
  while (at <= s.size() && out.size() < max) {
    std::size_t nl = s.find('\n', at);
    if (nl == std::string_view::npos) nl = s.size();
    if (!out.empty()) out += '\n';
    out += model::Printable(s.substr(at, nl - at), max);
    at = nl + 1;
  }
  return out;
}

std::string Esc(std::string_view s, std::size_t max = 2000, bool lines = false) {
  return HtmlEscape(Clean(s, max, lines));
}

std::string ValueText(Rule rule, double value) {
  if (rule == Rule::kPassRate) return PercentText(value);
  return Grouped(value <= 0 ? 0 : static_cast<std::uint64_t>(value + 0.5));
}

// "#12", or "" for an incident a dry run has not stored.
std::string IdText(std::int64_t id) { return id == 0 ? "" : " #" + std::to_string(id); }

std::string Time(model::UnixTime t) { return model::FormatIso8601(t); }

std::string Subject(const Incident& inc, Notice notice) {
  std::string head = kPrefix;
  switch (notice) {
    case Notice::kOpened: break;
    case Notice::kWorsened: head += "worse: "; break;
    case Notice::kReminder: head += "still open: "; break;
    case Notice::kResolved: head += "resolved: "; break;
  }
  return head + Clean(inc.title, 400);
}

// The line that says why this mail comes now.
std::string Lead(const Change& c) {
  const Incident& inc = c.incident;
  const std::string id = IdText(inc.id);
  switch (*c.notice) {
    case Notice::kOpened:
      return "New incident" + id + " (" + analysis::ToString(inc.severity) + ").";
    case Notice::kWorsened:
      return "Incident" + id + " got worse: " + ValueText(inc.rule, c.previous_value) + " when " +
             (c.previously_notified_at ? "last notified on " + Time(*c.previously_notified_at)
                                       : std::string("last notified")) +
             ", now " + ValueText(inc.rule, inc.value) + " (" + analysis::ToString(inc.severity) +
             ").";
    case Notice::kReminder:
      return "Incident" + id + " is still open since " + Time(inc.opened_at) +
             ": a reminder (alerts.renotify).";
    case Notice::kResolved:
      return "Incident" + id + " is resolved: its condition has been clear since " +
             (inc.clear_since ? Time(*inc.clear_since) : std::string("now")) + ".";
  }
  return {};
}

std::string Footer(const Incident& inc) {
  std::string out = (inc.id == 0 ? "New incident" : "Incident" + IdText(inc.id)) + ", rule " +
                    ToString(inc.rule) + ", opened " +
                    Time(inc.opened_at) + ", first seen " + Time(inc.first_seen) + ".";
  return out;
}

struct Evidence {
  const char* label;
  const std::vector<std::string>* values;
};

std::vector<Evidence> EvidenceRows(const Finding& f) {
  return {{"IPs", &f.evidence.ips},
          {"Header From", &f.evidence.header_from},
          {"Envelope from", &f.evidence.envelope_domains},
          {"DKIM", &f.evidence.dkim},
          {"SPF", &f.evidence.spf},
          {"Notes", &f.evidence.notes}};
}

std::string Joined(const std::vector<std::string>& v, std::size_t each_max) {
  std::string out;
  for (const std::string& s : v) out += (out.empty() ? "" : ", ") + Clean(s, each_max);
  return out;
}

std::string FindingHead(const Finding& f) {
  std::string out = std::string("[") + analysis::ToString(f.severity) + "] " + Clean(f.title, 400);
  if (f.messages > 0) {
    out += " (" + internal::Plural(f.messages, "message", "messages");
    if (f.sources > 0) out += ", " + internal::Plural(f.sources, "source", "sources");
    out += ")";
  }
  return out;
}

bool SameEvidence(const Finding& a, const Finding& b) {
  const analysis::Evidence& x = a.evidence;
  const analysis::Evidence& y = b.evidence;
  return x.ips == y.ips && x.header_from == y.header_from &&
         x.envelope_domains == y.envelope_domains && x.dkim == y.dkim && x.spf == y.spf &&
         x.notes == y.notes;
}

void TextFindings(std::ostringstream& t, const std::vector<Finding>& findings, const char* title) {
  if (findings.empty()) return;
  t << '\n' << title << '\n';
  int n = 0;
  const Finding* previous = nullptr;
  for (const Finding& f : findings) {
    t << ++n << ". " << FindingHead(f) << '\n';
    if (!f.advice.empty()) {
      std::string indent = "   Fix: ";
      const std::string advice = Clean(f.advice, 4000, true);
      std::size_t at = 0;
      while (at <= advice.size()) {
        std::size_t nl = advice.find('\n', at);
        if (nl == std::string::npos) nl = advice.size();
        t << indent << advice.substr(at, nl - at) << '\n';
        indent = "        ";
        at = nl + 1;
      }
    }
    if (previous != nullptr && SameEvidence(*previous, f)) {
      t << "   (the same evidence as above)\n";
    } else {
      for (const Evidence& e : EvidenceRows(f)) {
        if (!e.values->empty()) t << "   " << e.label << ": " << Joined(*e.values, 200) << '\n';
      }
    }
    previous = &f;
  }
}

void HtmlFindings(std::ostringstream& h, const std::vector<Finding>& findings, const char* title) {
  if (findings.empty()) return;
  h << "<h3 style=\"font-size:15px;margin:18px 0 6px\">" << title << "</h3>\n<ol style=\"padding-left:20px\">\n";
  const Finding* previous = nullptr;
  for (const Finding& f : findings) {
    h << "<li style=\"margin-bottom:12px\"><div><b>" << Esc(analysis::ToString(f.severity))
      << "</b> " << Esc(f.title, 400);
    if (f.messages > 0) {
      h << " <span style=\"color:#666\">(" << Esc(internal::Plural(f.messages, "message", "messages"));
      if (f.sources > 0) h << ", " << Esc(internal::Plural(f.sources, "source", "sources"));
      h << ")</span>";
    }
    h << "</div>\n";
    if (!f.advice.empty()) {
      h << "<div style=\"margin:4px 0;white-space:pre-wrap;background:#f4f7f0;padding:6px\"><b>Fix:</b> "
        << Esc(f.advice, 4000, true) << "</div>\n";
    }
    const bool repeated = previous != nullptr && SameEvidence(*previous, f);
    previous = &f;
    if (repeated) {
      h << "<div style=\"color:#666;font-size:13px\">The same evidence as above.</div></li>\n";
      continue;
    }
    h << "<table style=\"border-collapse:collapse;font-size:13px\">\n";
    for (const Evidence& e : EvidenceRows(f)) {
      if (e.values->empty()) continue;
      h << "<tr><td style=\"color:#666;padding:1px 8px 1px 0;vertical-align:top\">" << e.label
        << "</td><td style=\"font-family:monospace\">";
      bool first = true;
      for (const std::string& v : *e.values) {
        h << (first ? "" : ", ") << Esc(v, 200);
        first = false;
      }
      h << "</td></tr>\n";
    }
    h << "</table></li>\n";
  }
  h << "</ol>\n";
}

void HtmlHead(std::ostringstream& h, const std::string& subject) {
  h << "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>" << HtmlEscape(subject)
    << "</title></head>\n<body style=\"font-family:Helvetica,Arial,sans-serif;font-size:14px;"
       "color:#222;max-width:760px\">\n";
}

const char* kTextSignature = "-- \ndmarcwatch: DMARC aggregate reports, per sending path.\n";

void HtmlTail(std::ostringstream& h) {
  h << "<p style=\"color:#888;font-size:12px;border-top:1px solid #ddd;padding-top:6px\">"
       "dmarcwatch: DMARC aggregate reports, per sending path.</p>\n</body></html>\n";
}

std::string PercentEncode(std::string_view s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::uint64_t Fnv1a(std::string_view s) {
  std::uint64_t h = 14695981039346656037ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

std::string Hex(std::uint64_t v, int digits) {
  static const char* kHex = "0123456789abcdef";
  std::string out(static_cast<std::size_t>(digits), '0');
  for (int i = digits - 1; i >= 0; --i) {
    out[static_cast<std::size_t>(i)] = kHex[v & 15];
    v >>= 4;
  }
  return out;
}

std::string DomainOf(const std::string& address) {
  const std::size_t at = address.rfind('@');
  std::string d = at == std::string::npos ? std::string() : address.substr(at + 1);
  std::string out;
  for (char c : d) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
        c == '-') {
      out += c;
    }
  }
  return out.empty() ? "dmarcwatch.invalid" : out;
}

// Header values never hold a line break: one would start a new header.
std::string HeaderSafe(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c == '\r' || c == '\n' || c == '\0') c = ' ';
  }
  return out;
}

std::string RfcDate(model::UnixTime t) {
  static const char* kDays[] = {"Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"};
  static const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const std::int64_t day = model::DayNumber(t);
  const std::string iso = model::FormatIso8601(t);  // YYYY-MM-DDTHH:MM:SSZ
  const int month = std::stoi(iso.substr(5, 2));
  const std::int64_t weekday = ((day % 7) + 7) % 7;
  return std::string(kDays[weekday]) + ", " + iso.substr(8, 2) + " " + kMonths[month - 1] + " " +
         iso.substr(0, 4) + " " + iso.substr(11, 8) + " +0000";
}

std::string Base64(std::string_view in) {
  static const char* kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(in[i]) << 16) |
                       (static_cast<unsigned char>(in[i + 1]) << 8) |
                       static_cast<unsigned char>(in[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (i < in.size()) {
    unsigned v = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) v |= static_cast<unsigned char>(in[i + 1]) << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < in.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

}  // namespace

std::string HtmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 16);
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string DashboardLink(const std::string& base, const std::string& domain,
                          const std::string& path_key, std::int64_t from_day, std::int64_t to_day) {
  if (base.empty()) return {};
  std::string b = base;
  while (!b.empty() && b.back() == '/') b.pop_back();
  // The dashboard's routes (docs/dashboard.md): a path's page, or the
  // domain's overview.
  std::string out = b + (path_key.empty() ? "/#/overview?" : "/#/path?");
  out += "domain=" + PercentEncode(domain);
  if (!path_key.empty()) out += "&key=" + PercentEncode(path_key);
  if (from_day != 0 || to_day != 0) {
    out += "&from=" + DayText(from_day) + "&to=" + DayText(to_day);
  }
  return out;
}

MessageContent RenderIncident(const Change& change, const AlertsOptions& options) {
  const Incident& inc = change.incident;
  const Notice notice = *change.notice;
  const Observation* obs = change.observation;
  MessageContent m;
  m.subject = Subject(inc, notice);

  // The details: this evaluation's when it fired; for a resolution the
  // clear observation's numbers, if any.
  const Details* d = obs != nullptr ? &obs->details : nullptr;
  const bool firing = obs != nullptr && obs->verdict == Verdict::kFiring;
  const std::string link =
      d != nullptr && !inc.domain.empty()
          ? DashboardLink(options.dashboard_url, inc.domain, d->path_key, d->from_day, d->to_day)
          : (!inc.domain.empty() ? DashboardLink(options.dashboard_url, inc.domain,
                                                 inc.rule == Rule::kReporterSilence ? "" : inc.subject,
                                                 0, 0)
                                 : std::string());

  std::ostringstream t;
  t << Lead(change) << "\n\n" << Clean(inc.title, 400) << "\n";
  if (d != nullptr && !d->summary.empty()) t << '\n' << Clean(d->summary, 4000) << '\n';
  if (notice == Notice::kResolved) {
    t << "\nIt was opened " << Time(inc.opened_at) << ", first seen " << Time(inc.first_seen)
      << ", last seen " << Time(inc.last_seen) << "; " << inc.notifications
      << (inc.notifications == 1 ? " notification" : " notifications") << " including this one.\n";
  }
  if (d != nullptr && !d->facts.empty()) {
    t << "\nNumbers";
    if (d->from_day != 0 || d->to_day != 0) {
      t << " (" << DayText(d->from_day)
        << (d->from_day == d->to_day ? "" : " to " + DayText(d->to_day)) << ")";
    }
    t << ":\n";
    std::size_t width = 0;
    for (const auto& [label, value] : d->facts) width = std::max(width, label.size());
    for (const auto& [label, value] : d->facts) {
      t << "  " << label << std::string(width + 2 - label.size(), ' ') << Clean(value, 400) << '\n';
    }
  }
  if (d != nullptr && !d->items.empty()) {
    t << '\n';
    for (const std::string& item : d->items) t << "  - " << Clean(item, 400) << '\n';
  }
  if (firing) TextFindings(t, d->findings, "What to fix:");
  if (!link.empty()) t << "\nDashboard: " << link << '\n';
  t << '\n' << Footer(inc) << '\n';
  if (notice != Notice::kResolved && inc.id != 0) {
    t << "Acknowledge it to stop reminders until it resolves: dmarcwatch alerts ack " << inc.id
      << '\n';
  }
  t << '\n' << kTextSignature;
  m.text = t.str();

  std::ostringstream h;
  HtmlHead(h, m.subject);
  h << "<p style=\"color:#555\">" << Esc(Lead(change)) << "</p>\n";
  const char* color = inc.severity == analysis::Severity::kCritical ? "#b00020"
                      : inc.severity == analysis::Severity::kWarning ? "#a05a00"
                                                                     : "#555";
  if (notice == Notice::kResolved) color = "#2e7d32";
  h << "<h2 style=\"font-size:18px;color:" << color << "\">" << Esc(inc.title, 400) << "</h2>\n";
  if (d != nullptr && !d->summary.empty()) h << "<p>" << Esc(d->summary, 4000) << "</p>\n";
  if (notice == Notice::kResolved) {
    h << "<p>It was opened " << Esc(Time(inc.opened_at)) << ", first seen "
      << Esc(Time(inc.first_seen)) << ", last seen " << Esc(Time(inc.last_seen)) << ".</p>\n";
  }
  if (d != nullptr && !d->facts.empty()) {
    h << "<table style=\"border-collapse:collapse;margin:8px 0\">\n";
    for (const auto& [label, value] : d->facts) {
      h << "<tr><td style=\"color:#666;padding:2px 12px 2px 0\">" << Esc(label)
        << "</td><td style=\"padding:2px 0\">" << Esc(value, 400) << "</td></tr>\n";
    }
    h << "</table>\n";
  }
  if (d != nullptr && !d->items.empty()) {
    h << "<ul>\n";
    for (const std::string& item : d->items) h << "<li>" << Esc(item, 400) << "</li>\n";
    h << "</ul>\n";
  }
  if (firing) HtmlFindings(h, d->findings, "What to fix");
  if (!link.empty()) {
    h << "<p><a href=\"" << HtmlEscape(link) << "\">Open this in the dashboard</a></p>\n";
  }
  h << "<p style=\"color:#666;font-size:12px\">" << Esc(Footer(inc));
  if (notice != Notice::kResolved && inc.id != 0) {
    h << "<br>Acknowledge it to stop reminders until it resolves: <code>dmarcwatch alerts ack "
      << inc.id << "</code>";
  }
  h << "</p>\n";
  HtmlTail(h);
  m.html = h.str();
  return m;
}

MessageContent RenderDigest(Digest digest, std::int64_t from_day, std::int64_t to_day,
                            const std::vector<analysis::DomainReport>& domains,
                            const std::vector<Incident>& open, const AlertsOptions& options) {
  MessageContent m;
  const std::string period =
      from_day == to_day ? DayText(from_day) : DayText(from_day) + " to " + DayText(to_day);
  m.subject = std::string(kPrefix) + ToString(digest) + " digest, " + period + ": ";
  if (domains.size() == 1) {
    const analysis::DomainReport& r = domains.front();
    m.subject += Clean(r.domain, 200) + " " + PercentText(Rate(r.totals.dmarc_pass, r.totals.messages)) +
                 " pass DMARC";
  } else {
    m.subject += std::to_string(domains.size()) + " domains";
  }
  m.subject += ", " + internal::Plural(open.size(), "open incident", "open incidents");

  std::ostringstream t;
  std::ostringstream h;
  HtmlHead(h, m.subject);
  t << "dmarcwatch " << ToString(digest) << " digest for " << period << ".\n";
  h << "<p>dmarcwatch " << ToString(digest) << " digest for " << Esc(period) << ".</p>\n";
  for (const analysis::DomainReport& r : domains) {
    std::string head = Clean(r.domain, 200) + ": " +
                       internal::Plural(r.totals.messages, "message", "messages") + ", " +
                       PercentText(Rate(r.totals.dmarc_pass, r.totals.messages)) + " pass DMARC";
    if (r.policy) head += ", p=" + std::string(model::ToString(r.policy->p));
    t << "\n== " << head << "\n\n";
    h << "<h3 style=\"font-size:15px\">" << HtmlEscape(head) << "</h3>\n"
      << "<table style=\"border-collapse:collapse;font-size:13px\">\n<tr>";
    const std::vector<std::string> headers = {"kind", "name",     "provider", "messages",
                                              "DMARC pass", "SPF aligned", "DKIM aligned",
                                              "top finding"};
    for (const std::string& col : headers) {
      h << "<th style=\"text-align:left;border-bottom:1px solid #ccc;padding:2px 8px\">" << col
        << "</th>";
    }
    h << "</tr>\n";
    std::vector<std::vector<std::string>> rows;
    for (const analysis::PathReport& p : r.paths) {
      const model::Counts& c = p.totals.counts;
      const analysis::Finding* top = p.top();
      rows.push_back({model::ToString(p.totals.path.kind),
                      p.totals.path.name.empty() ? "-" : Clean(p.totals.path.name, 80),
                      p.totals.path.provider.empty() ? "-" : Clean(p.totals.path.provider, 80),
                      Grouped(c.messages),
                      c.messages == 0 ? "-" : PercentText(Rate(c.dmarc_pass, c.messages)),
                      c.messages == 0 ? "-" : PercentText(Rate(c.spf_aligned, c.messages)),
                      c.messages == 0 ? "-" : PercentText(Rate(c.dkim_aligned, c.messages)),
                      top == nullptr ? ""
                                     : std::string(analysis::ToString(top->severity)) + ": " +
                                           Clean(top->title, 200)});
    }
    std::vector<std::size_t> widths(headers.size(), 0);
    for (std::size_t i = 0; i < headers.size(); ++i) widths[i] = headers[i].size();
    for (const auto& row : rows) {
      for (std::size_t i = 0; i + 1 < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
    }
    auto text_row = [&](const std::vector<std::string>& row) {
      std::string line;
      for (std::size_t i = 0; i < row.size(); ++i) {
        line += row[i];
        if (i + 1 < row.size()) line += std::string(widths[i] + 2 - row[i].size(), ' ');
      }
      t << line << '\n';
    };
    text_row(headers);
    for (const auto& row : rows) {
      text_row(row);
      h << "<tr>";
      for (const std::string& cell : row) {
        h << "<td style=\"padding:2px 8px;border-bottom:1px solid #eee\">" << HtmlEscape(cell)
          << "</td>";
      }
      h << "</tr>\n";
    }
    h << "</table>\n";
    const std::string link = DashboardLink(options.dashboard_url, r.domain, "", from_day, to_day);
    if (!link.empty()) {
      t << "\nDashboard: " << link << '\n';
      h << "<p><a href=\"" << HtmlEscape(link) << "\">Open " << Esc(r.domain, 200)
        << " in the dashboard</a></p>\n";
    }
  }
  t << "\nOpen incidents: " << (open.empty() ? "none" : std::to_string(open.size())) << '\n';
  h << "<h3 style=\"font-size:15px\">Open incidents: "
    << (open.empty() ? "none" : std::to_string(open.size())) << "</h3>\n";
  if (!open.empty()) h << "<ul>\n";
  for (const Incident& i : open) {
    const std::string line = "#" + std::to_string(i.id) + " [" + analysis::ToString(i.severity) + "] " +
                             Clean(i.title, 400) + " (opened " + Time(i.opened_at) +
                             (i.acknowledged ? ", acknowledged" : "") + ")";
    t << "  " << line << '\n';
    h << "<li>" << HtmlEscape(line) << "</li>\n";
  }
  if (!open.empty()) h << "</ul>\n";
  t << '\n' << kTextSignature;
  HtmlTail(h);
  m.text = t.str();
  m.html = h.str();
  return m;
}

std::string MakeMessageId(const std::string& from, model::UnixTime created_at,
                          std::int64_t incident_id, std::string_view notice,
                          const std::string& recipient) {
  return "<" + std::to_string(created_at) + "." + std::to_string(incident_id) + "." +
         std::string(notice) + "." + Hex(Fnv1a(recipient), 12) + "@" + DomainOf(from) + ">";
}

std::string QuotedPrintable(std::string_view text) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  std::size_t column = 0;
  auto emit = [&](std::string_view piece) {
    // A soft line break keeps lines at 76 characters, "=" included.
    if (column + piece.size() > 75) {
      out += "=\r\n";
      column = 0;
    }
    out += piece;
    column += piece.size();
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == '\n') {
      out += "\r\n";
      column = 0;
      continue;
    }
    if (c == '\r') continue;  // line ends are written as CRLF above
    const bool line_end = i + 1 == text.size() || text[i + 1] == '\n' || text[i + 1] == '\r';
    // Spaces and tabs before a line end are encoded (RFC 2045 §6.7 rule 3);
    // a "." first on a line too, so no line can end the SMTP data.
    const bool literal = (c >= 33 && c <= 126 && c != '=' && !(c == '.' && column == 0)) ||
                         ((c == ' ' || c == '\t') && !line_end);
    if (literal) {
      const char s[1] = {static_cast<char>(c)};
      emit(std::string_view(s, 1));
    } else {
      const char s[3] = {'=', kHex[c >> 4], kHex[c & 15]};
      emit(std::string_view(s, 3));
    }
  }
  return out;
}

std::string EncodeHeader(std::string_view raw) {
  const std::string value = HeaderSafe(raw);
  bool ascii = true;
  for (unsigned char c : value) {
    if (c < 32 || c > 126) ascii = false;
  }
  if (ascii && value.find("=?") == std::string::npos) {
    // Fold at spaces so that no line exceeds 78 characters.
    std::string out;
    std::size_t line = 9;  // "Subject: "
    std::size_t at = 0;
    while (at < value.size()) {
      std::size_t sp = value.find(' ', at + 1);
      if (sp == std::string::npos) sp = value.size();
      const std::string_view word = std::string_view(value).substr(at, sp - at);
      if (line + word.size() > 78 && !out.empty() && word.front() == ' ') {
        out += "\r\n";
        line = 0;
      }
      out += word;
      line += word.size();
      at = sp;
    }
    return out;
  }
  // Encoded words of at most 45 bytes of UTF-8 (60 of base64), cut on
  // character boundaries.
  std::string out;
  std::size_t at = 0;
  while (at < value.size()) {
    std::size_t end = std::min(value.size(), at + 45);
    while (end < value.size() && end > at &&
           (static_cast<unsigned char>(value[end]) & 0xC0) == 0x80) {
      --end;
    }
    if (end == at) end = std::min(value.size(), at + 45);
    if (!out.empty()) out += "\r\n ";
    out += "=?UTF-8?B?" + Base64(std::string_view(value).substr(at, end - at)) + "?=";
    at = end;
  }
  return out;
}

std::string BuildMime(const OutboxMessage& message, const std::string& from) {
  const std::string boundary = "=_dmarcwatch_" + Hex(Fnv1a(message.message_id), 16);
  std::string out;
  out += "From: " + HeaderSafe(from) + "\r\n";
  out += "To: " + HeaderSafe(message.recipient) + "\r\n";
  out += "Subject: " + EncodeHeader(message.subject) + "\r\n";
  out += "Date: " + RfcDate(message.created_at) + "\r\n";
  out += "Message-ID: " + HeaderSafe(message.message_id) + "\r\n";
  if (message.incident_id) {
    out += "References: <incident." + std::to_string(*message.incident_id) + "@" +
           DomainOf(from) + ">\r\n";
    out += "X-Dmarcwatch-Incident: " + std::to_string(*message.incident_id) + "\r\n";
  }
  out += "X-Dmarcwatch-Notice: " + HeaderSafe(message.notice) + "\r\n";
  out += "Auto-Submitted: auto-generated\r\n";
  out += "X-Auto-Response-Suppress: All\r\n";
  out += "MIME-Version: 1.0\r\n";
  out += "Content-Type: multipart/alternative; boundary=\"" + boundary + "\"\r\n";
  out += "\r\n";
  out += "This is a message in MIME format: a plain-text and an HTML version.\r\n";
  out += "\r\n--" + boundary + "\r\n";
  out += "Content-Type: text/plain; charset=utf-8\r\n";
  out += "Content-Transfer-Encoding: quoted-printable\r\n\r\n";
  out += QuotedPrintable(message.text);
  out += "\r\n--" + boundary + "\r\n";
  out += "Content-Type: text/html; charset=utf-8\r\n";
  out += "Content-Transfer-Encoding: quoted-printable\r\n\r\n";
  out += QuotedPrintable(message.html);
  out += "\r\n--" + boundary + "--\r\n";
  return out;
}

}  // namespace dmarcwatch::alerts
