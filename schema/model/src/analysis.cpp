#include "dmarcwatch/model/analysis.h"

namespace dmarcwatch::model {

const char* ToString(PathKind kind) {
  switch (kind) {
    case PathKind::kDirect: return "direct";
    case PathKind::kSmarthost: return "smarthost";
    case PathKind::kUndeclared: return "undeclared";
    case PathKind::kForwarder: return "forwarder";
    case PathKind::kUnknown: break;
  }
  return "unknown";
}

PathKind PathKindFromString(std::string_view word) {
  if (word == "direct") return PathKind::kDirect;
  if (word == "smarthost") return PathKind::kSmarthost;
  if (word == "undeclared") return PathKind::kUndeclared;
  if (word == "forwarder") return PathKind::kForwarder;
  return PathKind::kUnknown;
}

void Counts::Add(const Counts& o) {
  messages = SaturatingAdd(messages, o.messages);
  dmarc_pass = SaturatingAdd(dmarc_pass, o.dmarc_pass);
  spf_aligned = SaturatingAdd(spf_aligned, o.spf_aligned);
  dkim_aligned = SaturatingAdd(dkim_aligned, o.dkim_aligned);
  disagreements = SaturatingAdd(disagreements, o.disagreements);
  quarantined = SaturatingAdd(quarantined, o.quarantined);
  rejected = SaturatingAdd(rejected, o.rejected);
  rows = SaturatingAdd(rows, o.rows);
}

const std::shared_ptr<const AuthSignature>& EmptySignature() {
  static const std::shared_ptr<const AuthSignature> empty = std::make_shared<AuthSignature>();
  return empty;
}

}  // namespace dmarcwatch::model
