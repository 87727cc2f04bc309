#pragma once
// Pure helpers of the IMAP client: what goes on the wire (quoted strings,
// folder names, SASL initial responses) and what is read from parsed
// responses (capabilities, SELECT data). No I/O; unit-tested directly.

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "dmarcwatch/model/status.h"
#include "imap_parser.h"

namespace dmarcwatch::ingest::imap {

// A quoted string (RFC 9051 §4.3): '"' and '\' escaped. CR, LF and NUL
// cannot be sent in one: kInvalidInput.
Result<std::string> Quote(std::string_view s);

// Modified UTF-7 for mailbox names (RFC 3501 §5.1.3): printable ASCII as
// itself ('&' as "&-"), everything else as '&' + modified base64 of
// UTF-16BE + '-'. kInvalidInput for invalid UTF-8 or a control character.
Result<std::string> EncodeMailboxName(std::string_view utf8);

// A configured folder ("Archive/DMARC", '/' between levels) as the server
// names it: levels encoded and joined with `delimiter`. "INBOX" in any case
// is INBOX (RFC 9051 §5.1). kInvalidInput for an empty level or a level
// holding the delimiter; kFailedPrecondition for several levels on a
// server without hierarchy (delimiter '\0').
Result<std::string> TranslateFolderName(std::string_view configured, char delimiter);

// base64 (RFC 4648 §4), no line breaks.
std::string Base64Encode(std::string_view bytes);
// Nothing for input that is not base64.
std::optional<std::string> Base64Decode(std::string_view text);

// AUTHENTICATE PLAIN's message (RFC 4616 §2): "" NUL user NUL password, in
// base64.
std::string SaslPlainResponse(std::string_view username, std::string_view password);
// XOAUTH2's initial client response: "user=" U ^A "auth=Bearer " T ^A ^A, in
// base64 (the same layout as RFC 7628 §3.1 OAUTHBEARER's kvpairs).
std::string Xoauth2Response(std::string_view username, std::string_view token);
// The server's error challenge after a refused XOAUTH2 token, decoded and
// made printable: Dovecot, Gmail and Microsoft 365 send base64 JSON such as
// {"status":"401","schemes":"bearer","scope":"mail"} (RFC 7628 §3.2.2).
std::string DescribeXoauth2Challenge(std::string_view base64);

// Capability names from "IMAP4rev1 AUTH=PLAIN ..." (a CAPABILITY response
// code or the values of an untagged CAPABILITY), upper-cased.
std::set<std::string> ParseCapabilities(std::string_view text);
std::set<std::string> CapabilitiesFromValues(const std::vector<Value>& values);

// The first word of a response code ("UIDVALIDITY 3857" -> "UIDVALIDITY")
// and what follows it.
std::string CodeName(std::string_view code);
std::string_view CodeArgument(std::string_view code);

// A number that fits a uint32 (UIDs, UIDVALIDITY, counts: RFC 9051 §9
// nz-number, number).
std::optional<std::uint32_t> ToUint32(std::string_view digits);

// Finds an item of a FETCH response's list ("UID", "RFC822.SIZE",
// "BODY[]"); null when absent.
const Value* FetchItem(const Response& fetch, std::string_view name);

}  // namespace dmarcwatch::ingest::imap
