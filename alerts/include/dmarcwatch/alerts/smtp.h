#pragma once
// The SMTP transport of the outbox, over Poco::Net's SMTPClientSession
// (NetSSL for TLS).
//
//   - tls = kStartTls: connect, EHLO, STARTTLS (required: a server that does
//     not offer it is an error, never a silent fall back to plain text),
//     EHLO again; kImplicit: TLS from the first byte (port 465); kNone: plain
//     text (the configuration allows it for loopback hosts only).
//   - The certificate is verified against ca_file (or the system's CAs),
//     and so is the host name, loopback included.
//   - AUTH PLAIN, else AUTH LOGIN, when a username is set; only after TLS
//     unless tls is kNone.
//   - Every step (connect, handshake, each command and reply) has the
//     timeout; a session sends at most the messages of one Deliver().
//
// Poco exceptions stop here: each maps to a Status (retryable for network,
// TLS and 4xx replies; kInvalidInput "smtp_refused" for a 5xx reply to RCPT
// or to the data). The password is never logged.

#include <memory>

#include "dmarcwatch/alerts/options.h"
#include "dmarcwatch/alerts/outbox.h"
#include "dmarcwatch/model/status.h"

namespace dmarcwatch::alerts {

// kInvalidInput for options that cannot work (no host, a port out of
// range, a username without a password).
Result<std::unique_ptr<MailTransport>> MakeSmtpTransport(const SmtpOptions& options);

}  // namespace dmarcwatch::alerts
