#include "dmarcwatch/web/json.h"

#include <sstream>

#include "dmarcwatch/model/time.h"

namespace dmarcwatch::web {

using Poco::JSON::Array;
using Poco::JSON::Object;

std::string DayText(std::int64_t day) { return model::FormatDate(day * 86400); }

Poco::Dynamic::Var OrNull(const std::string& s) {
  return s.empty() ? Poco::Dynamic::Var() : Poco::Dynamic::Var(s);
}

Poco::Dynamic::Var TimeOrNull(const std::optional<model::UnixTime>& t) {
  return t ? Poco::Dynamic::Var(model::FormatIso8601(*t)) : Poco::Dynamic::Var();
}

Array::Ptr StringArray(const std::vector<std::string>& values) {
  Array::Ptr a = new Array;
  for (const std::string& v : values) a->add(v);
  return a;
}

Object::Ptr CountsJson(const model::Counts& c) {
  Object::Ptr o = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
  o->set("messages", c.messages);
  o->set("dmarc_pass", c.dmarc_pass);
  o->set("spf_aligned", c.spf_aligned);
  o->set("dkim_aligned", c.dkim_aligned);
  o->set("disagreements", c.disagreements);
  o->set("quarantined", c.quarantined);
  o->set("rejected", c.rejected);
  o->set("rows", c.rows);
  return o;
}

Object::Ptr FindingJson(const analysis::Finding& f) {
  Object::Ptr o = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
  o->set("code", f.code);
  o->set("severity", std::string(analysis::ToString(f.severity)));
  o->set("path", OrNull(f.path_key));
  o->set("title", f.title);
  o->set("messages", f.messages);
  o->set("sources", f.sources);
  o->set("advice", f.advice);
  Object::Ptr e = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
  e->set("ips", StringArray(f.evidence.ips));
  e->set("header_from", StringArray(f.evidence.header_from));
  e->set("envelope_domains", StringArray(f.evidence.envelope_domains));
  e->set("dkim", StringArray(f.evidence.dkim));
  e->set("spf", StringArray(f.evidence.spf));
  e->set("notes", StringArray(f.evidence.notes));
  o->set("evidence", e);
  return o;
}

Object::Ptr PathJson(const analysis::PathReport& p) {
  const model::PathTotals& t = p.totals;
  Object::Ptr o = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
  o->set("key", t.path.key);
  o->set("kind", std::string(model::ToString(t.path.kind)));
  o->set("name", OrNull(t.path.name));
  o->set("provider", OrNull(t.path.provider));
  o->set("declared", p.declared);
  o->set("counts", CountsJson(t.counts));
  o->set("sources", t.sources);
  o->set("reporters", t.reporters);
  const analysis::Finding* top = p.top();
  o->set("top_finding", top != nullptr ? Poco::Dynamic::Var(FindingJson(*top)) : Poco::Dynamic::Var());
  return o;
}

Object::Ptr PathsDocument(const analysis::DomainReport& report) {
  Object::Ptr root = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
  root->set("version", 1);
  root->set("domain", report.domain);
  root->set("from", DayText(report.from_day));
  root->set("to", DayText(report.to_day));
  root->set("policy", report.policy ? Poco::Dynamic::Var(std::string(model::ToString(report.policy->p)))
                                    : Poco::Dynamic::Var());
  Array::Ptr paths = new Array;
  for (const analysis::PathReport& p : report.paths) {
    const model::PathTotals& t = p.totals;
    Object::Ptr o = new Object(Poco::JSON_PRESERVE_KEY_ORDER);
    o->set("kind", std::string(model::ToString(t.path.kind)));
    o->set("name", OrNull(t.path.name));
    o->set("provider", OrNull(t.path.provider));
    o->set("key", t.path.key);
    o->set("messages", t.counts.messages);
    o->set("dmarc_pass", t.counts.dmarc_pass);
    o->set("spf_aligned", t.counts.spf_aligned);
    o->set("dkim_aligned", t.counts.dkim_aligned);
    o->set("disagreements", t.counts.disagreements);
    o->set("sources", t.sources);
    o->set("reporters", t.reporters);
    Array::Ptr findings = new Array;
    for (const analysis::Finding& f : p.findings) findings->add(FindingJson(f));
    o->set("findings", findings);
    paths->add(o);
  }
  root->set("paths", paths);
  Array::Ptr domain_findings = new Array;
  for (const analysis::Finding& f : report.domain_findings) domain_findings->add(FindingJson(f));
  root->set("findings", domain_findings);
  return root;
}

std::string ToText(const Object::Ptr& object) {
  std::ostringstream out;
  object->stringify(out);
  return out.str();
}

}  // namespace dmarcwatch::web
