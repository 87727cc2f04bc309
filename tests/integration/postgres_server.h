#pragma once
// A real PostgreSQL for tests: the server of Debian's `postgresql` package
// (/usr/lib/postgresql/<major>/bin), initialised in a fresh temporary
// directory and listening on 127.0.0.1 at a free port, with its unix socket
// in that directory. One server per test binary (Shared()); each test asks
// CreateDatabase() for a database of its own.
//
// initdb and postgres refuse to run as root. When the test runs as root
// the directory is handed to the `postgres` account (which the package
// creates; `nobody` otherwise) and both programs run under it: the child
// drops its groups, gid and uid before exec. The server dies with the test
// (PR_SET_PDEATHSIG, set after the uid change, which would clear it) and is
// stopped by the destructor, which also removes the directory.
//
// Connections use a password (scram-sha-256 over TCP), so the URIs handed
// out carry one, as a deployment's would: postgresql://user:pass@host:port/db.
//
// Not thread-safe: start and create databases from the test's main thread.

#include <Poco/Data/PostgreSQL/Connector.h>
#include <Poco/Data/Session.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "child_process.h"

namespace dmarcwatch::testing {

class PostgresServer {
  using Clock = std::chrono::steady_clock;

 public:
  static constexpr const char* kUser = "dmarcwatch";
  static constexpr const char* kPassword = "test-secret";

  PostgresServer() = default;
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;
  ~PostgresServer() {
    Stop();
    RemoveFiles();
  }

  // The server of this test binary, started at the first call.
  static PostgresServer& Shared() {
    static PostgresServer server;
    if (!server.started_) server.Start();
    return server;
  }

  bool ok() const { return pid_ > 0 && error_.empty(); }
  const std::string& error() const { return error_; }
  int port() const { return port_; }

  // postgresql://user:password@127.0.0.1:port/name
  std::string Uri(const std::string& database) const {
    return std::string("postgresql://") + kUser + ":" + kPassword + "@127.0.0.1:" +
           std::to_string(port_) + "/" + database;
  }
  // The same as Poco's connector takes it (key=value pairs).
  std::string ConnectionString(const std::string& database) const {
    return std::string("host=127.0.0.1 port=") + std::to_string(port_) + " user=" + kUser +
           " password=" + kPassword + " dbname=" + database;
  }
  Poco::Data::Session Connect(const std::string& database) const {
    Poco::Data::PostgreSQL::Connector::registerConnector();
    return Poco::Data::Session("PostgreSQL", ConnectionString(database));
  }

  // A new, empty database; returns its URI. Throws (a Poco exception) when
  // the server refuses, which fails the test that asked.
  std::string CreateDatabase() {
    const std::string name = "t" + std::to_string(::getpid()) + "_" + std::to_string(++databases_);
    Poco::Data::Session admin = Connect("postgres");
    admin << "CREATE DATABASE " + name, Poco::Data::Keywords::now;
    return Uri(name);
  }

  // The directory of the first Debian PostgreSQL server found (the newest
  // major version), or "" when the package is not installed.
  static std::string FindBinDir() {
    namespace fs = std::filesystem;
    std::string best;
    int best_major = -1;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql", ec)) {
      const std::string major = entry.path().filename().string();
      const std::string bin = (entry.path() / "bin").string();
      if (::access((bin + "/postgres").c_str(), X_OK) != 0 ||
          ::access((bin + "/initdb").c_str(), X_OK) != 0) {
        continue;
      }
      const int n = std::atoi(major.c_str());
      if (n > best_major) {
        best_major = n;
        best = bin;
      }
    }
    return best;
  }

  void Start() {
    started_ = true;
    bin_ = FindBinDir();
    if (bin_.empty()) {
      error_ =
          "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/postgres): install the "
          "Debian package `postgresql` (scripts/install-deps.sh test) to run the PostgreSQL tests";
      return;
    }
    if (!ChooseAccount()) return;
    char dir_template[] = "/tmp/dmarcwatch-pg-test-XXXXXX";
    if (::mkdtemp(dir_template) == nullptr) {
      error_ = "cannot create a temporary directory";
      return;
    }
    dir_ = dir_template;
    if (::chown(dir_.c_str(), uid_, gid_) != 0) {
      error_ = "cannot hand " + dir_ + " to uid " + std::to_string(uid_);
      return;
    }
    {
      std::ofstream pw(dir_ + "/pwfile");
      pw << kPassword << "\n";
    }
    if (::chown((dir_ + "/pwfile").c_str(), uid_, gid_) != 0) {
      error_ = "cannot hand the password file to uid " + std::to_string(uid_);
      return;
    }
    const int initdb_status =
        RunAndWait({bin_ + "/initdb", "-D", dir_ + "/data", "-U", kUser, "--pwfile=" + dir_ + "/pwfile",
                    "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8",
                    "--locale=C.UTF-8", "--no-sync"},
                   dir_ + "/initdb.log");
    if (initdb_status != 0) {
      error_ = "initdb failed (exit " + std::to_string(initdb_status) + "): " + Tail("initdb.log");
      return;
    }
    // A port can be taken between FreePort() and the server's bind.
    for (int attempt = 0; attempt < 3; ++attempt) {
      port_ = FreeTcpPort();
      if (port_ <= 0) {
        error_ = "no free port on 127.0.0.1";
        return;
      }
      error_.clear();
      if (Launch() && WaitUntilReady()) return;
      Stop();
    }
    if (error_.empty()) error_ = "postgres did not start: " + Tail("postgres.log");
  }

  // SIGINT is PostgreSQL's fast shutdown (roll back sessions, then exit);
  // SIGQUIT its immediate one.
  void Stop() { StopProcess(pid_, SIGINT, std::chrono::seconds(15), SIGQUIT); }

  void RemoveFiles() {
    if (dir_.empty()) return;
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
    dir_.clear();
  }

  // The last lines of a log in the server's directory, for a failure message.
  std::string Tail(const std::string& name) const {
    std::ifstream in(dir_ + "/" + name);
    std::stringstream all;
    all << in.rdbuf();
    std::string text = all.str();
    if (text.size() > 2000) text = text.substr(text.size() - 2000);
    return text;
  }

 private:
  bool ChooseAccount() {
    if (::geteuid() != 0) {
      uid_ = ::geteuid();
      gid_ = ::getegid();
      drop_ = false;
      return true;
    }
    for (const char* name : {"postgres", "nobody"}) {
      if (const passwd* pw = ::getpwnam(name); pw != nullptr) {
        uid_ = pw->pw_uid;
        gid_ = pw->pw_gid;
        drop_ = true;
        return true;
      }
    }
    error_ = "running as root, and there is neither a `postgres` nor a `nobody` account to run "
             "PostgreSQL as";
    return false;
  }

  static int FreeTcpPort() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    int port = -1;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      port = ntohs(addr.sin_port);
    }
    ::close(fd);
    return port;
  }

  pid_t Spawn(const std::vector<std::string>& args, const std::string& log, bool die_with_parent) {
    SpawnOptions options(log, die_with_parent ? SIGQUIT : 0);
    options.directory = dir_;
    if (drop_) options.run_as = std::make_pair(uid_, gid_);
    return testing::Spawn(args, options);
  }

  int RunAndWait(const std::vector<std::string>& args, const std::string& log) {
    const pid_t pid = Spawn(args, log, false);
    if (pid < 0) return -1;
    int status = 0;
    ::waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

  bool Launch() {
    // Durability is not under test: fsync off makes each CREATE DATABASE
    // and commit cheap. max_connections covers several processes with a
    // few stores each.
    pid_ = Spawn({bin_ + "/postgres", "-D", dir_ + "/data", "-h", "127.0.0.1", "-p",
                  std::to_string(port_), "-k", dir_, "-c", "fsync=off", "-c",
                  "synchronous_commit=off", "-c", "full_page_writes=off", "-c",
                  "max_connections=200", "-c", "log_min_messages=warning"},
                 dir_ + "/postgres.log", true);
    if (pid_ < 0) {
      error_ = "cannot start postgres";
      return false;
    }
    return true;
  }

  bool WaitUntilReady() {
    const Clock::time_point give_up = Clock::now() + std::chrono::seconds(30);
    while (Clock::now() < give_up) {
      if (Exited(pid_)) {
        error_ = "postgres exited at start: " + Tail("postgres.log");
        return false;
      }
      try {
        Poco::Data::Session probe = Connect("postgres");
        int one = 0;
        probe << "SELECT 1", Poco::Data::Keywords::into(one), Poco::Data::Keywords::now;
        if (one == 1) return true;
      } catch (const std::exception&) {
        // not accepting connections yet
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    error_ = "postgres did not accept connections within 30 s: " + Tail("postgres.log");
    return false;
  }

  bool started_ = false;
  std::string bin_;
  std::string dir_;
  uid_t uid_ = 0;
  gid_t gid_ = 0;
  bool drop_ = false;
  int port_ = -1;
  pid_t pid_ = -1;
  int databases_ = 0;
  std::string error_;
};

}  // namespace dmarcwatch::testing
