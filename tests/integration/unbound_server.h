#pragma once
// A real DNS server for tests: unbound (Debian package `unbound`), started
// on 127.0.0.1 with a free port and a generated configuration that answers
// only from local zones. Nothing leaves the machine: every other name is
// refused and no upstream address may be queried. The process dies with the
// test (PR_SET_PDEATHSIG) and is stopped by the destructor.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "child_process.h"
#include "dmarcwatch/analysis/dns.h"

namespace dmarcwatch::testing {

using analysis::DnsOptions;
using analysis::DnsRcode;
using analysis::DnsType;
using analysis::MakeAresResolver;

inline constexpr const char* kUnboundPath = "/usr/sbin/unbound";

// A port free for both UDP and TCP on 127.0.0.1 right now.
inline int FreePort() {
  for (int attempt = 0; attempt < 20; ++attempt) {
    const int udp = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (bind(udp, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
        getsockname(udp, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      close(udp);
      continue;
    }
    const int tcp = socket(AF_INET, SOCK_STREAM, 0);
    const bool tcp_free = bind(tcp, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    close(tcp);
    close(udp);
    if (tcp_free) return ntohs(addr.sin_port);
  }
  return -1;
}

// One unbound process for the whole test module.
class UnboundServer {
  using Clock = std::chrono::steady_clock;

 public:
  UnboundServer() = default;
  UnboundServer(const UnboundServer&) = delete;
  UnboundServer& operator=(const UnboundServer&) = delete;
  ~UnboundServer() { Stop(); }

  bool ok() const { return pid_ > 0 && error_.empty(); }
  const std::string& error() const { return error_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  // Starts unbound answering `zones` (unbound local-zone/local-data lines)
  // and waits until `ready_name` (an A record in them) resolves.
  void Start(const std::string& zones, const std::string& ready_name) {
    ready_name_ = ready_name;
    if (access(kUnboundPath, X_OK) != 0) {
      error_ = std::string("unbound is not installed (") + kUnboundPath +
               " missing): install the Debian package `unbound` to run the DNS integration tests";
      return;
    }
    char dir_template[] = "/tmp/dmarcwatch-dns-test-XXXXXX";
    if (mkdtemp(dir_template) == nullptr) {
      error_ = "cannot create a temporary directory";
      return;
    }
    dir_ = dir_template;
    // A port can be taken between FreePort() and unbound's bind; try again then.
    for (int attempt = 0; attempt < 3; ++attempt) {
      port_ = FreePort();
      if (port_ <= 0) {
        error_ = "no free port on 127.0.0.1";
        return;
      }
      WriteConfig(zones);
      error_.clear();
      if (Launch() && WaitUntilAnswering()) return;
      Stop();
    }
    if (error_.empty()) error_ = "unbound did not start";
  }

  void Stop() { StopProcess(pid_); }

  void RemoveFiles() {
    if (dir_.empty()) return;
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
    dir_.clear();
  }

 private:
  void WriteConfig(const std::string& zones) {
    std::ofstream conf(dir_ + "/unbound.conf");
    conf << "server:\n"
         << "  do-daemonize: no\n"
         << "  interface: 127.0.0.1@" << port_ << "\n"
         << "  port: " << port_ << "\n"
         << "  username: \"\"\n"
         << "  chroot: \"\"\n"
         << "  directory: \"" << dir_ << "\"\n"
         << "  pidfile: \"" << dir_ << "/unbound.pid\"\n"
         << "  use-syslog: no\n"
         << "  logfile: \"\"\n"
         << "  verbosity: 1\n"
         << "  num-threads: 1\n"
         << "  do-ip6: no\n"
         << "  do-not-query-localhost: no\n"
         << "  access-control: 127.0.0.0/8 allow\n"
         << "  module-config: \"iterator\"\n"
         // No recursion: whatever is not in a local zone is refused, and
         // no upstream address may be queried at all.
         << "  local-zone: \".\" refuse\n"
         << "  do-not-query-address: 0.0.0.0/0\n"
         << "  do-not-query-address: ::/0\n"
         << "  rrset-roundrobin: no\n"
         << zones << "remote-control:\n"
         << "  control-enable: no\n";
  }

  bool Launch() {
    pid_ = Spawn({kUnboundPath, "-d", "-c", dir_ + "/unbound.conf"}, SpawnOptions(dir_ + "/unbound.log"));
    if (pid_ < 0) error_ = "cannot start " + std::string(kUnboundPath);
    return pid_ > 0;
  }

  bool WaitUntilAnswering() {
    DnsOptions options;
    options.servers = {address()};
    options.timeout_ms = 200;
    options.tries = 1;
    auto resolver = MakeAresResolver(options);
    if (!resolver.ok()) {
      error_ = "cannot create a resolver: " + resolver.status().ToString();
      return false;
    }
    const Clock::time_point give_up = Clock::now() + std::chrono::seconds(30);
    while (Clock::now() < give_up) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        error_ = "unbound exited during start-up; its log:\n" + ReadLog();
        return false;
      }
      const auto answers = (*resolver)->Resolve({{DnsType::kA, ready_name_}});
      if (answers[0].rcode == DnsRcode::kOk) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    error_ = "unbound did not answer within 30 s; its log:\n" + ReadLog();
    return false;
  }

  std::string ReadLog() const {
    std::ifstream in(dir_ + "/unbound.log");
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
  }

  std::string dir_;
  std::string ready_name_;
  int port_ = -1;
  pid_t pid_ = -1;
  std::string error_;
};

}  // namespace dmarcwatch::testing
