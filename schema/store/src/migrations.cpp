#include "migrations.h"

#include <algorithm>
#include <charconv>
#include <optional>

#include "dmarcwatch/model/check.h"

namespace dmarcwatch::store {

std::optional<int> MigrationVersion(std::string_view name) {
  const std::size_t slash = name.find_last_of('/');
  if (slash != std::string_view::npos) name.remove_prefix(slash + 1);
  const std::size_t underscore = name.find('_');
  if (underscore == 0 || underscore == std::string_view::npos || !name.ends_with(".sql")) {
    return std::nullopt;
  }
  int version = 0;
  const char* first = name.data();
  const char* last = name.data() + underscore;
  const auto [end, ec] = std::from_chars(first, last, version);
  if (ec != std::errc() || end != last || version <= 0) return std::nullopt;
  return version;
}

std::vector<Migration> EmbeddedMigrations() {
  std::vector<Migration> out;
  for (const EmbeddedFile& file : migrations::Files()) {
    const std::optional<int> version = MigrationVersion(file.path);
    DMARC_CHECK(version.has_value());
    std::string name(file.path);
    const std::size_t slash = name.find_last_of('/');
    if (slash != std::string::npos) name.erase(0, slash + 1);
    out.push_back(Migration{*version, std::move(name), file.bytes});
  }
  std::sort(out.begin(), out.end(),
            [](const Migration& a, const Migration& b) { return a.version < b.version; });
  for (std::size_t i = 1; i < out.size(); ++i) {
    DMARC_CHECK(out[i - 1].version != out[i].version);
  }
  return out;
}

}  // namespace dmarcwatch::store
