#pragma once
// The provider catalog: what dmarcwatch knows about the services that send
// mail for organisations (ESPs, mailbox providers, CRM and helpdesk
// senders, security gateways): their SPF includes, the DKIM domains they
// sign with by default, their bounce (return-path) domains, whether a
// custom return-path is possible, their PTR domains, the platform they run
// on, and how to set up aligned DKIM. Each entry carries its sources and the
// date its facts were checked.
//
// The catalog is a data file (analysis/data/providers.toml) compiled into
// the binary; Catalog::Builtin() parses it once. Lookups match domains on
// label boundaries (a.b.example.com is under example.com; badexample.com is
// not) and the longest match wins, so "spf.em.secureserver.net" can belong to
// a different entry than "secureserver.net".
//
// Immutable after construction; safe to share between threads.

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dmarcwatch/model/status.h"

namespace dmarcwatch::analysis {

enum class ProviderType {
  kTransactional,   // transactional ESP
  kMarketing,       // marketing ESP / automation
  kMailbox,         // mailbox provider (Microsoft 365, Google Workspace, Fastmail)
  kCrm,             // CRM, helpdesk, customer messaging
  kGateway,         // security gateway / outbound relay
  kSaas,            // other SaaS that sends notifications
  kHosting,         // web host mail
  kUnknown,
};
const char* ToString(ProviderType type);

// Whether the envelope (MAIL FROM) domain can be the customer's, so SPF can
// align. kNo means DKIM is the only way to align (DKIM-only provider).
enum class CustomReturnPath { kYes, kPartial, kNo, kNotApplicable, kUnknown };
const char* ToString(CustomReturnPath value);

struct Provider {
  std::string id;            // stable, lower-case: "sendgrid", "amazon-ses"
  std::string name;          // "SendGrid"
  ProviderType type = ProviderType::kUnknown;
  std::vector<std::string> spf_includes;          // "sendgrid.net"
  // d= domains it signs with by default. "*.onmicrosoft.com" means any
  // subdomain of onmicrosoft.com; a plain domain also matches its subdomains.
  std::vector<std::string> dkim_domains;
  std::string dkim_setup;    // how to make it sign aligned: the records to publish
  std::vector<std::string> return_path_domains;   // default envelope (bounce) domains
  CustomReturnPath custom_return_path = CustomReturnPath::kUnknown;
  std::string return_path_setup;  // how to set a custom return-path / MAIL FROM
  std::vector<std::string> ptr_domains;           // reverse-DNS names of its sending IPs
  std::vector<std::string> via;                   // ids of the platforms it runs on
  std::vector<std::string> sources;               // where the facts come from
  std::string checked;       // "YYYY-MM-DD": when the facts were last checked
  std::string notes;         // pitfalls worth telling an admin

  // DKIM-only: no custom return-path, so unaligned SPF is expected.
  bool dkim_only() const { return custom_return_path == CustomReturnPath::kNo; }
};

class Catalog {
 public:
  // Parses a catalog file (the format is described at the top of
  // analysis/data/providers.toml). Rejects, with kInvalidInput, a TOML syntax
  // error, a missing id/name/type, an unknown key, an unknown type or
  // custom_return_path word, a malformed id, domain or date, a duplicate id
  // and a `via` naming no entry; the message names the entry (id, or its
  // position), the key and the line. Never throws.
  static Result<Catalog> Parse(std::string_view toml_text);
  // The catalog compiled into the binary, parsed on first use (thread-safe).
  // It is validated by the unit tests; should it ever fail to parse, that is
  // a bug and DMARC_CHECK aborts.
  static const Catalog& Builtin();

  // In file order.
  const std::vector<Provider>& providers() const { return providers_; }
  const Provider* ById(std::string_view id) const;

  // The lookups below return the provider whose pattern in the named list
  // covers the domain (see DomainMatches), or nullptr. Across all providers
  // the most specific pattern wins: the one covering the most labels, and
  // "*.x" before "x"; a tie goes to the provider that comes first in the
  // file. The domain may have any case and a trailing dot. Each lookup costs
  // at most one hash lookup per label of the longest pattern and does not
  // allocate.
  //
  // The provider whose default DKIM domains cover `dkim_domain`.
  const Provider* ByDkimDomain(std::string_view dkim_domain) const;
  // The provider whose default return-path domains cover `envelope_domain`.
  const Provider* ByReturnPathDomain(std::string_view envelope_domain) const;
  // The provider whose PTR domains cover `hostname`.
  const Provider* ByPtr(std::string_view hostname) const;
  // The provider one of whose SPF includes is `include_domain`, or covers it
  // (a nested include such as ab.sendgrid.net, or a per-customer include
  // under a provider's zone).
  const Provider* BySpfInclude(std::string_view include_domain) const;

 private:
  // Pattern maps built by Parse (defined in catalog.cpp). They hold
  // positions in providers_, not pointers, so a copied or moved Catalog
  // stays valid; shared because they never change after Parse.
  struct Indexes;

  std::vector<Provider> providers_;
  std::shared_ptr<const Indexes> indexes_;
};

// True when `domain` equals `pattern` or is under it on a label boundary.
// A leading "*." in the pattern requires at least one more label. ASCII case
// and one trailing dot on either side are ignored.
bool DomainMatches(std::string_view domain, std::string_view pattern);

}  // namespace dmarcwatch::analysis
