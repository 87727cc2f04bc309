// The SMTP transport (smtp.h) over Poco::Net::SMTPClientSession. This file
// is the alerts module's one adapter to Poco's networking: every Poco
// exception is caught here and mapped to a Status.

#include "dmarcwatch/alerts/smtp.h"

#include <Poco/Environment.h>
#include <Poco/Exception.h>
#include <Poco/Logger.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/DialogSocket.h>
#include <Poco/Net/MailStream.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/RejectCertificateHandler.h>
#include <Poco/Net/SMTPClientSession.h>
#include <Poco/Net/SSLException.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/Net/SecureStreamSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/SocketStream.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/Timespan.h>

#include <mutex>
#include <sstream>

#include "dmarcwatch/model/text.h"

namespace dmarcwatch::alerts {
namespace {

constexpr const char* kLogger = "dmarc.alerts";

void InitializeTls() {
  static std::once_flag once;
  std::call_once(once, [] { Poco::Net::initializeSSL(); });
}

bool Loopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

// The session with access to what Poco keeps protected: the socket (to
// upgrade it for STARTTLS) and the AUTH exchanges.
class Session : public Poco::Net::SMTPClientSession {
 public:
  explicit Session(const Poco::Net::StreamSocket& socket) : SMTPClientSession(socket) {}
  Poco::Net::DialogSocket& Socket() { return socket(); }
  void AuthPlain(const std::string& user, const std::string& password) {
    loginUsingPlain(user, password);
  }
  void AuthLogin(const std::string& user, const std::string& password) {
    loginUsingLogin(user, password);
  }
};

// Whether the EHLO reply lists `keyword` (and, for AUTH, `mechanism`).
bool Offers(const std::string& ehlo, const std::string& keyword, const std::string& mechanism = {}) {
  std::istringstream lines(ehlo);
  for (std::string line; std::getline(lines, line);) {
    if (line.size() > 4) line = line.substr(4);  // "250-" / "250 "
    std::istringstream words(model::AsciiLower(line));
    std::string first;
    words >> first;
    const std::string want = model::AsciiLower(keyword);
    if (first == want) {
      if (mechanism.empty()) return true;
      for (std::string w; words >> w;) {
        if (w == model::AsciiLower(mechanism)) return true;
      }
    } else if (!mechanism.empty() && first.rfind(want + "=", 0) == 0) {
      // The old "AUTH=PLAIN LOGIN" form.
      std::string rest = first.substr(want.size() + 1);
      if (rest == model::AsciiLower(mechanism)) return true;
      for (std::string w; words >> w;) {
        if (w == model::AsciiLower(mechanism)) return true;
      }
    }
  }
  return false;
}

std::string Reply(int status, const std::string& text) {
  std::string t = text;
  for (char& c : t) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return std::to_string(status) + " " + model::Printable(t, 200);
}

bool Positive(int status) { return status >= 200 && status < 300; }

class SmtpTransport : public MailTransport {
 public:
  explicit SmtpTransport(SmtpOptions options)
      : options_(std::move(options)), log_(Poco::Logger::get(kLogger)) {}
  ~SmtpTransport() override { Close(); }

  Status Open() override {
    Close();
    const Poco::Timespan timeout(options_.timeout, 0);
    std::string step = "connect";
    try {
      if (options_.tls != SmtpTls::kNone) {
        InitializeTls();
        context_ = MakeContext();
      }
      const Poco::Net::SocketAddress address(options_.host,
                                             static_cast<Poco::UInt16>(options_.port));
      Poco::Net::StreamSocket socket;
      if (options_.tls == SmtpTls::kImplicit) {
        Poco::Net::SecureStreamSocket secure(context_);
        secure.setPeerHostName(options_.host);
        // Connects and completes the handshake (certificate and host name
        // checked) within the timeout.
        secure.connect(address, timeout);
        socket = secure;
      } else {
        socket.connect(address, timeout);
      }
      socket.setReceiveTimeout(timeout);
      socket.setSendTimeout(timeout);
      session_ = std::make_unique<Session>(socket);
      session_->setTimeout(timeout);
      step = "greeting";
      session_->open();

      const std::string helo =
          options_.helo_name.empty() ? Poco::Environment::nodeName() : options_.helo_name;
      std::string ehlo;
      step = "EHLO";
      int status = session_->sendCommand("EHLO", helo, ehlo);
      if (!Positive(status)) {
        return Fail(Status(StatusCode::kUnavailable, "smtp_refused_ehlo",
                           "the server refused EHLO: " + Reply(status, ehlo)));
      }
      if (options_.tls == SmtpTls::kStartTls) {
        if (!Offers(ehlo, "STARTTLS")) {
          return Fail(Status(StatusCode::kFailedPrecondition, "starttls_unavailable",
                             "the server does not offer STARTTLS; use tls = \"implicit\" "
                             "(port 465) or a server that does"));
        }
        std::string reply;
        step = "STARTTLS";
        status = session_->sendCommand("STARTTLS", reply);
        if (!Positive(status)) {
          return Fail(Status(StatusCode::kUnavailable, "starttls_refused",
                             "the server refused STARTTLS: " + Reply(status, reply)));
        }
        step = "TLS handshake";
        // Assigning to the dialog socket also drops anything the server
        // sent before the handshake, which could be injected by anyone on
        // the path.
        session_->Socket() =
            Poco::Net::SecureStreamSocket::attach(session_->Socket(), options_.host, context_);
        step = "EHLO after STARTTLS";
        status = session_->sendCommand("EHLO", helo, ehlo);
        if (!Positive(status)) {
          return Fail(Status(StatusCode::kUnavailable, "smtp_refused_ehlo",
                             "the server refused EHLO after STARTTLS: " + Reply(status, ehlo)));
        }
      }
      if (!options_.username.empty()) {
        if (options_.tls == SmtpTls::kNone && !Loopback(options_.host)) {
          return Fail(Status(StatusCode::kFailedPrecondition, "auth_without_tls",
                             "refusing to send the SMTP password without TLS"));
        }
        step = "AUTH";
        if (Offers(ehlo, "AUTH", "PLAIN")) {
          session_->AuthPlain(options_.username, options_.password);
        } else if (Offers(ehlo, "AUTH", "LOGIN")) {
          session_->AuthLogin(options_.username, options_.password);
        } else {
          return Fail(Status(StatusCode::kFailedPrecondition, "auth_unavailable",
                             "the server offers neither AUTH PLAIN nor AUTH LOGIN"));
        }
      }
      usable_ = true;
      log_.information("event=smtp_connected host=\"" + model::Printable(options_.host) +
                       "\" port=" + std::to_string(options_.port) + " tls=" + TlsWord() +
                       " auth=" + (options_.username.empty() ? "none" : "yes"));
      return Status::Ok();
    } catch (const Poco::Exception& e) {
      return Fail(Map(e, step));
    } catch (const std::exception& e) {
      return Fail(Status(StatusCode::kUnavailable, "smtp_failed",
                         step + ": " + model::Printable(e.what(), 200)));
    }
  }

  Status Send(const std::string& from, const std::string& recipient,
              const std::string& data) override {
    if (!usable_ || !session_) {
      return Status::Unavailable("smtp_session_lost", "no SMTP session");
    }
    std::string step = "MAIL FROM";
    try {
      std::string reply;
      int status = session_->sendCommand("MAIL FROM:<" + from + ">", reply);
      if (!Positive(status)) {
        // A refused sender is a configuration problem the admin can fix:
        // retried, never dropped.
        Reset();
        return Status(status >= 500 ? StatusCode::kFailedPrecondition : StatusCode::kUnavailable,
                      "smtp_sender_refused", "MAIL FROM refused: " + Reply(status, reply));
      }
      step = "RCPT TO";
      status = session_->sendCommand("RCPT TO:<" + recipient + ">", reply);
      if (!Positive(status)) {
        Reset();
        if (status >= 500) {
          return Status::InvalidInput("smtp_refused", "recipient " + model::Printable(recipient) +
                                                          " refused: " + Reply(status, reply));
        }
        return Status::Unavailable("smtp_deferred",
                                   "recipient deferred: " + Reply(status, reply));
      }
      step = "DATA";
      status = session_->sendCommand("DATA", reply);
      if (status != 354) {
        Reset();
        return Status::Unavailable("smtp_deferred", "DATA refused: " + Reply(status, reply));
      }
      step = "message";
      {
        Poco::Net::SocketOutputStream socket_out(session_->Socket());
        // Dot-stuffing and the final "." (RFC 5321 §4.5.2).
        Poco::Net::MailOutputStream mail_out(socket_out);
        mail_out << data;
        mail_out.close();
        socket_out.flush();
      }
      step = "reply to the message";
      status = session_->Socket().receiveStatusMessage(reply);
      if (status >= 500) {
        return Status::InvalidInput("smtp_refused", "message refused: " + Reply(status, reply));
      }
      if (!Positive(status)) {
        return Status::Unavailable("smtp_deferred", "message deferred: " + Reply(status, reply));
      }
      return Status::Ok();
    } catch (const Poco::Exception& e) {
      usable_ = false;
      return Map(e, step);
    } catch (const std::exception& e) {
      usable_ = false;
      return Status(StatusCode::kUnavailable, "smtp_failed",
                    step + ": " + model::Printable(e.what(), 200));
    }
  }

  bool usable() const override { return usable_; }

  void Close() override {
    usable_ = false;
    if (!session_) return;
    try {
      session_->close();
    } catch (const Poco::Exception& e) {
      log_.debug("event=smtp_quit_failed detail=\"" + model::Printable(e.displayText()) + "\"");
    } catch (const std::exception&) {
      log_.debug("event=smtp_quit_failed");
    }
    session_.reset();
  }

 private:
  Poco::Net::Context::Ptr MakeContext() const {
    Poco::Net::Context::Params params;
    params.caLocation = options_.ca_file;
    params.loadDefaultCAs = options_.ca_file.empty();
    // STRICT: Poco skips the host name check for loopback peers in
    // RELAXED mode; here the certificate and the name are always checked.
    params.verificationMode = Poco::Net::Context::VERIFY_STRICT;
    params.verificationDepth = 9;
    params.cipherList = "HIGH:!aNULL:!MD5:!RC4";
    Poco::Net::Context::Ptr c =
        new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, params);
    c->requireMinimumProtocol(Poco::Net::Context::PROTO_TLSV1_2);
    c->enableExtendedCertificateVerification(true);
    // Never ask the process-wide SSLManager (which would consult an
    // application configuration): a bad certificate is refused.
    c->setInvalidCertificateHandler(new Poco::Net::RejectCertificateHandler(false));
    return c;
  }

  std::string TlsWord() const {
    switch (options_.tls) {
      case SmtpTls::kStartTls: return "starttls";
      case SmtpTls::kImplicit: return "implicit";
      case SmtpTls::kNone: break;
    }
    return "none";
  }

  // Ends a refused transaction so the session can carry the next message.
  void Reset() {
    try {
      std::string reply;
      if (!Positive(session_->sendCommand("RSET", reply))) usable_ = false;
    } catch (const Poco::Exception&) {
      usable_ = false;
    }
  }

  Status Fail(Status status) {
    usable_ = false;
    if (session_) {
      try {
        session_->Socket().close();
      } catch (const Poco::Exception&) {
        // Already closed by the peer.
      }
    }
    session_.reset();
    return status;
  }

  // The one mapping from Poco's exceptions to our codes.
  Status Map(const Poco::Exception& e, const std::string& step) const {
    const std::string where = options_.host + ":" + std::to_string(options_.port) + " (" + step +
                              "): " + model::Printable(e.displayText(), 300);
    if (dynamic_cast<const Poco::TimeoutException*>(&e) != nullptr) {
      return Status(StatusCode::kTimeout, "smtp_timeout", "timed out talking to " + where);
    }
    if (dynamic_cast<const Poco::Net::CertificateValidationException*>(&e) != nullptr ||
        dynamic_cast<const Poco::Net::SSLException*>(&e) != nullptr) {
      return Status(StatusCode::kFailedPrecondition, "tls_failed", "TLS with " + where);
    }
    if (const auto* smtp = dynamic_cast<const Poco::Net::SMTPException*>(&e)) {
      if (step == "AUTH") {
        return Status(StatusCode::kUnauthenticated, "smtp_auth_failed",
                      "authentication failed at " + options_.host + ":" +
                          std::to_string(options_.port) + " (" + std::to_string(smtp->code()) +
                          "); check alerts.smtp.username and password_file");
      }
      return Status(StatusCode::kUnavailable, "smtp_error", "SMTP error from " + where);
    }
    if (dynamic_cast<const Poco::Net::HostNotFoundException*>(&e) != nullptr ||
        dynamic_cast<const Poco::Net::NoAddressFoundException*>(&e) != nullptr) {
      return Status(StatusCode::kUnavailable, "smtp_host_not_found", "cannot resolve " + where);
    }
    return Status(StatusCode::kUnavailable, "smtp_unavailable", "cannot talk to " + where);
  }

  SmtpOptions options_;
  Poco::Logger& log_;
  Poco::Net::Context::Ptr context_;
  std::unique_ptr<Session> session_;
  bool usable_ = false;
};

}  // namespace

Result<std::unique_ptr<MailTransport>> MakeSmtpTransport(const SmtpOptions& options) {
  if (options.host.empty()) return Status::InvalidInput("bad_option", "alerts.smtp.host is empty");
  if (options.port < 1 || options.port > 65535) {
    return Status::InvalidInput("bad_option", "alerts.smtp.port is out of range");
  }
  if (!options.username.empty() && options.password.empty()) {
    return Status::InvalidInput("bad_option", "an SMTP username needs a password");
  }
  if (options.timeout < 1) return Status::InvalidInput("bad_option", "alerts.smtp.timeout < 1s");
  return std::unique_ptr<MailTransport>(new SmtpTransport(options));
}

}  // namespace dmarcwatch::alerts
