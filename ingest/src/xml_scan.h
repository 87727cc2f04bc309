#pragma once
// XmlScan: the outline of a report document without a tree: where the
// document element <feedback> starts and ends, and where each of its
// element children (<report_metadata>, <record>, ...) starts and ends.
// The parser (parse.cpp) uses it to hand pugixml one child, or one batch of
// records, at a time instead of the whole document, so that a report of
// 200,000 records never becomes one DOM.
//
// The scanner accepts a strict subset of what pugixml accepts, lexed the
// way pugixml lexes it, so that every element boundary it reports is the one
// pugixml would find:
//   - prolog and epilog: whitespace, comments, processing instructions (the
//     XML declaration only at the very start);
//   - exactly one document element, named "feedback" or "<prefix>:feedback";
//   - inside it: elements, text, comments and CDATA sections;
//   - names of ASCII letters, digits, '_', ':', '.' and '-' (not starting
//     with a digit, '.' or '-');
//   - attributes separated by whitespace, with quoted values.
// Anything else is rejected with one line saying what and at which byte:
// text or CDATA outside the document element, a second top-level element,
// a processing instruction or any "<!" other than a comment or CDATA inside
// an element, an end tag that does not match, an unterminated comment,
// CDATA section, tag or attribute value, a NUL byte, nesting deeper than
// kMaxScanDepth, input that ends inside an element. A rejection says
// nothing about whether the document is acceptable: the parser then reads it
// whole, as it always did, with its repairs and its own error messages.
//
// One pass, no recursion, no allocation but the list of children; every
// step advances, so it ends on any input. The views point into `doc`.

#include <cstddef>
#include <string_view>
#include <vector>

#include "dmarcwatch/model/status.h"

namespace dmarcwatch::ingest {

// Elements nested deeper than this are rejected (reports nest 5 deep).
inline constexpr std::size_t kMaxScanDepth = 64;

struct ScannedElement {
  std::string_view qname;  // as written: "record", "d:record"
  std::size_t begin = 0;   // offset of its '<'
  std::size_t end = 0;     // one past the '>' that ends it
};

struct ScannedFeedback {
  std::string_view qname;  // "feedback" or "<prefix>:feedback"
  std::size_t start_tag_begin = 0;
  std::size_t start_tag_end = 0;         // one past the start tag's '>'
  bool empty_element = false;            // <feedback/>
  std::vector<ScannedElement> children;  // element children, in document order
};

// `doc` is the document from its first '<' (parse.cpp strips a BOM and
// leading whitespace first). Rejection: kInvalidInput, reason "xml_scan".
Result<ScannedFeedback> ScanFeedback(std::string_view doc);

}  // namespace dmarcwatch::ingest
