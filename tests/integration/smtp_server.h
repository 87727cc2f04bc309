#pragma once
// A real SMTP server for tests: aiosmtpd (Debian package python3-aiosmtpd),
// run by tests/integration/smtp_capture.py on 127.0.0.1 only, writing each
// message it accepts to a directory. Plain, STARTTLS or implicit TLS, with
// or without AUTH; it can refuse chosen recipients. The process dies with
// the test (PR_SET_PDEATHSIG) and is stopped by Stop() or the destructor.
//
// Messages() parses what arrived with Python's own email package (an
// implementation independent of the one that built the mail), so a test
// reads the decoded subject and each MIME part as a mail client would.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "child_process.h"

namespace dmarcwatch::testing {

// Debian's interpreter, which is the one python3-aiosmtpd installs into.
inline constexpr const char* kPython = "/usr/bin/python3";
inline const std::string kSmtpCaptureScript =
    std::string(DMARC_SOURCE_DIR) + "/tests/integration/smtp_capture.py";

// A TCP port free on 127.0.0.1 right now.
inline int FreeTcpPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  int port = -1;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

// Runs a command, returns its stdout; the exit status in `status`.
inline std::string RunForOutput(const std::string& command, int& status) {
  std::string out;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) {
    status = -1;
    return out;
  }
  char buf[4096];
  std::size_t n;
  while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0) out.append(buf, n);
  const int rc = pclose(pipe);
  status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  return out;
}

struct SmtpServerOptions {
  std::string tls;   // "", "starttls" or "implicit"
  std::string cert;  // PEM files, for tls
  std::string key;
  std::string auth;  // "user:password", or "" for no AUTH
  std::vector<std::string> refuse;
  int port = 0;      // 0: a free one
};

// One message as a mail client sees it.
struct ReceivedMessage {
  std::string file;
  std::string subject;
  std::string content_type;
  std::map<std::string, std::string> headers;
  std::vector<std::string> defects;
  struct Part {
    std::string content_type;
    std::string charset;
    std::string transfer_encoding;
    std::string content;
  };
  std::vector<Part> parts;
  // The envelope, from the server.
  std::string mail_from;
  std::vector<std::string> rcpt_tos;
  bool tls = false;
  bool authenticated = false;

  const Part* PartOf(const std::string& type) const {
    for (const Part& p : parts) {
      if (p.content_type == type) return &p;
    }
    return nullptr;
  }
  std::string Text() const { return ContentOf("text/plain"); }
  std::string Html() const { return ContentOf("text/html"); }
  std::string ContentOf(const std::string& type) const {
    const Part* p = PartOf(type);
    return p == nullptr ? std::string() : p->content;
  }
};

class SmtpCaptureServer {
  using Clock = std::chrono::steady_clock;

 public:
  explicit SmtpCaptureServer(std::string directory) : dir_(std::move(directory)) {
    std::filesystem::create_directories(dir_ + "/mail");
  }
  SmtpCaptureServer(const SmtpCaptureServer&) = delete;
  SmtpCaptureServer& operator=(const SmtpCaptureServer&) = delete;
  ~SmtpCaptureServer() { Stop(); }

  // Empty when the server runs; otherwise why it does not.
  const std::string& error() const { return error_; }
  bool running() const { return pid_ > 0; }
  int port() const { return port_; }
  std::string mail_dir() const { return dir_ + "/mail"; }

  // Checks that aiosmtpd is there: a missing server fails the test, with
  // what to install.
  static std::string Missing() {
    if (access(kPython, X_OK) != 0) {
      return std::string(kPython) + " is missing: install the Debian package python3";
    }
    int status = 0;
    RunForOutput(std::string(kPython) + " -c 'import aiosmtpd' 2>/dev/null", status);
    if (status != 0) {
      return "aiosmtpd is not installed for " + std::string(kPython) +
             ": install the Debian package python3-aiosmtpd to run the alert integration tests";
    }
    return {};
  }

  bool Start(const SmtpServerOptions& options) {
    error_ = Missing();
    if (!error_.empty()) return false;
    options_ = options;
    port_ = options.port != 0 ? options.port : FreeTcpPort();
    if (port_ <= 0) {
      error_ = "no free port on 127.0.0.1";
      return false;
    }
    const std::string ready = dir_ + "/ready";
    std::filesystem::remove(ready);
    std::vector<std::string> args = {kPython,        kSmtpCaptureScript, "--port",
                                     std::to_string(port_), "--dir", mail_dir(),
                                     "--ready",      ready};
    if (!options.tls.empty()) {
      args.insert(args.end(), {"--" + options.tls, options.cert, options.key});
    }
    if (!options.auth.empty()) args.insert(args.end(), {"--auth", options.auth});
    for (const std::string& r : options.refuse) args.insert(args.end(), {"--refuse", r});

    pid_ = Spawn(args, SpawnOptions(dir_ + "/server.log"));
    if (pid_ < 0) {
      error_ = "cannot start " + std::string(kPython);
      return false;
    }
    const Clock::time_point give_up = Clock::now() + std::chrono::seconds(20);
    while (Clock::now() < give_up) {
      if (Exited(pid_)) {
        error_ = "the SMTP server exited during start-up; its log:\n" + Log();
        return false;
      }
      if (std::filesystem::exists(ready)) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    error_ = "the SMTP server did not start within 20 s; its log:\n" + Log();
    Stop();
    return false;
  }

  void Stop() { StopProcess(pid_); }

  // Every message received so far, in order of arrival, parsed.
  std::vector<ReceivedMessage> Messages() const {
    std::vector<std::string> files;
    for (const auto& entry : std::filesystem::directory_iterator(mail_dir())) {
      if (entry.path().extension() == ".eml") files.push_back(entry.path().string());
    }
    std::sort(files.begin(), files.end());
    std::vector<ReceivedMessage> out;
    if (files.empty()) return out;
    std::string command = std::string(kPython) + " " + kSmtpCaptureScript + " parse";
    for (const std::string& f : files) command += " '" + f + "'";
    int status = 0;
    const std::string json = RunForOutput(command, status);
    if (status != 0) return out;
    Poco::JSON::Parser parser;
    auto list = parser.parse(json).extract<Poco::JSON::Array::Ptr>();
    for (std::size_t i = 0; i < list->size(); ++i) {
      auto o = list->getObject(static_cast<unsigned>(i));
      ReceivedMessage m;
      m.file = o->getValue<std::string>("file");
      m.subject = o->getValue<std::string>("subject");
      m.content_type = o->getValue<std::string>("content_type");
      auto headers = o->getObject("headers");
      for (const auto& [name, value] : *headers) m.headers[name] = value.toString();
      auto defects = o->getArray("defects");
      for (std::size_t k = 0; k < defects->size(); ++k) {
        m.defects.push_back(defects->getElement<std::string>(static_cast<unsigned>(k)));
      }
      auto parts = o->getArray("parts");
      for (std::size_t k = 0; k < parts->size(); ++k) {
        auto p = parts->getObject(static_cast<unsigned>(k));
        ReceivedMessage::Part part;
        part.content_type = p->getValue<std::string>("content_type");
        if (!p->isNull("charset")) part.charset = p->getValue<std::string>("charset");
        if (!p->isNull("transfer_encoding")) {
          part.transfer_encoding = p->getValue<std::string>("transfer_encoding");
        }
        part.content = p->getValue<std::string>("content");
        m.parts.push_back(std::move(part));
      }
      const std::string meta_path =
          mail_dir() + "/" + m.file.substr(0, m.file.size() - 4) + ".json";
      std::ifstream meta_in(meta_path);
      std::stringstream meta;
      meta << meta_in.rdbuf();
      auto env = Poco::JSON::Parser().parse(meta.str()).extract<Poco::JSON::Object::Ptr>();
      m.mail_from = env->getValue<std::string>("mail_from");
      auto rcpts = env->getArray("rcpt_tos");
      for (std::size_t k = 0; k < rcpts->size(); ++k) {
        m.rcpt_tos.push_back(rcpts->getElement<std::string>(static_cast<unsigned>(k)));
      }
      m.tls = env->getValue<bool>("tls");
      m.authenticated = env->getValue<bool>("authenticated");
      out.push_back(std::move(m));
    }
    return out;
  }

  std::size_t Count() const {
    std::size_t n = 0;
    for (const auto& entry : std::filesystem::directory_iterator(mail_dir())) {
      if (entry.path().extension() == ".eml") ++n;
    }
    return n;
  }

  std::string Log() const {
    std::ifstream in(dir_ + "/server.log");
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
  }

 private:
  std::string dir_;
  SmtpServerOptions options_;
  int port_ = -1;
  pid_t pid_ = -1;
  std::string error_;
};

}  // namespace dmarcwatch::testing
