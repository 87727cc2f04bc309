#pragma once
// Small formatting helpers shared by the rules and the messages. Private to
// the alerts module.

#include <cstdint>
#include <string>

#include "dmarcwatch/model/time.h"

namespace dmarcwatch::alerts::internal {

// 1234567 -> "1,234,567".
inline std::string Grouped(std::uint64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  const std::size_t first = digits.size() % 3 == 0 ? 3 : digits.size() % 3;
  out = digits.substr(0, first);
  for (std::size_t i = first; i < digits.size(); i += 3) out += "," + digits.substr(i, 3);
  return out;
}

// 12.345 -> "12.3%". Rounds half away from zero to one decimal.
inline std::string PercentText(double percent) {
  const long tenths = static_cast<long>(percent * 10.0 + (percent < 0 ? -0.5 : 0.5));
  const long whole = tenths / 10;
  const long frac = tenths % 10 < 0 ? -(tenths % 10) : tenths % 10;
  return std::to_string(whole) + "." + std::to_string(frac) + "%";
}

// part / total as a percentage; 0 when total is 0.
inline double Rate(std::uint64_t part, std::uint64_t total) {
  if (total == 0) return 0;
  return 100.0 * static_cast<double>(part) / static_cast<double>(total);
}

inline std::string Plural(std::uint64_t n, const char* one, const char* many) {
  return Grouped(n) + " " + (n == 1 ? one : many);
}

// DayNumber -> "2026-10-31".
inline std::string DayText(std::int64_t day) { return model::FormatDate(day * 86400); }

inline model::UnixTime DayStart(std::int64_t day) { return day * 86400; }

// A number of seconds as "3 days", "12 hours", "30 minutes".
inline std::string SpanText(std::int64_t seconds) {
  if (seconds >= 86400 && seconds % 86400 == 0) {
    return Plural(static_cast<std::uint64_t>(seconds / 86400), "day", "days");
  }
  if (seconds >= 3600 && seconds % 3600 == 0) {
    return Plural(static_cast<std::uint64_t>(seconds / 3600), "hour", "hours");
  }
  if (seconds >= 60 && seconds % 60 == 0) {
    return Plural(static_cast<std::uint64_t>(seconds / 60), "minute", "minutes");
  }
  return Plural(static_cast<std::uint64_t>(seconds < 0 ? 0 : seconds), "second", "seconds");
}

}  // namespace dmarcwatch::alerts::internal
