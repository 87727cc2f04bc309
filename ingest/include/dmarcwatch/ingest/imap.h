#pragma once
// ImapClient: a small IMAP client for reading report mailboxes (RFC 9051,
// and RFC 3501 which every server still speaks), on Poco::Net and NetSSL.
// docs/imap.md says why it is not a library and how polling uses it.
//
// What it does: connects with implicit TLS (port 993) or STARTTLS (RFC 9051
// §6.2.1), always verifying the server's certificate and host name;
// authenticates with AUTHENTICATE PLAIN (RFC 4616), LOGIN, or XOAUTH2
// (the SASL mechanism of Microsoft 365 and Gmail; RFC 7628 describes the
// same exchange for OAUTHBEARER) and asks for a fresh token once when the
// server refuses one; translates configured folder names ('/' between
// levels) to the server's hierarchy delimiter and modified UTF-7 (RFC 3501
// §5.1.3) and creates missing folders; selects a folder, lists its UIDs
// (UID SEARCH), reads sizes before bodies (UID FETCH RFC822.SIZE, then
// BODY.PEEK[] only when the size is within the limit), and moves messages
// with UID MOVE (RFC 6851) or, without it, UID COPY + UID STORE \Deleted +
// UID EXPUNGE (RFC 4315) or EXPUNGE.
//
// What it deliberately does not do: keep state between sessions (the
// poller does, in the store), pipeline commands, IDLE, or anything with
// message content beyond returning its bytes. It never logs a password, a
// token or a message; server text in logs and errors is sanitised
// (model::Printable).
//
// Limits and time: every server line is at most max_line_bytes and every
// literal is checked against max_message_bytes before it is read. Each
// read waits at most command_timeout for the server's next bytes, and the
// whole session ends at session_timeout after Connect() began (a server
// that trickles bytes is stopped by that deadline, Postfix smtp_stream).
//
// Errors: kUnavailable (cannot connect, connection closed, server BYE),
// kTimeout, kUnauthenticated (credentials refused), kPermissionDenied
// (certificate refused: reason "certificate_refused"), kLimitExceeded and
// kInvalidInput (the server broke a limit or the protocol; the connection
// is then unusable), kFailedPrecondition (the server lacks something
// needed), kNotFound (no such folder). After any error but kNotFound and
// a refused command (reason "command_refused"), the client is unusable.
//
// Threading: one thread at a time. Ownership: the client owns its socket;
// destroying it closes the connection without LOGOUT.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "dmarcwatch/ingest/limits.h"
#include "dmarcwatch/model/status.h"

namespace dmarcwatch::ingest {

enum class ImapTls : std::uint8_t {
  kImplicit,  // TLS from the first byte (port 993)
  kStartTls,  // plain connection upgraded with STARTTLS before anything else
  kNone,      // no TLS; the configuration allows it for loopback hosts only
};

struct ImapOptions {
  std::string host;
  int port = 993;
  ImapTls tls = ImapTls::kImplicit;
  // PEM file of the CAs to trust; empty: the system's default store. The
  // certificate chain and the host name (or IP address) are always checked.
  std::string ca_file;
  // TCP connect and TLS handshake.
  std::chrono::milliseconds connect_timeout{15000};
  // The longest wait for the server's next bytes while a command runs.
  std::chrono::milliseconds command_timeout{60000};
  // The whole session, from Connect() to Logout(): a total deadline.
  std::chrono::milliseconds session_timeout{600000};
  // Messages (RFC822.SIZE and the body literal) larger than this are not
  // fetched. Reason "max_message_bytes".
  std::uint64_t max_message_bytes = 64 * kMiB;
  // One line from the server, CRLF included. Reason "max_line_bytes".
  std::size_t max_line_bytes = 8 * 1024;
};

struct ImapCredentials {
  enum class Kind : std::uint8_t { kPassword, kXoauth2 };
  Kind kind = Kind::kPassword;
  std::string username;
  std::string password;  // kPassword
  // kXoauth2: returns a current access token. Called with fresh = false
  // first; with fresh = true once more when the server refused the token
  // (it expired), so that a cached token is replaced.
  std::function<Result<std::string>(bool fresh)> token;
};

struct SelectedFolder {
  std::uint32_t uidvalidity = 0;
  std::uint32_t exists = 0;   // messages in the folder
  std::uint32_t uidnext = 0;  // 0 when the server did not say
  bool read_only = false;
};

struct MessageSize {
  std::uint32_t uid = 0;
  std::uint64_t size = 0;  // RFC822.SIZE
};

class ImapClient {
 public:
  // Connects, reads the greeting, does STARTTLS when asked, and learns the
  // capabilities. kPermissionDenied "certificate_refused" when the
  // certificate is not trusted or not for `host`.
  static Result<std::unique_ptr<ImapClient>> Connect(const ImapOptions& options);
  ~ImapClient();
  ImapClient(const ImapClient&) = delete;
  ImapClient& operator=(const ImapClient&) = delete;

  // Logs in. Password: AUTHENTICATE PLAIN when offered, else LOGIN (unless
  // LOGINDISABLED). XOAUTH2: requires AUTH=XOAUTH2; a refused token is
  // replaced once through credentials.token(true).
  Status Authenticate(const ImapCredentials& credentials);

  // Upper-cased capability names ("IMAP4REV1", "MOVE", "AUTH=PLAIN").
  const std::set<std::string>& capabilities() const;
  bool HasCapability(std::string_view name) const;

  // The server's hierarchy delimiter (LIST "" "", RFC 9051 §6.3.9), asked
  // once; '\0' for a flat namespace.
  Result<char> HierarchyDelimiter();
  // A configured folder name ("Archive/DMARC") as the server names it
  // ("Archive.DMARC" on Dovecot's default), modified UTF-7 encoded.
  // kInvalidInput when a level holds the server's delimiter.
  Result<std::string> ServerFolderName(std::string_view configured);
  // Creates the folder unless LIST shows it. True when it was created.
  Result<bool> EnsureFolder(std::string_view configured);

  // SELECT (read-write). kNotFound when the folder does not exist.
  Result<SelectedFolder> Select(std::string_view configured);
  // UIDs of the selected folder's messages matching `criteria` (a search
  // key such as "UNDELETED"), ascending. Asked in windows of message
  // numbers so that no response line outgrows max_line_bytes.
  Result<std::vector<std::uint32_t>> SearchUids(std::string_view criteria);
  // RFC822.SIZE of each UID that still exists, in the order returned.
  Result<std::vector<MessageSize>> FetchSizes(const std::vector<std::uint32_t>& uids);
  // The whole message (BODY.PEEK[], so \Seen is not set). kNotFound when
  // it no longer exists; kLimitExceeded "max_message_bytes" when the
  // server sends more than the limit (the connection is then unusable).
  Result<std::string> FetchMessage(std::uint32_t uid);
  // Moves messages of the selected folder (RFC 6851 UID MOVE, else COPY +
  // STORE \Deleted + UID EXPUNGE with UIDPLUS, else EXPUNGE, which also
  // removes other messages flagged \Deleted, as every client's expunge
  // does). UIDs that no longer exist are ignored.
  Status Move(const std::vector<std::uint32_t>& uids, std::string_view configured_folder);
  // Adds \Seen (UID STORE +FLAGS.SILENT).
  Status MarkSeen(const std::vector<std::uint32_t>& uids);
  // LOGOUT and close. Errors are reported but the session's work is done.
  Status Logout();

  // For tests: which way Move() went last ("move", "copy+uid expunge",
  // "copy+expunge").
  const std::string& last_move_method() const;

 private:
  struct Impl;
  explicit ImapClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// "1:5,7,9:10": a UID set (RFC 9051 §9 sequence-set) for ascending or
// unordered UIDs. REQUIRES: uids not empty.
std::string FormatUidSet(std::vector<std::uint32_t> uids);

}  // namespace dmarcwatch::ingest
