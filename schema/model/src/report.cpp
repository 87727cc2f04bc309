#include "dmarcwatch/model/report.h"

namespace dmarcwatch::model {

std::uint64_t Report::MessageCount() const {
  std::uint64_t total = 0;
  for (const Record& r : records) total = SaturatingAdd(total, r.count);
  return total;
}

const char* ToString(Disposition v) {
  switch (v) {
    case Disposition::kNone: return "none";
    case Disposition::kQuarantine: return "quarantine";
    case Disposition::kReject: return "reject";
    case Disposition::kUnknown: break;
  }
  return "unknown";
}

const char* ToString(AppliedDisposition v) {
  switch (v) {
    case AppliedDisposition::kNone: return "none";
    case AppliedDisposition::kPass: return "pass";
    case AppliedDisposition::kQuarantine: return "quarantine";
    case AppliedDisposition::kReject: return "reject";
    case AppliedDisposition::kUnknown: break;
  }
  return "unknown";
}

const char* ToString(Alignment v) {
  switch (v) {
    case Alignment::kRelaxed: return "r";
    case Alignment::kStrict: return "s";
    case Alignment::kUnknown: break;
  }
  return "unknown";
}

const char* ToString(DmarcResult v) {
  switch (v) {
    case DmarcResult::kPass: return "pass";
    case DmarcResult::kFail: return "fail";
    case DmarcResult::kUnknown: break;
  }
  return "unknown";
}

const char* ToString(DkimResult v) {
  switch (v) {
    case DkimResult::kNone: return "none";
    case DkimResult::kPass: return "pass";
    case DkimResult::kFail: return "fail";
    case DkimResult::kPolicy: return "policy";
    case DkimResult::kNeutral: return "neutral";
    case DkimResult::kTempError: return "temperror";
    case DkimResult::kPermError: return "permerror";
    case DkimResult::kUnknown: break;
  }
  return "unknown";
}

const char* ToString(SpfResult v) {
  switch (v) {
    case SpfResult::kNone: return "none";
    case SpfResult::kNeutral: return "neutral";
    case SpfResult::kPass: return "pass";
    case SpfResult::kFail: return "fail";
    case SpfResult::kSoftFail: return "softfail";
    case SpfResult::kTempError: return "temperror";
    case SpfResult::kPermError: return "permerror";
    case SpfResult::kUnknown: break;
  }
  return "unknown";
}

const char* ToString(SpfScope v) {
  switch (v) {
    case SpfScope::kHelo: return "helo";
    case SpfScope::kMfrom: return "mfrom";
    case SpfScope::kUnspecified: return "";
    case SpfScope::kUnknown: break;
  }
  return "unknown";
}

const char* ToString(PolicyOverride v) {
  switch (v) {
    case PolicyOverride::kForwarded: return "forwarded";
    case PolicyOverride::kSampledOut: return "sampled_out";
    case PolicyOverride::kTrustedForwarder: return "trusted_forwarder";
    case PolicyOverride::kMailingList: return "mailing_list";
    case PolicyOverride::kLocalPolicy: return "local_policy";
    case PolicyOverride::kPolicyTestMode: return "policy_test_mode";
    case PolicyOverride::kOther: return "other";
    case PolicyOverride::kUnknown: break;
  }
  return "unknown";
}

const char* ToString(Testing v) {
  switch (v) {
    case Testing::kNo: return "n";
    case Testing::kYes: return "y";
    case Testing::kUnknown: break;
  }
  return "unknown";
}

const char* ToString(DiscoveryMethod v) {
  switch (v) {
    case DiscoveryMethod::kPsl: return "psl";
    case DiscoveryMethod::kTreewalk: return "treewalk";
    case DiscoveryMethod::kUnknown: break;
  }
  return "unknown";
}

}  // namespace dmarcwatch::model
