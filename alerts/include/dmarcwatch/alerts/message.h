#pragma once
// Alert and digest emails: the subject, a plain-text part and an HTML part
// for each notification, and the MIME message (multipart/alternative)
// handed to the SMTP server.
//
// Every value that came from a report (domains, identifiers, reporter
// names, evidence) is attacker-controlled: it is HTML-escaped in the HTML
// part, and control bytes are masked everywhere (Printable), so neither
// part nor a header can be broken out of.
//
// Pure: no I/O, no clock.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dmarcwatch/alerts/incident.h"
#include "dmarcwatch/alerts/options.h"
#include "dmarcwatch/alerts/state_store.h"
#include "dmarcwatch/analysis/domain_report.h"

namespace dmarcwatch::alerts {

struct MessageContent {
  std::string subject;  // "[dmarcwatch] ..."; one line, printable
  std::string text;     // lines end in "\n"
  std::string html;
};

// & < > " ' as entities.
std::string HtmlEscape(std::string_view text);

// The dashboard's view of a path over a period:
//   BASE/#/path?domain=D&key=KEY&from=YYYY-MM-DD&to=YYYY-MM-DD
// and of a domain, when path_key is "":
//   BASE/#/overview?domain=D&from=YYYY-MM-DD&to=YYYY-MM-DD
// Values are percent-encoded; a trailing "/" of BASE is dropped. "" when
// BASE is "".
std::string DashboardLink(const std::string& base, const std::string& domain,
                          const std::string& path_key, std::int64_t from_day, std::int64_t to_day);

// The notification of one incident change (Decide()). REQUIRES:
// change.notice is set. The change's observation carries the numbers; a
// resolution, whose observation is a clear one or none, recalls what the
// incident was about. incident.id 0 (a dry run of a new incident) is shown
// as "new".
MessageContent RenderIncident(const Change& change, const AlertsOptions& options);

// The per-path table of each monitored domain over [from_day, to_day], and
// the incidents still open.
MessageContent RenderDigest(Digest digest, std::int64_t from_day, std::int64_t to_day,
                            const std::vector<analysis::DomainReport>& domains,
                            const std::vector<Incident>& open, const AlertsOptions& options);

// "<created.incident.notice.hash@domain>" for one recipient; the domain is
// that of `from` ("dmarcwatch.invalid" when it has none).
std::string MakeMessageId(const std::string& from, model::UnixTime created_at,
                          std::int64_t incident_id, std::string_view notice,
                          const std::string& recipient);

// The whole RFC 5322 message, CRLF line endings, ready for DATA (the SMTP
// layer adds dot-stuffing): From, To, Subject (RFC 2047 when not ASCII),
// Date (of created_at), Message-ID, References (the incident's thread),
// Auto-Submitted: auto-generated (RFC 3834), and a multipart/alternative
// body with text/plain and text/html parts, UTF-8, quoted-printable.
std::string BuildMime(const OutboxMessage& message, const std::string& from);

// Quoted-printable (RFC 2045 §6.7), CRLF line endings, lines of at most 76
// characters.
std::string QuotedPrintable(std::string_view text);
// A header value as RFC 2047 encoded words ("=?UTF-8?B?...?=") when it is
// not printable ASCII, else as it is; folded to lines of at most 78.
std::string EncodeHeader(std::string_view value);

}  // namespace dmarcwatch::alerts
