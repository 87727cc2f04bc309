// ImapClient over Poco::Net (StreamSocket) and NetSSL (SecureStreamSocket).
// The wire format is in imap_parser.cpp and imap_protocol.cpp; this file is
// the session: connect, TLS, commands and their responses, and the single
// place where Poco exceptions become a Status (Protect()).

#include <Poco/Exception.h>
#include <Poco/Logger.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/NetSSL.h>
#include <Poco/Net/SSLException.h>
#include <Poco/Net/SecureStreamSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/Timespan.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <mutex>
#include <optional>
#include <utility>

#include "dmarcwatch/ingest/imap.h"
#include "dmarcwatch/model/text.h"
#include "imap_parser.h"
#include "imap_protocol.h"

namespace dmarcwatch::ingest {
namespace {

using Clock = std::chrono::steady_clock;
using imap::Response;
using imap::ResponseKind;
using imap::Value;

constexpr const char* kLoggerName = "dmarc.ingest.imap";
constexpr std::size_t kReadChunk = 64 * 1024;
constexpr std::size_t kMaxRead = 4 * 1024 * 1024;
// Messages per UID SEARCH: 500 UIDs of at most 10 digits and a space fit a
// line of 8 KiB with room to spare, whatever the UIDs are.
constexpr std::uint32_t kSearchWindow = 500;
// UIDs per FETCH, MOVE, COPY or STORE: keeps our command lines short.
constexpr std::size_t kUidBatch = 200;
// Untagged responses one command may bring (a FETCH of kUidBatch sizes
// brings kUidBatch); far more means a server flooding us.
constexpr std::size_t kMaxUntagged = 100000;

// A value from the server (or the configuration) made safe for one quoted
// log field or one line of an error message.
std::string Printable(std::string_view s, std::size_t max = 200) {
  std::string out = model::Printable(s, max);
  for (char& c : out) {
    if (c == '"') c = '\'';
  }
  return out;
}

std::string Seconds(std::chrono::milliseconds ms) {
  return std::to_string((ms.count() + 999) / 1000) + " s";
}

// The first words of a command, for logs: never its arguments, which may
// hold a password or a token.
std::string CommandName(std::string_view command) {
  std::string_view head = command.substr(0, command.find(' '));
  if (head == "UID") {
    const std::size_t second = command.find(' ', 4);
    head = command.substr(0, second);
  }
  return std::string(head);
}

Status Refused(std::string_view command, const Response& tagged) {
  return Status(StatusCode::kFailedPrecondition, "command_refused",
                "the server refused " + CommandName(command) + ": " + Printable(tagged.text));
}

void InitializeTls() {
  static std::once_flag once;
  std::call_once(once, [] { Poco::Net::initializeSSL(); });
}

}  // namespace

std::string FormatUidSet(std::vector<std::uint32_t> uids) {
  std::sort(uids.begin(), uids.end());
  uids.erase(std::unique(uids.begin(), uids.end()), uids.end());
  std::string out;
  for (std::size_t i = 0; i < uids.size();) {
    std::size_t j = i;
    while (j + 1 < uids.size() && uids[j + 1] == uids[j] + 1) ++j;
    if (!out.empty()) out += ',';
    out += std::to_string(uids[i]);
    if (j > i) out += ':' + std::to_string(uids[j]);
    i = j + 1;
  }
  return out;
}

struct ImapClient::Impl {
  struct CommandResult {
    Response tagged;
    std::vector<Response> untagged;
  };
  // Answers a continuation request ("+ ..."): the line to send (without
  // CRLF), or a failure that ends the command.
  using Continuation = std::function<Result<std::string>(const Response&)>;

  explicit Impl(const ImapOptions& o)
      : options(o), log(Poco::Logger::get(kLoggerName)), deadline(Clock::now() + o.session_timeout) {
    limits.max_line_bytes = o.max_line_bytes;
    limits.max_literal_bytes = o.max_message_bytes;
    limits.max_response_bytes = o.max_message_bytes + 1024 * 1024;
  }

  // The one catch site: every call into Poco runs inside Protect(). A
  // failure here leaves the connection unusable.
  template <typename Fn>
  Status Protect(const char* op, Fn&& fn) {
    Status failure;
    try {
      fn();
      return Status::Ok();
    } catch (const Poco::TimeoutException&) {
      failure = Clock::now() >= deadline
                    ? Status(StatusCode::kTimeout, "session_timeout",
                             "the session took longer than session_timeout (" +
                                 Seconds(options.session_timeout) + ")")
                    : Status(StatusCode::kTimeout, std::string(op) == "connect" ? "connect_timeout"
                                                                              : "command_timeout",
                             std::string("no answer from the server within ") +
                                 Seconds(std::string(op) == "connect" ? options.connect_timeout
                                                                      : options.command_timeout));
    } catch (const Poco::Net::CertificateValidationException& e) {
      failure = Status(StatusCode::kPermissionDenied, "certificate_refused",
                       "the server's certificate is not valid for " + Printable(options.host) +
                           ": " + Printable(e.message()));
    } catch (const Poco::Net::SSLException& e) {
      const std::string text = e.displayText();
      if (text.find("certificate") != std::string::npos) {
        failure = Status(StatusCode::kPermissionDenied, "certificate_refused",
                         "the server's certificate is not trusted (" + Printable(text) +
                             "); give its CA in ca_file");
      } else {
        failure = Status::Unavailable("tls_failed", "TLS with " + Printable(options.host) +
                                                        " failed: " + Printable(text));
      }
    } catch (const Poco::Net::DNSException& e) {
      failure = Status::Unavailable("host_not_found", "cannot resolve " + Printable(options.host) +
                                                          ": " + Printable(e.displayText()));
    } catch (const Poco::Net::ConnectionRefusedException&) {
      failure = Status::Unavailable("connection_refused",
                                    Printable(options.host) + ":" + std::to_string(options.port) +
                                        " refused the connection");
    } catch (const Poco::IOException& e) {
      failure = Status::Unavailable("connection_failed", "the connection to " +
                                                             Printable(options.host) + " failed: " +
                                                             Printable(e.displayText()));
    } catch (const Poco::Exception& e) {
      failure = Status::Internal("IMAP " + std::string(op) + ": " + Printable(e.displayText()));
    } catch (const std::exception& e) {
      failure = Status::Internal("IMAP " + std::string(op) + ": " + Printable(e.what()));
    }
    broken = true;
    return failure;
  }

  // Time left for one wait: the command timeout, cut by the deadline.
  Result<Poco::Timespan> WaitBudget(std::chrono::milliseconds per_wait) const {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      return Status(StatusCode::kTimeout, "session_timeout",
                    "the session took longer than session_timeout (" +
                        Seconds(options.session_timeout) + ")");
    }
    const auto wait = std::min(per_wait, left);
    return Poco::Timespan(static_cast<Poco::Timespan::TimeDiff>(wait.count()) * 1000);
  }

  Status Unusable() const {
    return Status::Unavailable("connection_unusable",
                               "the IMAP connection failed earlier and cannot be used");
  }

  Status Send(std::string_view bytes) {
    if (broken) return Unusable();
    Result<Poco::Timespan> budget = WaitBudget(options.command_timeout);
    if (!budget.ok()) {
      broken = true;
      return budget.status();
    }
    return Protect("send", [&] {
      socket.setSendTimeout(*budget);
      std::size_t sent = 0;
      while (sent < bytes.size()) {
        const int n = socket.sendBytes(bytes.data() + sent, static_cast<int>(bytes.size() - sent));
        if (n <= 0) throw Poco::Net::ConnectionResetException("the connection was closed");
        sent += static_cast<std::size_t>(n);
      }
    });
  }

  // Reads at least one byte more into the buffer.
  Status ReadMore(std::size_t want) {
    Result<Poco::Timespan> budget = WaitBudget(options.command_timeout);
    if (!budget.ok()) {
      broken = true;
      return budget.status();
    }
    want = std::clamp(want, kReadChunk, kMaxRead);
    const std::size_t old = buffer.size();
    buffer.resize(old + want);
    int n = 0;
    Status read = Protect("read", [&] {
      socket.setReceiveTimeout(*budget);
      n = socket.receiveBytes(buffer.data() + old, static_cast<int>(want));
    });
    buffer.resize(old + (n > 0 ? static_cast<std::size_t>(n) : 0));
    if (!read.ok()) return read;
    if (n <= 0) {
      broken = true;
      return Status::Unavailable("connection_closed", "the server closed the connection");
    }
    return Status::Ok();
  }

  Result<Response> Read() {
    if (broken) return Unusable();
    while (true) {
      const std::string_view pending(buffer.data() + start, buffer.size() - start);
      if (!pending.empty() && pending.size() >= need) {
        imap::ParseResult r = imap::ParseResponse(pending, limits);
        if (r.state == imap::ParseState::kComplete) {
          start += r.consumed;
          need = 0;
          if (start == buffer.size()) {
            buffer.clear();
            start = 0;
            // A large literal's buffer is not kept for the rest of the session.
            if (buffer.capacity() > kMaxRead) std::string().swap(buffer);
          } else if (start > kReadChunk && start > buffer.size() / 2) {
            buffer.erase(0, start);
            start = 0;
          }
          return std::move(r.response);
        }
        if (r.state == imap::ParseState::kError) {
          broken = true;
          log.warning("event=imap_protocol_error host=\"" + Printable(options.host) +
                      "\" reason=" + r.error.reason() + " detail=\"" + Printable(r.error.message()) +
                      "\"");
          return r.error;
        }
        need = r.need_total;
        // The parser has checked a literal's size against the limits, so
        // reserving for it now is bounded by max_message_bytes.
        if (need > pending.size() + kReadChunk) buffer.reserve(start + need);
      }
      DMARC_RETURN_IF_ERROR(ReadMore(need > pending.size() ? need - pending.size() : kReadChunk));
    }
  }

  void NoteUntagged(const Response& r) {
    if (r.name == "EXISTS" && r.number) {
      exists = static_cast<std::uint32_t>(std::min<std::uint64_t>(*r.number, UINT32_MAX));
    } else if (r.name == "EXPUNGE" && exists > 0) {
      --exists;
    }
    if (r.name == "CAPABILITY") capabilities = imap::CapabilitiesFromValues(r.values);
    const std::string code = imap::CodeName(r.code);
    if (code == "CAPABILITY") capabilities = imap::ParseCapabilities(imap::CodeArgument(r.code));
    if (code == "ALERT") {
      // RFC 9051 §7.1: the text of an ALERT must be shown to the user.
      log.warning("event=imap_server_alert host=\"" + Printable(options.host) + "\" text=\"" +
                  Printable(r.text) + "\"");
    }
  }

  // Sends one command and reads until its tagged response. A tagged NO is
  // returned in the result (the caller decides); BAD, a protocol error or
  // a broken connection are failures.
  Result<CommandResult> Execute(std::string_view command,
                                const Continuation* on_continuation = nullptr) {
    char tag[16];
    std::snprintf(tag, sizeof(tag), "D%04u", ++tag_counter);
    log.debug(std::string("event=imap_command tag=") + tag + " command=" + CommandName(command));
    std::string line = std::string(tag) + " " + std::string(command) + "\r\n";
    DMARC_RETURN_IF_ERROR(Send(line));
    CommandResult out;
    std::optional<std::string> bye;
    while (true) {
      Result<Response> r = Read();
      if (!r.ok()) {
        if (bye && r.status().reason() == "connection_closed") {
          return Status::Unavailable("server_bye",
                                     "the server ended the session: " + Printable(*bye));
        }
        return std::move(r).status();
      }
      switch (r->kind) {
        case ResponseKind::kContinuation: {
          if (on_continuation == nullptr) {
            broken = true;
            return Status::InvalidInput("malformed_response",
                                        "the server asked for more data where none belongs");
          }
          Result<std::string> reply = (*on_continuation)(*r);
          if (!reply.ok()) {
            broken = true;
            return std::move(reply).status();
          }
          DMARC_RETURN_IF_ERROR(Send(*reply + "\r\n"));
          break;
        }
        case ResponseKind::kUntagged:
          if (r->status == "BYE") bye = r->text;
          NoteUntagged(*r);
          if (out.untagged.size() >= kMaxUntagged) {
            broken = true;
            return Status::LimitExceeded("max_responses",
                                         "the server sent more than " +
                                             std::to_string(kMaxUntagged) +
                                             " responses to one command");
          }
          out.untagged.push_back(std::move(*r));
          break;
        case ResponseKind::kTagged:
          if (r->tag != tag) {
            broken = true;
            return Status::InvalidInput("malformed_response",
                                        "the server answered a command that was not sent");
          }
          NoteUntagged(*r);
          if (r->status == "BAD") {
            return Status(StatusCode::kFailedPrecondition, "command_bad",
                          "the server did not understand " + CommandName(command) + ": " +
                              Printable(r->text));
          }
          out.tagged = std::move(*r);
          return out;
      }
    }
  }

  Result<CommandResult> ExecuteOk(std::string_view command) {
    Result<CommandResult> r = Execute(command);
    if (r.ok() && r->tagged.status != "OK") return Refused(command, r->tagged);
    return r;
  }

  Status LoadCapabilities() {
    capabilities.clear();
    Result<CommandResult> r = ExecuteOk("CAPABILITY");
    if (!r.ok()) return r.status();
    if (capabilities.empty()) {
      return Status::InvalidInput("malformed_response", "the server sent no capabilities");
    }
    return Status::Ok();
  }

  Poco::Net::Context::Ptr MakeContext() {
    Poco::Net::Context::Params params;
    params.caLocation = options.ca_file;
    params.loadDefaultCAs = options.ca_file.empty();
    // STRICT: Poco skips the host name check for loopback peers in
    // RELAXED mode; the certificate is always checked here.
    params.verificationMode = Poco::Net::Context::VERIFY_STRICT;
    params.verificationDepth = 9;
    params.cipherList = "HIGH:!aNULL:!MD5:!RC4";
    Poco::Net::Context::Ptr c = new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, params);
    c->requireMinimumProtocol(Poco::Net::Context::PROTO_TLSV1_2);
    c->enableExtendedCertificateVerification(true);
    return c;
  }

  Status Open() {
    if (!options.ca_file.empty() && ::access(options.ca_file.c_str(), R_OK) != 0) {
      return Status(StatusCode::kFailedPrecondition, "ca_file_unreadable",
                    "cannot read the CA file " + Printable(options.ca_file));
    }
    Result<Poco::Timespan> budget = WaitBudget(options.connect_timeout);
    if (!budget.ok()) return budget.status();
    DMARC_RETURN_IF_ERROR(Protect("connect", [&] {
      const Poco::Net::SocketAddress address(options.host, static_cast<Poco::UInt16>(options.port));
      if (options.tls != ImapTls::kNone) context = MakeContext();
      if (options.tls == ImapTls::kImplicit) {
        Poco::Net::SecureStreamSocket secure(context);
        secure.setPeerHostName(options.host);
        // Connects and completes the handshake (certificate and host name
        // checked) within the timeout.
        secure.connect(address, *budget);
        socket = secure;
      } else {
        socket.connect(address, *budget);
      }
      socket.setNoDelay(true);
    }));

    // The greeting (RFC 9051 §7.1.1, §7.1.4, §7.1.5).
    Result<Response> greeting = Read();
    if (!greeting.ok()) return std::move(greeting).status();
    if (greeting->kind != ResponseKind::kUntagged ||
        (greeting->status != "OK" && greeting->status != "PREAUTH" && greeting->status != "BYE")) {
      broken = true;
      return Status::InvalidInput("malformed_response", "the server's greeting is not an IMAP one");
    }
    if (greeting->status == "BYE") {
      broken = true;
      return Status::Unavailable("server_bye",
                                 "the server refused the session: " + Printable(greeting->text));
    }
    NoteUntagged(*greeting);
    preauthenticated = greeting->status == "PREAUTH";
    if (options.tls == ImapTls::kStartTls) {
      // RFC 9051 §6.2.1: a PREAUTH connection cannot be upgraded, and the
      // client must not go on in plain text.
      if (preauthenticated) {
        broken = true;
        return Status(StatusCode::kFailedPrecondition, "starttls_unavailable",
                      "the server pre-authenticated the connection, so STARTTLS is impossible");
      }
      DMARC_RETURN_IF_ERROR(StartTls());
    } else if (capabilities.empty()) {
      DMARC_RETURN_IF_ERROR(LoadCapabilities());
    }
    log.information("event=imap_connected host=\"" + Printable(options.host) + "\" port=" +
                    std::to_string(options.port) + " tls=" +
                    (options.tls == ImapTls::kImplicit   ? "implicit"
                     : options.tls == ImapTls::kStartTls ? "starttls"
                                                         : "none"));
    return Status::Ok();
  }

  Status StartTls() {
    if (capabilities.empty()) DMARC_RETURN_IF_ERROR(LoadCapabilities());
    if (capabilities.count("STARTTLS") == 0) {
      broken = true;
      return Status(StatusCode::kFailedPrecondition, "starttls_unavailable",
                    "the server does not offer STARTTLS; use tls = \"implicit\" (port 993)");
    }
    Result<CommandResult> r = ExecuteOk("STARTTLS");
    if (!r.ok()) {
      broken = true;
      return r.status();
    }
    // Bytes after the OK were sent before TLS and could be injected by
    // anyone on the path (the STARTTLS command-injection attack): refuse.
    if (start != buffer.size()) {
      broken = true;
      return Status::InvalidInput("starttls_injection",
                                  "the server sent data after its STARTTLS answer, before TLS");
    }
    Result<Poco::Timespan> budget = WaitBudget(options.connect_timeout);
    if (!budget.ok()) return budget.status();
    DMARC_RETURN_IF_ERROR(Protect("connect", [&] {
      socket.setReceiveTimeout(*budget);
      socket.setSendTimeout(*budget);
      socket = Poco::Net::SecureStreamSocket::attach(socket, options.host, context);
    }));
    // RFC 9051 §6.2.1: capabilities learnt before TLS are forgotten.
    return LoadCapabilities();
  }

  ImapOptions options;
  Poco::Logger& log;
  imap::ParserLimits limits;
  Clock::time_point deadline;
  Poco::Net::Context::Ptr context;
  Poco::Net::StreamSocket socket;
  std::string buffer;
  std::size_t start = 0;  // first byte of the buffer not yet parsed
  std::size_t need = 0;   // parse again once this many bytes are pending
  std::set<std::string> capabilities;
  std::optional<char> delimiter;
  std::uint32_t exists = 0;
  bool broken = false;
  bool preauthenticated = false;
  unsigned tag_counter = 0;
  std::string last_move;
};

ImapClient::ImapClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ImapClient::~ImapClient() {
  if (impl_) {
    try {
      impl_->socket.close();
    } catch (...) {  // closing is best effort
    }
  }
}

Result<std::unique_ptr<ImapClient>> ImapClient::Connect(const ImapOptions& options) {
  InitializeTls();
  auto impl = std::make_unique<Impl>(options);
  Status opened = impl->Open();
  if (!opened.ok()) {
    impl->log.error("event=imap_connect_failed host=\"" + Printable(options.host) + "\" port=" +
                    std::to_string(options.port) + " reason=" + opened.reason() + " detail=\"" +
                    Printable(opened.message()) + "\"");
    return opened;
  }
  return std::unique_ptr<ImapClient>(new ImapClient(std::move(impl)));
}

const std::set<std::string>& ImapClient::capabilities() const { return impl_->capabilities; }

bool ImapClient::HasCapability(std::string_view name) const {
  return impl_->capabilities.count(imap::AsciiUpper(name)) > 0;
}

const std::string& ImapClient::last_move_method() const { return impl_->last_move; }

Status ImapClient::Authenticate(const ImapCredentials& credentials) {
  Impl& i = *impl_;
  if (i.preauthenticated) return Status::Ok();
  const std::string& user = credentials.username;
  const auto bad = [](std::string_view s) {
    return s.find_first_of(std::string_view("\r\n\0\x01", 4)) != std::string_view::npos;
  };
  if (user.empty() || bad(user)) {
    return Status::InvalidInput("bad_credentials", "the user name is empty or holds a control character");
  }
  // A continuation answer that cancels the exchange (RFC 9051 §6.2.2).
  const Impl::Continuation cancel = [](const Response&) -> Result<std::string> {
    return std::string("*");
  };
  std::string mechanism;
  Result<Impl::CommandResult> result = Status::Internal("no authentication attempted");

  if (credentials.kind == ImapCredentials::Kind::kPassword) {
    if (bad(credentials.password)) {
      return Status::InvalidInput("bad_credentials", "the password holds a control character");
    }
    if (HasCapability("AUTH=PLAIN")) {
      mechanism = "PLAIN";
      const std::string response = imap::SaslPlainResponse(user, credentials.password);
      if (HasCapability("SASL-IR")) {
        result = i.Execute("AUTHENTICATE PLAIN " + response, &cancel);
      } else {
        bool sent = false;
        const Impl::Continuation answer = [&](const Response&) -> Result<std::string> {
          if (sent) return std::string("*");
          sent = true;
          return response;
        };
        result = i.Execute("AUTHENTICATE PLAIN", &answer);
      }
    } else if (HasCapability("LOGINDISABLED")) {
      return Status(StatusCode::kFailedPrecondition, "login_disabled",
                    "the server allows neither LOGIN nor AUTHENTICATE PLAIN here");
    } else {
      mechanism = "LOGIN";
      Result<std::string> quoted_user = imap::Quote(user);
      Result<std::string> quoted_password = imap::Quote(credentials.password);
      if (!quoted_user.ok() || !quoted_password.ok()) {
        return Status::InvalidInput("bad_credentials", "the credentials cannot be sent with LOGIN");
      }
      result = i.Execute("LOGIN " + *quoted_user + " " + *quoted_password);
    }
    if (!result.ok()) return result.status();
    if (result->tagged.status != "OK") {
      i.log.error("event=imap_auth_failed host=\"" + Printable(i.options.host) + "\" user=\"" +
                  Printable(user) + "\" mechanism=" + mechanism + " text=\"" +
                  Printable(result->tagged.text) + "\"");
      return Status(StatusCode::kUnauthenticated, "auth_failed",
                    "the server refused the login of " + Printable(user) + ": " +
                        Printable(result->tagged.text));
    }
  } else {
    mechanism = "XOAUTH2";
    if (!HasCapability("AUTH=XOAUTH2")) {
      return Status(StatusCode::kFailedPrecondition, "xoauth2_unavailable",
                    "the server does not offer AUTHENTICATE XOAUTH2");
    }
    if (!credentials.token) return Status::Internal("XOAUTH2 without a token source");
    std::string challenge;
    for (int attempt = 0; attempt < 2; ++attempt) {
      Result<std::string> token = credentials.token(attempt > 0);
      if (!token.ok()) return token.status();
      if (token->empty() || bad(*token)) {
        return Status::InvalidInput("bad_token", "the OAuth2 token is empty or holds a control character");
      }
      const std::string response = imap::Xoauth2Response(user, *token);
      bool sent_initial = HasCapability("SASL-IR");
      challenge.clear();
      // After a refused token the server sends its error as a challenge
      // and waits for an empty response before its NO (RFC 7628 §3.2.3
      // describes the same for OAUTHBEARER).
      const Impl::Continuation answer = [&](const Response& r) -> Result<std::string> {
        if (!sent_initial) {
          sent_initial = true;
          return response;
        }
        challenge = imap::DescribeXoauth2Challenge(r.text);
        return std::string();
      };
      result = sent_initial ? i.Execute("AUTHENTICATE XOAUTH2 " + response, &answer)
                            : i.Execute("AUTHENTICATE XOAUTH2", &answer);
      if (!result.ok()) return result.status();
      if (result->tagged.status == "OK") break;
      i.log.warning("event=imap_token_refused host=\"" + Printable(i.options.host) + "\" user=\"" +
                    Printable(user) + "\" attempt=" + std::to_string(attempt + 1) +
                    " challenge=\"" + Printable(challenge) + "\"");
      if (attempt == 1) {
        return Status(StatusCode::kUnauthenticated, "token_refused",
                      "the server refused the OAuth2 token of " + Printable(user) +
                          " (a fresh one too): " + Printable(result->tagged.text) +
                          (challenge.empty() ? "" : " " + Printable(challenge)));
      }
    }
  }
  i.log.information("event=imap_authenticated host=\"" + Printable(i.options.host) + "\" user=\"" +
                    Printable(user) + "\" mechanism=" + mechanism);
  // Capabilities may grow after login (RFC 9051 §7.2.2); Dovecot sends
  // them in the OK's response code, others need asking.
  if (imap::CodeName(result->tagged.code) != "CAPABILITY") return i.LoadCapabilities();
  return Status::Ok();
}

Result<char> ImapClient::HierarchyDelimiter() {
  Impl& i = *impl_;
  if (i.delimiter) return *i.delimiter;
  Result<Impl::CommandResult> r = i.ExecuteOk("LIST \"\" \"\"");
  if (!r.ok()) return r.status();
  char delimiter = '\0';
  for (const Response& u : r->untagged) {
    if (u.name != "LIST" || u.values.size() < 2) continue;
    const Value& d = u.values[1];
    if (d.kind == Value::Kind::kString && d.text.size() == 1) delimiter = d.text[0];
  }
  i.delimiter = delimiter;
  return delimiter;
}

Result<std::string> ImapClient::ServerFolderName(std::string_view configured) {
  Result<char> delimiter = HierarchyDelimiter();
  if (!delimiter.ok()) return delimiter.status();
  return imap::TranslateFolderName(configured, *delimiter);
}

Result<bool> ImapClient::EnsureFolder(std::string_view configured) {
  Impl& i = *impl_;
  Result<std::string> name = ServerFolderName(configured);
  if (!name.ok()) return name.status();
  Result<std::string> quoted = imap::Quote(*name);
  if (!quoted.ok()) return quoted.status();
  Result<Impl::CommandResult> listed = i.ExecuteOk("LIST \"\" " + *quoted);
  if (!listed.ok()) return listed.status();
  for (const Response& u : listed->untagged) {
    if (u.name != "LIST" || u.values.size() < 3) continue;
    const Value& n = u.values[2];
    if ((n.kind != Value::Kind::kString && n.kind != Value::Kind::kAtom) || n.text != *name) {
      continue;
    }
    bool selectable = true;
    if (u.values[0].kind == Value::Kind::kList) {
      for (const Value& flag : u.values[0].items) {
        const std::string f = imap::AsciiUpper(flag.text);
        if (f == "\\NONEXISTENT" || f == "\\NOSELECT") selectable = false;
      }
    }
    if (selectable) return false;
  }
  Result<Impl::CommandResult> created = i.Execute("CREATE " + *quoted);
  if (!created.ok()) return created.status();
  if (created->tagged.status != "OK") {
    // Another client may have created it since our LIST (RFC 5530).
    if (imap::CodeName(created->tagged.code) == "ALREADYEXISTS") return false;
    return Status(StatusCode::kFailedPrecondition, "create_failed",
                  "the server refused to create the folder " + Printable(*name) + ": " +
                      Printable(created->tagged.text));
  }
  i.log.information("event=imap_folder_created host=\"" + Printable(i.options.host) +
                    "\" folder=\"" + Printable(*name) + "\"");
  return true;
}

Result<SelectedFolder> ImapClient::Select(std::string_view configured) {
  Impl& i = *impl_;
  Result<std::string> name = ServerFolderName(configured);
  if (!name.ok()) return name.status();
  Result<std::string> quoted = imap::Quote(*name);
  if (!quoted.ok()) return quoted.status();
  i.exists = 0;
  Result<Impl::CommandResult> r = i.Execute("SELECT " + *quoted);
  if (!r.ok()) return r.status();
  if (r->tagged.status != "OK") {
    return Status(StatusCode::kNotFound, "folder_not_found",
                  "cannot select the folder " + Printable(*name) + ": " + Printable(r->tagged.text));
  }
  SelectedFolder out;
  bool have_uidvalidity = false;
  for (const Response& u : r->untagged) {
    const std::string code = imap::CodeName(u.code);
    if (code == "UIDVALIDITY") {
      std::optional<std::uint32_t> v = imap::ToUint32(imap::CodeArgument(u.code));
      if (v && *v != 0) {
        out.uidvalidity = *v;
        have_uidvalidity = true;
      }
    } else if (code == "UIDNEXT") {
      out.uidnext = imap::ToUint32(imap::CodeArgument(u.code)).value_or(0);
    }
  }
  if (!have_uidvalidity) {
    // RFC 9051 §6.3.2: UIDVALIDITY is required; without it UIDs mean nothing.
    return Status::InvalidInput("no_uidvalidity",
                                "the server did not send a valid UIDVALIDITY for " +
                                    Printable(*name));
  }
  out.exists = i.exists;
  out.read_only = imap::CodeName(r->tagged.code) == "READ-ONLY";
  return out;
}

Result<std::vector<std::uint32_t>> ImapClient::SearchUids(std::string_view criteria) {
  Impl& i = *impl_;
  std::vector<std::uint32_t> uids;
  for (std::uint64_t lo = 1; lo <= i.exists; lo += kSearchWindow) {
    const std::uint64_t hi = std::min<std::uint64_t>(lo + kSearchWindow - 1, i.exists);
    Result<Impl::CommandResult> r = i.ExecuteOk("UID SEARCH " + std::to_string(lo) + ":" +
                                                std::to_string(hi) + " " + std::string(criteria));
    if (!r.ok()) return r.status();
    for (const Response& u : r->untagged) {
      if (u.name != "SEARCH") continue;
      for (const Value& v : u.values) {
        if (v.kind != Value::Kind::kNumber) continue;
        std::optional<std::uint32_t> uid = imap::ToUint32(v.text);
        if (uid && *uid != 0) uids.push_back(*uid);
      }
    }
  }
  std::sort(uids.begin(), uids.end());
  uids.erase(std::unique(uids.begin(), uids.end()), uids.end());
  return uids;
}

Result<std::vector<MessageSize>> ImapClient::FetchSizes(const std::vector<std::uint32_t>& uids) {
  Impl& i = *impl_;
  std::vector<MessageSize> out;
  for (std::size_t at = 0; at < uids.size(); at += kUidBatch) {
    const std::vector<std::uint32_t> batch(
        uids.begin() + static_cast<std::ptrdiff_t>(at),
        uids.begin() + static_cast<std::ptrdiff_t>(std::min(at + kUidBatch, uids.size())));
    const std::set<std::uint32_t> wanted(batch.begin(), batch.end());
    Result<Impl::CommandResult> r =
        i.ExecuteOk("UID FETCH " + FormatUidSet(batch) + " (UID RFC822.SIZE)");
    if (!r.ok()) return r.status();
    for (const Response& u : r->untagged) {
      if (u.name != "FETCH") continue;
      const Value* uid = imap::FetchItem(u, "UID");
      const Value* size = imap::FetchItem(u, "RFC822.SIZE");
      if (uid == nullptr || size == nullptr || uid->kind != Value::Kind::kNumber ||
          size->kind != Value::Kind::kNumber) {
        continue;  // an unsolicited FETCH (flags changed elsewhere)
      }
      std::optional<std::uint32_t> u32 = imap::ToUint32(uid->text);
      if (!u32 || wanted.count(*u32) == 0) continue;
      out.push_back({*u32, size->number});
    }
  }
  return out;
}

Result<std::string> ImapClient::FetchMessage(std::uint32_t uid) {
  Impl& i = *impl_;
  Result<Impl::CommandResult> r =
      i.ExecuteOk("UID FETCH " + std::to_string(uid) + " (UID BODY.PEEK[])");
  if (!r.ok()) {
    if (r.status().reason() == "max_literal_bytes") {
      return Status::LimitExceeded("max_message_bytes",
                                   "the server sent message " + std::to_string(uid) +
                                       " larger than max_message_bytes (" +
                                       std::to_string(i.options.max_message_bytes) + ")");
    }
    return r.status();
  }
  for (Response& u : r->untagged) {
    if (u.name != "FETCH") continue;
    const Value* got_uid = imap::FetchItem(u, "UID");
    if (got_uid == nullptr || imap::ToUint32(got_uid->text) != uid) continue;
    std::vector<Value>& items = u.values[0].items;
    for (std::size_t k = 0; k + 1 < items.size(); k += 2) {
      if (imap::AsciiUpper(items[k].text) == "BODY[]" && items[k + 1].kind == Value::Kind::kString) {
        return std::move(items[k + 1].text);
      }
    }
  }
  return Status(StatusCode::kNotFound, "message_gone",
                "message " + std::to_string(uid) + " is no longer in the folder");
}

Status ImapClient::Move(const std::vector<std::uint32_t>& uids, std::string_view configured_folder) {
  Impl& i = *impl_;
  if (uids.empty()) return Status::Ok();
  Result<std::string> name = ServerFolderName(configured_folder);
  if (!name.ok()) return name.status();
  Result<std::string> quoted = imap::Quote(*name);
  if (!quoted.ok()) return quoted.status();
  const bool move = HasCapability("MOVE");
  const bool uidplus = HasCapability("UIDPLUS");
  for (std::size_t at = 0; at < uids.size(); at += kUidBatch) {
    const std::vector<std::uint32_t> batch(
        uids.begin() + static_cast<std::ptrdiff_t>(at),
        uids.begin() + static_cast<std::ptrdiff_t>(std::min(at + kUidBatch, uids.size())));
    const std::string set = FormatUidSet(batch);
    // RFC 6851 UID MOVE is atomic on the server; without it, RFC 9051's
    // COPY + STORE \Deleted + EXPUNGE does the same in three steps, and
    // RFC 4315 UID EXPUNGE limits the expunge to our messages.
    const std::string first = (move ? "UID MOVE " : "UID COPY ") + set + " " + *quoted;
    Result<Impl::CommandResult> r = i.Execute(first);
    if (!r.ok()) return r.status();
    if (r->tagged.status != "OK" && imap::CodeName(r->tagged.code) == "TRYCREATE") {
      Result<bool> created = EnsureFolder(configured_folder);
      if (!created.ok()) return created.status();
      r = i.Execute(first);
      if (!r.ok()) return r.status();
    }
    if (r->tagged.status != "OK") return Refused(first, r->tagged);
    if (move) {
      i.last_move = "move";
      continue;
    }
    Result<Impl::CommandResult> flagged =
        i.ExecuteOk("UID STORE " + set + " +FLAGS.SILENT (\\Deleted)");
    if (!flagged.ok()) return flagged.status();
    Result<Impl::CommandResult> expunged = i.ExecuteOk(uidplus ? "UID EXPUNGE " + set : "EXPUNGE");
    if (!expunged.ok()) return expunged.status();
    i.last_move = uidplus ? "copy+uid expunge" : "copy+expunge";
  }
  return Status::Ok();
}

Status ImapClient::MarkSeen(const std::vector<std::uint32_t>& uids) {
  Impl& i = *impl_;
  for (std::size_t at = 0; at < uids.size(); at += kUidBatch) {
    const std::vector<std::uint32_t> batch(
        uids.begin() + static_cast<std::ptrdiff_t>(at),
        uids.begin() + static_cast<std::ptrdiff_t>(std::min(at + kUidBatch, uids.size())));
    Result<Impl::CommandResult> r =
        i.ExecuteOk("UID STORE " + FormatUidSet(batch) + " +FLAGS.SILENT (\\Seen)");
    if (!r.ok()) return r.status();
  }
  return Status::Ok();
}

Status ImapClient::Logout() {
  Impl& i = *impl_;
  if (i.broken) return i.Unusable();
  Result<Impl::CommandResult> r = i.Execute("LOGOUT");
  Status closed = i.Protect("close", [&] { i.socket.close(); });
  if (!r.ok()) return r.status();
  return closed;
}

}  // namespace dmarcwatch::ingest
