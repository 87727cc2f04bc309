// XmlScan: the outline of <feedback> and its element children (see xml_scan.h).

#include "xml_scan.h"

#include <array>
#include <cstring>
#include <string>

#include "dmarcwatch/model/text.h"

namespace dmarcwatch::ingest {
namespace {

// Character classes, one table lookup per byte: the scanner looks at every
// byte of markup, and a report is mostly markup.
enum : unsigned char { kSpace = 1, kNameStart = 2, kNameChar = 4 };

constexpr std::array<unsigned char, 256> kClasses = [] {
  std::array<unsigned char, 256> t{};
  for (char c : {' ', '\t', '\r', '\n'}) t[static_cast<unsigned char>(c)] = kSpace;
  for (int c = 0; c < 256; ++c) {
    const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (letter || c == '_' || c == ':') t[static_cast<std::size_t>(c)] |= kNameStart | kNameChar;
    if ((c >= '0' && c <= '9') || c == '.' || c == '-') t[static_cast<std::size_t>(c)] |= kNameChar;
  }
  return t;
}();

bool Is(char c, unsigned char cls) { return (kClasses[static_cast<unsigned char>(c)] & cls) != 0; }
bool IsSpace(char c) { return Is(c, kSpace); }
bool IsNameStart(char c) { return Is(c, kNameStart); }
bool IsNameChar(char c) { return Is(c, kNameChar); }

// Thrown inside this file only, caught in ScanFeedback.
struct ScanError {
  std::string what;
  std::size_t at;
};

[[noreturn]] void Fail(std::string what, std::size_t at) { throw ScanError{std::move(what), at}; }

// A name as it may appear in a message: printable and short.
std::string Shown(std::string_view name) { return model::Printable(name, 60); }

class Scanner {
 public:
  explicit Scanner(std::string_view doc) : d_(doc) {}

  ScannedFeedback Run();

 private:
  bool At(std::size_t i, std::string_view s) const { return d_.substr(i, s.size()) == s; }

  // The offset just past the first `terminator` at or after `from`, or a
  // rejection naming `what` started at `start`.
  std::size_t Past(std::size_t from, std::string_view terminator, const char* what,
                   std::size_t start) const {
    const std::size_t at = d_.find(terminator, from);
    if (at == std::string_view::npos) Fail(std::string("unterminated ") + what, start);
    return at + terminator.size();
  }

  std::size_t SkipSpace(std::size_t i) const {
    while (i < d_.size() && IsSpace(d_[i])) ++i;
    return i;
  }

  // A name starting at `i`; rejects when there is none.
  std::string_view Name(std::size_t i, const char* what) const {
    if (i >= d_.size() || !IsNameStart(d_[i])) Fail(std::string("expected ") + what, i);
    std::size_t j = i + 1;
    while (j < d_.size() && IsNameChar(d_[j])) ++j;
    return d_.substr(i, j - i);
  }

  // <?target ...?> at `i`; returns the offset past it. An XML declaration
  // is allowed only at the start of the document.
  std::size_t ProcessingInstruction(std::size_t i) const {
    const std::string_view target = Name(i + 2, "a processing instruction target");
    if (model::EqualsIgnoreCase(target, "xml") && i != 0) {
      Fail("XML declaration not at the start of the document", i);
    }
    return Past(i + 2 + target.size(), "?>", "processing instruction", i);
  }

  struct StartTag {
    std::string_view name;
    std::size_t end = 0;  // past '>'
    bool empty = false;   // "/>"
  };

  // <name attr="v" ...> or <name .../> at `i`.
  StartTag Start(std::size_t i) const {
    StartTag tag;
    tag.name = Name(i + 1, "an element name after '<'");
    std::size_t j = i + 1 + tag.name.size();
    for (;;) {
      const std::size_t k = SkipSpace(j);
      if (k >= d_.size()) Fail("unterminated start tag <" + Shown(tag.name) + ">", i);
      if (d_[k] == '>') {
        tag.end = k + 1;
        return tag;
      }
      if (d_[k] == '/') {
        if (k + 1 >= d_.size() || d_[k + 1] != '>') Fail("'/' not followed by '>' in a tag", k);
        tag.end = k + 2;
        tag.empty = true;
        return tag;
      }
      if (k == j) Fail("no space before an attribute", k);
      const std::string_view attr = Name(k, "an attribute name");
      std::size_t v = SkipSpace(k + attr.size());
      if (v >= d_.size() || d_[v] != '=') Fail("attribute without '='", v);
      v = SkipSpace(v + 1);
      if (v >= d_.size() || (d_[v] != '"' && d_[v] != '\'')) {
        Fail("attribute value without quotes", v);
      }
      const std::size_t close = d_.find(d_[v], v + 1);
      if (close == std::string_view::npos) Fail("unterminated attribute value", v);
      j = close + 1;
    }
  }

  // </name> at `i`, which must close `open`; returns the offset past it.
  std::size_t End(std::size_t i, std::string_view open) const {
    // The usual case first: the name matches and '>' follows.
    const std::size_t after = i + 2 + open.size();
    if (after < d_.size() && d_.compare(i + 2, open.size(), open) == 0 && d_[after] == '>') {
      return after + 1;
    }
    const std::string_view name = Name(i + 2, "an element name after '</'");
    const std::size_t k = SkipSpace(i + 2 + name.size());
    if (k >= d_.size() || d_[k] != '>') Fail("unterminated end tag </" + Shown(name) + ">", i);
    if (name != open) {
      Fail("end tag </" + Shown(name) + "> does not match <" + Shown(open) + ">", i);
    }
    return k + 1;
  }

  std::string_view d_;
};

ScannedFeedback Scanner::Run() {
  ScannedFeedback out;
  if (const void* nul = std::memchr(d_.data(), '\0', d_.size())) {
    Fail("NUL byte", static_cast<std::size_t>(static_cast<const char*>(nul) - d_.data()));
  }
  std::vector<std::string_view> open;  // the elements open at `i`, outermost first
  bool root_seen = false;
  std::size_t child_begin = 0;  // the element child of <feedback> open at `i`
  std::string_view child_name;
  std::size_t i = 0;
  while (i < d_.size()) {
    const char c = d_[i];
    if (open.empty()) {
      // Document level: whitespace, comments, PIs and the one element.
      if (IsSpace(c)) {
        ++i;
        continue;
      }
      if (c != '<') Fail("text outside the document element", i);
      if (At(i, "<?")) {
        i = ProcessingInstruction(i);
      } else if (At(i, "<!--")) {
        i = Past(i + 4, "-->", "comment", i);
      } else if (At(i, "<!")) {
        Fail("markup declaration or CDATA outside the document element", i);
      } else if (At(i, "</")) {
        Fail("end tag outside any element", i);
      } else {
        if (root_seen) Fail("a second top-level element", i);
        root_seen = true;
        const StartTag tag = Start(i);
        const std::size_t colon = tag.name.find(':');
        const std::string_view local =
            colon == std::string_view::npos ? tag.name : tag.name.substr(colon + 1);
        if (local != "feedback") {
          Fail("the document element is <" + Shown(tag.name) + ">, not <feedback>", i);
        }
        out.qname = tag.name;
        out.start_tag_begin = i;
        out.start_tag_end = tag.end;
        out.empty_element = tag.empty;
        if (!tag.empty) open.push_back(tag.name);
        i = tag.end;
      }
      continue;
    }
    // Inside an element.
    if (c != '<') {
      const void* next = std::memchr(d_.data() + i, '<', d_.size() - i);
      i = next == nullptr ? d_.size()
                          : static_cast<std::size_t>(static_cast<const char*>(next) - d_.data());
      continue;
    }
    const char kind = i + 1 < d_.size() ? d_[i + 1] : '\0';
    if (kind == '/') {
      const std::size_t end = End(i, open.back());
      open.pop_back();
      if (open.size() == 1) out.children.push_back({child_name, child_begin, end});
      i = end;
    } else if (kind == '!') {
      if (At(i, "<!--")) {
        i = Past(i + 4, "-->", "comment", i);
      } else if (At(i, "<![CDATA[")) {
        i = Past(i + 9, "]]>", "CDATA section", i);
      } else {
        Fail("markup declaration inside an element", i);
      }
    } else if (kind == '?') {
      Fail("processing instruction inside an element", i);
    } else {
      const StartTag tag = Start(i);
      if (open.size() == 1) {
        child_begin = i;
        child_name = tag.name;
      }
      if (tag.empty) {
        if (open.size() == 1) out.children.push_back({tag.name, i, tag.end});
      } else {
        if (open.size() >= kMaxScanDepth) {
          Fail("elements nested deeper than " + std::to_string(kMaxScanDepth), i);
        }
        open.push_back(tag.name);
      }
      i = tag.end;
    }
  }
  if (!root_seen) Fail("no document element", d_.size());
  if (!open.empty()) Fail("the document ends inside <" + Shown(open.back()) + ">", d_.size());
  return out;
}

}  // namespace

Result<ScannedFeedback> ScanFeedback(std::string_view doc) {
  try {
    Scanner scanner(doc);
    return scanner.Run();
  } catch (const ScanError& e) {
    return Status::InvalidInput("xml_scan", e.what + " at byte " + std::to_string(e.at));
  }
}

}  // namespace dmarcwatch::ingest
