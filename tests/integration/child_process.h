#pragma once
// Programs a test starts and stops: the servers of the integration tests
// (Dovecot, unbound, PostgreSQL, the SMTP capture server) and the
// dmarcwatch binary running in the background.
//
// Spawn() forks and execs with stdout and stderr appended to a log file
// and stdin from /dev/null. With a death signal the child gets it when the
// test process dies first (PR_SET_PDEATHSIG), so no server outlives a
// crashed test. StopProcess() asks politely, waits, then insists.

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace dmarcwatch::testing {

struct SpawnOptions {
  explicit SpawnOptions(std::string log_path, int signal = SIGTERM)
      : log(std::move(log_path)), death_signal(signal) {}

  std::string log;             // appended to (created 0644); REQUIRES: not empty
  int death_signal = SIGTERM;  // sent when the test process dies; 0: none
  std::string directory;       // the child's working directory; "": the test's
  // Run as this account (uid, gid), dropping root; the log file is given
  // to it.
  std::optional<std::pair<uid_t, gid_t>> run_as;
};

// Starts args[0] (a path) with `args`. -1 when it cannot be started. In the
// child only async-signal-safe calls happen after fork; an exec that fails
// exits 127.
inline pid_t Spawn(const std::vector<std::string>& args, const SpawnOptions& options) {
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const int out = ::open(options.log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (out < 0) return -1;
  if (options.run_as && ::fchown(out, options.run_as->first, options.run_as->second) != 0) {
    // Keeps root as the owner: the child writes through the inherited fd.
  }
  const char* directory = options.directory.empty() ? nullptr : options.directory.c_str();
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out, STDOUT_FILENO);
    ::dup2(out, STDERR_FILENO);
    const int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, STDIN_FILENO);
    if (directory != nullptr && ::chdir(directory) != 0) ::_exit(126);
    if (options.run_as) {
      if (::setgroups(0, nullptr) != 0 || ::setgid(options.run_as->second) != 0 ||
          ::setuid(options.run_as->first) != 0) {
        ::_exit(126);
      }
    }
    if (options.death_signal != 0) {
      ::prctl(PR_SET_PDEATHSIG, options.death_signal);
      if (::getppid() != parent) ::_exit(1);  // the test died before prctl
    }
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(out);
  return pid;
}

// True (and `pid` set to -1) when the child has exited; it is reaped.
inline bool Exited(pid_t& pid) {
  if (pid <= 0) return true;
  int status = 0;
  if (::waitpid(pid, &status, WNOHANG) != pid) return false;
  pid = -1;
  return true;
}

// Sends `signal`, waits up to `grace` for the exit, then sends `hard` and
// waits for good. Returns the exit status, or -1 when it ended by a signal
// or was not running; `pid` is -1 after.
inline int StopProcess(pid_t& pid, int signal = SIGTERM,
                       std::chrono::milliseconds grace = std::chrono::seconds(10),
                       int hard = SIGKILL) {
  if (pid <= 0) return -1;
  ::kill(pid, signal);
  int status = 0;
  const auto give_up = std::chrono::steady_clock::now() + grace;
  while (::waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > give_up) {
      ::kill(pid, hard);
      ::waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  pid = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace dmarcwatch::testing
