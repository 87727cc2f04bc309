#pragma once
// A real IMAP server for tests: Dovecot (Debian package `dovecot-imapd`,
// /usr/sbin/dovecot), started in the foreground (`dovecot -F -c CONF`) on
// 127.0.0.1 with two free ports (plain/STARTTLS and implicit TLS), a
// configuration generated into a temporary directory, and nothing written
// outside it: base_dir, state_dir, the log, the certificates and every
// user's Maildir live there. The process dies with the test
// (PR_SET_PDEATHSIG) and is stopped by the destructor.
//
// How it runs as root without touching the system: Dovecot refuses to run
// its login processes as root and refuses mail access for UID 0, so the
// generated configuration uses users that Debian's dovecot-core package
// creates: default_login_user = dovenull, default_internal_user = dovecot,
// and mail is owned by nobody:nogroup. The temporary directory is made
// world-traversable (0755) and each user's home is owned by nobody; files a
// test writes into a Maildir are chowned to nobody. Run as another user,
// everything is that user instead (Dovecot accepts that when every user
// is the same).
//
// Users: any user name logs in with kPassword (a static passdb), so each
// test takes a fresh name and so a fresh, empty mailbox. With an
// introspection URL, XOAUTH2 and OAUTHBEARER go to Dovecot's oauth2 passdb,
// which asks that URL (RFC 7662 token introspection, POST token=...) whether
// a token is active and whose it is.
//
// Certificates: made at start with `openssl req -x509` (EC P-256): the
// server's (subjectAltName IP:127.0.0.1 and DNS:localhost, or, with
// wrong_host, DNS:imap.example.net only) and an unrelated one
// (other_ca_file) for tests that must be refused.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "child_process.h"

namespace dmarcwatch::testing {

inline constexpr const char* kDovecotPath = "/usr/sbin/dovecot";
inline constexpr const char* kDoveadmPath = "/usr/bin/doveadm";
inline constexpr const char* kDovecotPassword = "imap-test-secret";

// A TCP port free on 127.0.0.1 right now.
inline int FreeTcpPort() {
  for (int attempt = 0; attempt < 20; ++attempt) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    const bool ok = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
                    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
    close(fd);
    if (ok) return ntohs(addr.sin_port);
  }
  return -1;
}

// Runs a command through the shell; returns its exit status and output.
inline int RunShell(const std::string& command, std::string* output = nullptr) {
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return -1;
  std::string out;
  char buf[4096];
  std::size_t n;
  while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0) out.append(buf, n);
  const int status = pclose(pipe);
  if (output != nullptr) *output = out;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

struct DovecotOptions {
  // Non-empty: XOAUTH2/OAUTHBEARER logins are checked against this
  // token-introspection endpoint.
  std::string introspection_url;
  // Non-empty: replaces the capabilities Dovecot announces after login
  // (imap_capability), e.g. without MOVE to exercise the fallback.
  std::string imap_capability;
  // Serve a certificate for imap.example.net instead of 127.0.0.1.
  bool wrong_host = false;
};

class DovecotServer {
  using Clock = std::chrono::steady_clock;

 public:
  DovecotServer() = default;
  DovecotServer(const DovecotServer&) = delete;
  DovecotServer& operator=(const DovecotServer&) = delete;
  ~DovecotServer() {
    Stop();
    RemoveFiles();
  }

  bool ok() const { return pid_ > 0 && error_.empty(); }
  const std::string& error() const { return error_; }
  int imap_port() const { return imap_port_; }    // plain, STARTTLS
  int imaps_port() const { return imaps_port_; }  // implicit TLS
  const std::string& dir() const { return dir_; }
  std::string ca_file() const { return dir_ + "/server.pem"; }
  std::string other_ca_file() const { return dir_ + "/other.pem"; }
  std::string config_file() const { return dir_ + "/dovecot.conf"; }
  std::string log() const { return ReadAll(dir_ + "/dovecot.log"); }

  void Start(const DovecotOptions& options = {}) {
    if (access(kDovecotPath, X_OK) != 0) {
      error_ = std::string("dovecot is not installed (") + kDovecotPath +
               " missing): install the Debian package `dovecot-imapd` to run the IMAP "
               "integration tests";
      return;
    }
    if (!ResolveUsers()) return;
    char dir_template[] = "/tmp/dmarcwatch-imap-test-XXXXXX";
    if (mkdtemp(dir_template) == nullptr) {
      error_ = "cannot create a temporary directory";
      return;
    }
    dir_ = dir_template;
    chmod(dir_.c_str(), 0755);
    for (const char* sub : {"run", "state", "home"}) {
      std::filesystem::create_directories(dir_ + "/" + sub);
    }
    chmod((dir_ + "/home").c_str(), 0755);
    if (!MakeCertificates(options.wrong_host)) return;
    for (int attempt = 0; attempt < 3; ++attempt) {
      imap_port_ = FreeTcpPort();
      imaps_port_ = FreeTcpPort();
      if (imap_port_ <= 0 || imaps_port_ <= 0 || imap_port_ == imaps_port_) continue;
      WriteConfig(options);
      error_.clear();
      if (Launch() && WaitUntilGreeting()) return;
      Stop();
    }
    if (error_.empty()) error_ = "dovecot did not start";
  }

  void Stop() { StopProcess(pid_); }

  void RemoveFiles() {
    if (dir_.empty()) return;
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
    dir_.clear();
  }

  // A user's Maildir folder on disk: "INBOX" or a folder as the server
  // names it with its '.' delimiter ("Archive.DMARC").
  std::string FolderPath(const std::string& user, const std::string& folder = "INBOX") const {
    const std::string maildir = dir_ + "/home/" + user + "/Maildir";
    return folder == "INBOX" ? maildir : maildir + "/." + folder;
  }

  // Puts a message into a user's folder the way a delivery agent does
  // (tmp/, then renamed into new/), creating the folder when missing.
  void Deliver(const std::string& user, const std::string& folder, const std::string& bytes) {
    const std::string path = FolderPath(user, folder);
    for (const char* sub : {"cur", "new", "tmp"}) {
      std::filesystem::create_directories(path + "/" + sub);
    }
    const std::string name =
        std::to_string(std::chrono::system_clock::now().time_since_epoch().count()) + "." +
        std::to_string(delivered_++) + ".test";
    {
      std::ofstream out(path + "/tmp/" + name, std::ios::binary);
      out << bytes;
    }
    std::filesystem::rename(path + "/tmp/" + name, path + "/new/" + name);
    ChownTree(dir_ + "/home/" + user);
  }

  // The messages in a folder (new/ and cur/), as their bytes.
  std::vector<std::string> Messages(const std::string& user, const std::string& folder) const {
    std::vector<std::string> out;
    const std::string path = FolderPath(user, folder);
    for (const char* sub : {"new", "cur"}) {
      std::error_code ec;
      for (const auto& e : std::filesystem::directory_iterator(path + "/" + sub, ec)) {
        out.push_back(ReadAll(e.path().string()));
      }
    }
    return out;
  }
  // The file names in cur/ (they carry the flags: ":2,S" is \Seen).
  std::vector<std::string> CurNames(const std::string& user, const std::string& folder) const {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(FolderPath(user, folder) + "/cur", ec)) {
      out.push_back(e.path().filename().string());
    }
    return out;
  }

  // Runs doveadm against this server's configuration; returns its exit
  // status, output in `output`.
  int Doveadm(const std::string& args, std::string* output = nullptr) const {
    return RunShell(std::string(kDoveadmPath) + " -c '" + config_file() + "' " + args, output);
  }

 private:
  bool ResolveUsers() {
    if (geteuid() != 0) {
      const passwd* me = getpwuid(geteuid());
      if (me == nullptr) {
        error_ = "cannot name the current user";
        return false;
      }
      login_user_ = internal_user_ = mail_user_ = me->pw_name;
      mail_uid_ = me->pw_uid;
      mail_gid_ = me->pw_gid;
      return true;
    }
    const passwd* login = getpwnam("dovenull");
    const passwd* internal = getpwnam("dovecot");
    const passwd* nobody = getpwnam("nobody");
    if (login == nullptr || internal == nullptr || nobody == nullptr) {
      error_ =
          "the users dovenull, dovecot and nobody must exist (the Debian package dovecot-core "
          "creates the first two)";
      return false;
    }
    login_user_ = "dovenull";
    internal_user_ = "dovecot";
    mail_user_ = "nobody";
    mail_uid_ = nobody->pw_uid;
    mail_gid_ = nobody->pw_gid;
    return true;
  }

  void ChownTree(const std::string& path) const {
    if (geteuid() != 0) return;
    if (chown(path.c_str(), mail_uid_, mail_gid_) != 0) return;
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(path, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      if (chown(it->path().c_str(), mail_uid_, mail_gid_) != 0) return;
    }
  }

  bool MakeCertificates(bool wrong_host) {
    auto make = [&](const std::string& name, const std::string& cn, const std::string& san) {
      const std::string cmd = "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
                              "-nodes -days 2 -subj '/CN=" + cn + "' -addext 'subjectAltName=" +
                              san + "' -keyout '" + dir_ + "/" + name + ".key' -out '" + dir_ +
                              "/" + name + ".pem'";
      std::string out;
      if (RunShell(cmd, &out) != 0) {
        error_ = "openssl could not make a certificate (install `openssl`): " + out;
        return false;
      }
      return true;
    };
    if (wrong_host) {
      if (!make("server", "imap.example.net", "DNS:imap.example.net")) return false;
    } else if (!make("server", "dmarcwatch test IMAP", "IP:127.0.0.1,DNS:localhost")) {
      return false;
    }
    return make("other", "dmarcwatch other CA", "IP:127.0.0.1,DNS:localhost");
  }

  void WriteConfig(const DovecotOptions& options) {
    const std::string mechanisms =
        options.introspection_url.empty() ? "plain login" : "plain login xoauth2 oauthbearer";
    std::ofstream conf(config_file());
    conf << "base_dir = " << dir_ << "/run\n"
         << "state_dir = " << dir_ << "/state\n"
         << "log_path = " << dir_ << "/dovecot.log\n"
         << "info_log_path = " << dir_ << "/dovecot.log\n"
         << "protocols = imap\n"
         << "listen = 127.0.0.1\n"
         << "ssl = yes\n"
         << "ssl_cert = <" << dir_ << "/server.pem\n"
         << "ssl_key = <" << dir_ << "/server.key\n"
         << "ssl_min_protocol = TLSv1.2\n"
         << "default_login_user = " << login_user_ << "\n"
         << "default_internal_user = " << internal_user_ << "\n"
         << "first_valid_uid = 1\n"
         << "disable_plaintext_auth = no\n"
         << "auth_mechanisms = " << mechanisms << "\n"
         << "mail_location = maildir:~/Maildir\n";
    if (!options.imap_capability.empty()) {
      conf << "imap_capability = " << options.imap_capability << "\n";
    }
    if (!options.introspection_url.empty()) {
      std::ofstream oauth(dir_ + "/oauth2.conf");
      oauth << "introspection_mode = post\n"
            << "introspection_url = " << options.introspection_url << "\n"
            << "username_attribute = username\n"
            << "active_attribute = active\n"
            << "active_value = true\n";
      conf << "passdb {\n  driver = oauth2\n  mechanisms = xoauth2 oauthbearer\n"
           << "  args = " << dir_ << "/oauth2.conf\n}\n";
    }
    conf << "passdb {\n  driver = static\n  mechanisms = plain login\n"
         << "  args = password=" << kDovecotPassword << "\n}\n"
         << "userdb {\n  driver = static\n  args = uid=" << mail_uid_ << " gid=" << mail_gid_
         << " home=" << dir_ << "/home/%u allow_all_users=yes\n}\n"
         << "service imap-login {\n"
         << "  inet_listener imap {\n    address = 127.0.0.1\n    port = " << imap_port_ << "\n  }\n"
         << "  inet_listener imaps {\n    address = 127.0.0.1\n    port = " << imaps_port_
         << "\n    ssl = yes\n  }\n}\n";
  }

  bool Launch() {
    pid_ = Spawn({kDovecotPath, "-F", "-c", config_file()}, SpawnOptions(dir_ + "/stdout.log"));
    if (pid_ < 0) error_ = "cannot start " + std::string(kDovecotPath);
    return pid_ > 0;
  }

  // Waits for an IMAP greeting on the plain port.
  bool WaitUntilGreeting() {
    const Clock::time_point give_up = Clock::now() + std::chrono::seconds(30);
    while (Clock::now() < give_up) {
      if (Exited(pid_)) {
        error_ = "dovecot exited during start-up:\n" + ReadAll(dir_ + "/stdout.log") +
                 ReadAll(dir_ + "/dovecot.log");
        return false;
      }
      if (Greets()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    error_ = "dovecot did not greet within 30 s; its log:\n" + ReadAll(dir_ + "/dovecot.log");
    return false;
  }

  bool Greets() const {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(imap_port_));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    timeval tv{2, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    bool greeted = false;
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
      std::string got;
      char buf[512];
      ssize_t n;
      while ((n = recv(fd, buf, sizeof(buf), 0)) > 0) {
        got.append(buf, static_cast<std::size_t>(n));
        if (got.find("] Dovecot") != std::string::npos || got.find("ready.") != std::string::npos) {
          greeted = true;
          break;
        }
      }
    }
    close(fd);
    return greeted;
  }

  static std::string ReadAll(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
  }

  std::string dir_;
  std::string login_user_, internal_user_, mail_user_;
  uid_t mail_uid_ = 0;
  gid_t mail_gid_ = 0;
  int imap_port_ = -1;
  int imaps_port_ = -1;
  pid_t pid_ = -1;
  std::string error_;
  int delivered_ = 0;
};

}  // namespace dmarcwatch::testing
