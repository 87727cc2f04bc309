#include "imap_parser.h"

#include <charconv>
#include <utility>

namespace dmarcwatch::ingest::imap {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// CTL (RFC 5234): never part of an atom or a quoted string.
bool IsControl(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u < 0x20 || u == 0x7f;
}

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!IsDigit(c)) return false;
  }
  return true;
}

// One parse over the input. Every method that can fail or run out of input
// returns false after setting result_; the caller then returns at once.
class Parser {
 public:
  Parser(std::string_view in, const ParserLimits& limits) : in_(in), limits_(limits) {}

  ParseResult Run() {
    if (in_.empty()) return NeedMoreResult(1);
    if (!FindLineEnd()) return std::move(result_);
    Response& r = result_.response;
    if (in_[0] == '+') {
      // continue-req = "+" SP (resp-text / base64) CRLF (RFC 9051 §9).
      r.kind = ResponseKind::kContinuation;
      pos_ = 1;
      if (pos_ < line_end_ && in_[pos_] == ' ') ++pos_;
      r.text.assign(in_.substr(pos_, line_end_ - pos_));
      return Complete();
    }
    if (in_[0] == '*') {
      r.kind = ResponseKind::kUntagged;
      pos_ = 1;
      if (!ExpectSpace()) return std::move(result_);
      const std::string_view first = ReadWord();
      if (first.empty()) return FailResult("an untagged response without a name");
      if (AllDigits(first)) {
        // message-data / mailbox-data with a number: "* 3 EXISTS", "* 5 FETCH (...)".
        std::uint64_t n = 0;
        if (!ToNumber(first, n)) return std::move(result_);
        r.number = n;
        if (!ExpectSpace()) return std::move(result_);
        const std::string_view name = ReadWord();
        if (name.empty()) return FailResult("a numbered untagged response without a name");
        r.name = AsciiUpper(name);
      } else {
        const std::string upper = AsciiUpper(first);
        if (upper == "OK" || upper == "NO" || upper == "BAD" || upper == "PREAUTH" ||
            upper == "BYE") {
          r.status = upper;
          if (!ParseRespText()) return std::move(result_);
          return Complete();
        }
        r.name = upper;
      }
      if (!ParseValues(r.values, 0, false)) return std::move(result_);
      return Complete();
    }
    // response-tagged = tag SP resp-cond-state CRLF.
    r.kind = ResponseKind::kTagged;
    const std::string_view tag = ReadWord();
    if (tag.empty()) return FailResult("a response that starts with neither a tag, '*' nor '+'");
    r.tag.assign(tag);
    if (!ExpectSpace()) return std::move(result_);
    const std::string status = AsciiUpper(ReadWord());
    if (status != "OK" && status != "NO" && status != "BAD") {
      return FailResult("a tagged response whose status is not OK, NO or BAD");
    }
    r.status = status;
    if (!ParseRespText()) return std::move(result_);
    return Complete();
  }

 private:
  ParseResult NeedMoreResult(std::size_t total) {
    result_.state = ParseState::kNeedMore;
    result_.need_total = total;
    return std::move(result_);
  }
  ParseResult FailResult(const std::string& what) {
    Fail(what);
    return std::move(result_);
  }
  ParseResult Complete() {
    result_.state = ParseState::kComplete;
    result_.consumed = line_end_ + 2;
    return std::move(result_);
  }

  bool Fail(const std::string& what) {
    result_.state = ParseState::kError;
    result_.error = Status::InvalidInput("malformed_response",
                                         "malformed IMAP response: " + what + " (at byte " +
                                             std::to_string(pos_) + ")");
    return false;
  }
  bool FailLimit(const char* reason, const std::string& message) {
    result_.state = ParseState::kError;
    result_.error = Status::LimitExceeded(reason, message);
    return false;
  }
  bool NeedMore(std::size_t total) {
    result_.state = ParseState::kNeedMore;
    result_.need_total = total;
    return false;
  }

  // Finds the CRLF that ends the line starting at line_start_, looking no
  // further than max_line_bytes, and sets line_end_ to its CR.
  bool FindLineEnd() {
    const std::size_t window = std::min(in_.size() - line_start_, limits_.max_line_bytes);
    const std::size_t lf = in_.substr(line_start_, window).find('\n');
    if (lf == std::string_view::npos) {
      if (in_.size() - line_start_ >= limits_.max_line_bytes) {
        return FailLimit("max_line_bytes", "the server sent a line longer than " +
                                               std::to_string(limits_.max_line_bytes) + " bytes");
      }
      if (line_start_ + window + 1 > limits_.max_response_bytes) return ResponseTooLarge();
      return NeedMore(in_.size() + 1);
    }
    const std::size_t at = line_start_ + lf;
    if (at == line_start_ || in_[at - 1] != '\r') {
      pos_ = at;
      return Fail("a line that ends in LF without CR");
    }
    line_end_ = at - 1;
    if (line_end_ + 2 > limits_.max_response_bytes) return ResponseTooLarge();
    return true;
  }

  bool ResponseTooLarge() {
    return FailLimit("max_response_bytes", "the server sent a response of more than " +
                                               std::to_string(limits_.max_response_bytes) +
                                               " bytes");
  }

  bool ExpectSpace() {
    if (pos_ < line_end_ && in_[pos_] == ' ') {
      ++pos_;
      return true;
    }
    return Fail("a space expected");
  }

  // The characters up to the next space or the end of the line.
  std::string_view ReadWord() {
    const std::size_t start = pos_;
    while (pos_ < line_end_ && in_[pos_] != ' ' && !IsControl(in_[pos_])) ++pos_;
    return in_.substr(start, pos_ - start);
  }

  bool ToNumber(std::string_view digits, std::uint64_t& out) {
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), out);
    if (ec != std::errc() || end != digits.data() + digits.size()) {
      return Fail("a number out of range");
    }
    return true;
  }

  // resp-text = ["[" resp-text-code "]" SP] text. The text is optional
  // here: some servers end a status line right after "OK".
  bool ParseRespText() {
    Response& r = result_.response;
    if (pos_ < line_end_ && in_[pos_] == ' ') ++pos_;
    if (pos_ < line_end_ && in_[pos_] == '[') {
      const std::size_t close = in_.substr(0, line_end_).find(']', pos_ + 1);
      if (close == std::string_view::npos) return Fail("a response code without ']'");
      r.code.assign(in_.substr(pos_ + 1, close - pos_ - 1));
      pos_ = close + 1;
      if (pos_ < line_end_ && in_[pos_] == ' ') ++pos_;
    }
    r.text.assign(in_.substr(pos_, line_end_ - pos_));
    pos_ = line_end_;
    return true;
  }

  // Values separated by spaces, up to the end of the response (top level)
  // or the closing parenthesis (in a list). A literal moves on to the
  // line after it, so a list may span lines.
  bool ParseValues(std::vector<Value>& out, std::size_t depth, bool in_list) {
    while (true) {
      if (pos_ == line_end_) {
        if (in_list) return Fail("a list that is not closed");
        return true;
      }
      const char c = in_[pos_];
      if (c == ' ') {
        ++pos_;
        continue;
      }
      if (c == ')') {
        if (!in_list) return Fail("')' without '('");
        ++pos_;
        return true;
      }
      if (++values_ > limits_.max_values) {
        return FailLimit("max_values", "the server sent a response of more than " +
                                           std::to_string(limits_.max_values) + " values");
      }
      Value v;
      if (!ParseValue(v, depth)) return false;
      out.push_back(std::move(v));
    }
  }

  bool ParseValue(Value& v, std::size_t depth) {
    const char c = in_[pos_];
    if (c == '(') {
      if (depth + 1 > limits_.max_depth) {
        return FailLimit("max_depth", "the server sent lists nested deeper than " +
                                          std::to_string(limits_.max_depth));
      }
      ++pos_;
      v.kind = Value::Kind::kList;
      return ParseValues(v.items, depth + 1, true);
    }
    if (c == '"') {
      v.kind = Value::Kind::kString;
      return ParseQuoted(v.text);
    }
    if (c == '{') {
      v.kind = Value::Kind::kString;
      return ParseLiteral(v.text);
    }
    if (c == '~') return Fail("a literal8 (~{n}), which this client never asks for");
    return ParseAtom(v);
  }

  // quoted = DQUOTE *QUOTED-CHAR DQUOTE; a backslash quotes the next
  // character (RFC 9051 §9 allows it before '"' and '\' only; others are
  // taken as they are).
  bool ParseQuoted(std::string& out) {
    ++pos_;
    while (pos_ < line_end_) {
      const char c = in_[pos_];
      if (c == '"') {
        ++pos_;
        return true;
      }
      if (c == '\\') {
        if (pos_ + 1 >= line_end_) break;
        ++pos_;
      }
      if (in_[pos_] == '\r' || in_[pos_] == '\0') return Fail("a CR or NUL in a quoted string");
      out += in_[pos_];
      ++pos_;
    }
    return Fail("a quoted string that is not closed");
  }

  // literal = "{" number ["+"] "}" CRLF *CHAR8. The size is checked
  // against the limits before any byte of the literal is read or kept.
  bool ParseLiteral(std::string& out) {
    const std::size_t open = pos_;
    ++pos_;
    const std::size_t digits_start = pos_;
    while (pos_ < line_end_ && IsDigit(in_[pos_])) ++pos_;
    const std::string_view digits = in_.substr(digits_start, pos_ - digits_start);
    if (pos_ < line_end_ && in_[pos_] == '+') ++pos_;
    if (digits.empty() || pos_ >= line_end_ || in_[pos_] != '}') {
      pos_ = open;
      return Fail("a malformed literal size");
    }
    ++pos_;
    if (pos_ != line_end_) return Fail("a literal size that is not at the end of its line");
    std::uint64_t size = 0;
    if (digits.size() > 20 || !ToNumber(digits, size)) {
      return FailLimit("max_literal_bytes", "the server announced a literal larger than " +
                                                std::to_string(limits_.max_literal_bytes) +
                                                " bytes");
    }
    if (size > limits_.max_literal_bytes) {
      return FailLimit("max_literal_bytes", "the server announced a literal of " +
                                                std::to_string(size) + " bytes, over the limit of " +
                                                std::to_string(limits_.max_literal_bytes));
    }
    const std::size_t start = line_end_ + 2;
    if (size > limits_.max_response_bytes - start) return ResponseTooLarge();
    const std::size_t end = start + static_cast<std::size_t>(size);
    if (in_.size() < end) return NeedMore(end);
    out.assign(in_.substr(start, end - start));
    line_start_ = end;
    pos_ = end;
    return FindLineEnd();
  }

  // An atom, a number or NIL. A section in brackets ("BODY[HEADER.FIELDS
  // (DATE)]") belongs to the atom and may hold spaces and parentheses.
  bool ParseAtom(Value& v) {
    const std::size_t start = pos_;
    int brackets = 0;
    while (pos_ < line_end_) {
      const char c = in_[pos_];
      if (IsControl(c)) return Fail("a control character in an atom");
      if (brackets > 0) {
        if (c == '[') ++brackets;
        if (c == ']') --brackets;
        ++pos_;
        continue;
      }
      if (c == ' ' || c == '(' || c == ')' || c == '{') break;
      if (c == '"') return Fail("a '\"' inside an atom");
      if (c == '[') ++brackets;
      ++pos_;
    }
    if (brackets > 0) return Fail("a '[' without ']'");
    const std::string_view word = in_.substr(start, pos_ - start);
    if (word.empty()) return Fail("a value expected");
    if (AllDigits(word)) {
      v.kind = Value::Kind::kNumber;
      v.text.assign(word);
      return ToNumber(word, v.number);
    }
    if (AsciiUpper(word) == "NIL") {
      v.kind = Value::Kind::kNil;
      return true;
    }
    v.kind = Value::Kind::kAtom;
    v.text.assign(word);
    return true;
  }

  std::string_view in_;
  const ParserLimits& limits_;
  std::size_t pos_ = 0;
  std::size_t line_start_ = 0;
  std::size_t line_end_ = 0;
  std::size_t values_ = 0;
  ParseResult result_;
};

}  // namespace

std::string AsciiUpper(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

ParseResult ParseResponse(std::string_view bytes, const ParserLimits& limits) {
  return Parser(bytes, limits).Run();
}

}  // namespace dmarcwatch::ingest::imap
