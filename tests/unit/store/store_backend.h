#pragma once
// The backend the store tests run against. The same test sources build two
// binaries: store_test (SQLite, label unit, no server) and store_pg_test
// (compiled with DMARC_TEST_POSTGRES: a real PostgreSQL started once for the
// binary, tests/integration/postgres_server.h, label integration).
//
// A test names its database through these helpers rather than spelling
// ":memory:" or a file:
//   FreshDatabase()          ":memory:", or a new PostgreSQL database
//   DatabaseIn(dir, name)    a file in dir, or a new PostgreSQL database;
//                            the same string opens the same data again
//   OtherConnection(db)      a second Poco::Data connection to it, standing
//                            for another program
// Tests about SQLite itself (WAL files, file permissions, its write lock)
// carry *SqliteOnly(); the PostgreSQL binary reports them as skipped, and
// the SQLite binary those with *PostgresOnly() (advisory locks).

#include <Poco/Data/SQLite/Connector.h>
#include <Poco/Data/Session.h>

#include <boost/test/unit_test.hpp>
#include <string>

#ifdef DMARC_TEST_POSTGRES
#include "postgres_server.h"
#endif

namespace dmarcwatch::testing {

#ifdef DMARC_TEST_POSTGRES
inline constexpr bool kOnPostgres = true;
#else
inline constexpr bool kOnPostgres = false;
#endif

inline auto SqliteOnly() { return boost::unit_test::enable_if<!kOnPostgres>(); }
inline auto PostgresOnly() { return boost::unit_test::enable_if<kOnPostgres>(); }

#ifdef DMARC_TEST_POSTGRES
// The shared server; a test that needs it fails (never passes) without it.
inline PostgresServer& Server() {
  PostgresServer& server = PostgresServer::Shared();
  BOOST_REQUIRE_MESSAGE(server.ok(), "no PostgreSQL server for the store tests: " + server.error());
  return server;
}
#endif

inline std::string FreshDatabase() {
#ifdef DMARC_TEST_POSTGRES
  return Server().CreateDatabase();
#else
  return ":memory:";
#endif
}

template <typename Dir>
std::string DatabaseIn(const Dir& dir, const std::string& name) {
#ifdef DMARC_TEST_POSTGRES
  (void)dir;
  (void)name;
  return Server().CreateDatabase();
#else
  return dir.File(name);
#endif
}

inline Poco::Data::Session OtherConnection(const std::string& database) {
#ifdef DMARC_TEST_POSTGRES
  const std::string::size_type slash = database.rfind('/');
  return Server().Connect(database.substr(slash + 1));
#else
  Poco::Data::SQLite::Connector::registerConnector();
  return Poco::Data::Session("SQLite", database);
#endif
}

}  // namespace dmarcwatch::testing
