#pragma once
// JSON forms of the analysis results, shared by the HTTP API and the
// command line (`paths --format json`), so both speak the same version 1
// (docs/api.md, docs/cli.md).

#include <Poco/Dynamic/Var.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>

#include <optional>
#include <string>
#include <vector>

#include "dmarcwatch/analysis/diagnosis.h"
#include "dmarcwatch/analysis/domain_report.h"
#include "dmarcwatch/model/analysis.h"

namespace dmarcwatch::web {

// "YYYY-MM-DD" of a DayNumber.
std::string DayText(std::int64_t day);
// null for an empty string.
Poco::Dynamic::Var OrNull(const std::string& s);
// "2026-11-28T10:00:00Z", or null when absent.
Poco::Dynamic::Var TimeOrNull(const std::optional<model::UnixTime>& t);
Poco::JSON::Array::Ptr StringArray(const std::vector<std::string>& values);

Poco::JSON::Object::Ptr CountsJson(const model::Counts& c);
Poco::JSON::Object::Ptr FindingJson(const analysis::Finding& f);
// The Path object of docs/api.md.
Poco::JSON::Object::Ptr PathJson(const analysis::PathReport& p);
// The whole of `dmarcwatch paths --format json`, version 1.
Poco::JSON::Object::Ptr PathsDocument(const analysis::DomainReport& report);

// Compact text of a JSON value.
std::string ToText(const Poco::JSON::Object::Ptr& object);

}  // namespace dmarcwatch::web
