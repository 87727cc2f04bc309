// dmarcwatch passwd / token: the hashes for [[users]] and [[upload_tokens]].

#include <termios.h>
#include <unistd.h>

#include <iostream>

#include "command.h"
#include "dmarcwatch/web/auth.h"

namespace dmarcwatch::app {
namespace {

// Reads one line from stdin; on a terminal without echo, after a prompt.
std::string ReadSecret(Context& ctx, const char* prompt) {
  const bool tty = isatty(STDIN_FILENO) == 1;
  termios saved{};
  if (tty) {
    ctx.err << prompt << std::flush;
    tcgetattr(STDIN_FILENO, &saved);
    termios quiet = saved;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  }
  std::string line;
  std::getline(std::cin, line);
  if (tty) {
    tcsetattr(STDIN_FILENO, TCSANOW, &saved);
    ctx.err << '\n';
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

int RunPasswd(Context& ctx) {
  const std::string password = ReadSecret(ctx, "password: ");
  if (password.size() < 10) {
    ctx.err << "dmarcwatch passwd: use at least 10 characters\n";
    return kExitUsage;
  }
  if (isatty(STDIN_FILENO) == 1 && ReadSecret(ctx, "again: ") != password) {
    ctx.err << "dmarcwatch passwd: the two passwords differ\n";
    return kExitUsage;
  }
  auto hash = web::HashSecret(password);
  if (!hash.ok()) {
    ctx.err << "dmarcwatch passwd: " << hash.status().message() << '\n';
    return kExitFailure;
  }
  ctx.out << *hash << '\n';
  return kExitOk;
}

int RunToken(Context& ctx) {
  const std::string token = web::RandomToken(24);
  auto hash = web::HashSecret(token);
  if (!hash.ok()) {
    ctx.err << "dmarcwatch token: " << hash.status().message() << '\n';
    return kExitFailure;
  }
  ctx.out << "token (give it to the uploader; it is not stored and not shown again):\n  "
          << token << "\n\nconfiguration:\n  [[upload_tokens]]\n  name = \""
          << ctx.args.GetOr("name", "uploader") << "\"\n  token_hash = \"" << *hash << "\"\n";
  return kExitOk;
}

}  // namespace

Command PasswdCommand() {
  return {{"passwd", "passwd",
           "hash a dashboard password for [[users]] (reads it from the terminal or stdin)",
           "Prints an Argon2id hash to put in password_hash = \"...\" of a [[users]] table.\n"
           "On a terminal the password is asked twice without echo; otherwise one line is\n"
           "read from stdin.",
           {}},
          RunPasswd};
}

Command TokenCommand() {
  return {{"token", "token [--name NAME]",
           "make an upload token for POST /api/v1/reports",
           "Prints a new random token and the [[upload_tokens]] table with its Argon2id hash.\n"
           "Only the hash goes into the configuration.",
           {{"name", "NAME", "the token's name in the configuration", "uploader"}}},
          RunToken};
}

}  // namespace dmarcwatch::app
