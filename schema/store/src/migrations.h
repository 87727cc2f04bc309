#pragma once
// The numbered migrations in schema/sql, compiled into the binary by
// dmarcwatch_embed() (cmake/Embed.cmake), and the rules for their names:
// "NNNN_words.sql", where NNNN is the schema version the file brings the
// database to. Applying them needs a session and lives in store.cpp.

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "dmarcwatch/model/embedded_file.h"

namespace dmarcwatch::store::migrations {

// Generated into <build>/schema/store/dmarcwatch_store_embedded.cpp.
std::span<const dmarcwatch::EmbeddedFile> Files();

}  // namespace dmarcwatch::store::migrations

namespace dmarcwatch::store {

struct Migration {
  int version = 0;
  std::string name;      // "0001_initial.sql"
  std::string_view sql;  // points into the embedded bytes
};

// The version a migration's name announces: "0001_initial.sql" -> 1.
// Nothing for a name not of the form "<digits>_<anything>.sql".
std::optional<int> MigrationVersion(std::string_view name);

// The embedded migrations, ordered by version. A misnamed file or two
// files with one version is a build mistake and fails DMARC_CHECK.
std::vector<Migration> EmbeddedMigrations();

}  // namespace dmarcwatch::store
