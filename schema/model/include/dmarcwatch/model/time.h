#pragma once
// UTC time helpers on UnixTime (seconds). No time zones, no locale, no
// clock: the current time is always a parameter (STYLE.md), so analysis and
// tests can say "as of" any moment.

#include <optional>
#include <string>
#include <string_view>

#include "dmarcwatch/model/report.h"

namespace dmarcwatch::model {

// "2024-06-13T00:00:00Z".
std::string FormatIso8601(UnixTime t);
// "2024-06-13".
std::string FormatDate(UnixTime t);
// Days since 1970-01-01 for the UTC day holding t (floor, also for t < 0).
std::int64_t DayNumber(UnixTime t);

// Parses "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM:SSZ" as UTC.
std::optional<UnixTime> ParseIsoTime(std::string_view text);
// Parses a moment for command-line filters: an ISO date/time as above, or a
// span back from `now` such as "30d", "12h", "2w".
std::optional<UnixTime> ParseSince(std::string_view text, UnixTime now);
// Parses a duration such as "15m", "30s", "2h", "7d", "1w" into seconds.
std::optional<std::int64_t> ParseDuration(std::string_view text);

}  // namespace dmarcwatch::model
