#pragma once
// Helpers for tests that run the built dmarcwatch binary as a user would:
// temporary directories, running a command and capturing its output, files.

#include <sys/wait.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

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

}  // namespace dmarcwatch::testing
