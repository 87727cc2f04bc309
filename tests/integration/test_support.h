#pragma once
// Helpers for tests that run the built dmarcwatch binary as a user would:
// temporary directories, running a command and capturing its output, files.

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <cstdio>
#include <functional>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "child_process.h"

namespace dmarcwatch::testing {

inline const std::string kBinary = std::string(DMARC_BINARY_DIR) + "/dmarcwatch";

// A fresh directory under /tmp, removed with everything in it.
class TempDir {
 public:
  explicit TempDir(const std::string& tag = "test") {
    path_ = std::filesystem::temp_directory_path() /
            ("dmarcwatch-" + tag + "-" + std::to_string(::getpid()) + "-" +
             std::to_string(counter_++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
  static inline int counter_ = 0;
};

struct RunResult {
  int exit_code = -1;
  std::string output;
};

inline std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

// Runs the dmarcwatch binary with `args`; output is stdout, and stderr too
// unless with_stderr is false (for output that must parse as JSON).
inline RunResult RunDmarcwatch(const std::vector<std::string>& args, bool with_stderr = true) {
  std::string cmd = ShellQuote(kBinary);
  for (const auto& a : args) cmd += " " + ShellQuote(a);
  cmd += with_stderr ? " 2>&1" : " 2>/dev/null";
  RunResult result;
  FILE* pipe = popen(cmd.c_str(), "r");
  BOOST_REQUIRE(pipe != nullptr);
  char buf[4096];
  std::size_t n;
  while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0) result.output.append(buf, n);
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

inline void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The dmarcwatch binary running in the background (`serve`), its stdout
// and stderr in a file. Killed with SIGKILL if still running when destroyed.
class BackgroundDmarcwatch {
 public:
  BackgroundDmarcwatch(const std::vector<std::string>& args, std::string log_path)
      : log_path_(std::move(log_path)) {
    std::vector<std::string> all = {kBinary};
    all.insert(all.end(), args.begin(), args.end());
    pid_ = Spawn(all, SpawnOptions(log_path_, SIGKILL));
    BOOST_REQUIRE_MESSAGE(pid_ > 0, "cannot start " + kBinary);
  }
  ~BackgroundDmarcwatch() { StopProcess(pid_, SIGKILL); }
  BackgroundDmarcwatch(const BackgroundDmarcwatch&) = delete;
  BackgroundDmarcwatch& operator=(const BackgroundDmarcwatch&) = delete;

  std::string Output() const {
    std::ifstream in(log_path_, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  // Sends `signal` and waits up to `timeout` for the exit; the exit code,
  // or -1 when it was killed or did not stop in time (then it is killed).
  int Stop(int signal = SIGTERM, std::chrono::seconds timeout = std::chrono::seconds(30)) {
    return StopProcess(pid_, signal, timeout);
  }

 private:
  std::string log_path_;
  pid_t pid_ = -1;
};

// Polls `done` every 100 ms until it is true or `timeout` passes.
inline bool WaitFor(const std::function<bool()>& done, std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return done();
}

}  // namespace dmarcwatch::testing
