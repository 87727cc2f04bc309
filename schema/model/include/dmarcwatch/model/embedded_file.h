#pragma once
// A file compiled into the binary by cmake/Embed.cmake (migrations, web
// assets, the provider catalog): its path relative to where it was embedded
// from, and its bytes.

#include <string_view>

namespace dmarcwatch {

struct EmbeddedFile {
  std::string_view path;
  std::string_view bytes;
};

}  // namespace dmarcwatch
