#include "compression.h"

#define ZLIB_CONST
#include <zlib.h>

#include <algorithm>
#include <cstddef>
#include <limits>

namespace dmarcwatch::store {
namespace {

const Bytef* InBytes(std::string_view s) { return reinterpret_cast<const Bytef*>(s.data()); }
Bytef* OutBytes(std::string& s, std::size_t offset) {
  return reinterpret_cast<Bytef*>(s.data() + offset);
}

}  // namespace

std::optional<std::string> Compress(std::string_view bytes, int level) {
  uLongf capacity = compressBound(static_cast<uLong>(bytes.size()));
  std::string out(capacity, '\0');
  const int rc = compress2(OutBytes(out, 0), &capacity, InBytes(bytes),
                           static_cast<uLong>(bytes.size()), level);
  if (rc != Z_OK) return std::nullopt;
  out.resize(capacity);
  return out;
}

int LevelFor(std::string_view bytes, int level) {
  // RFC 1952 2.3.1; the zip local and end-of-central-directory headers
  // (an empty archive is only the latter); bzip2; xz; zstd (RFC 8878 3.1.1).
  static constexpr std::string_view kMagic[] = {
      {"\x1f\x8b", 2}, {"PK\x03\x04", 4}, {"PK\x05\x06", 4},
      {"BZh", 3},      {"\xfd" "7zXZ", 5}, {"\x28\xb5\x2f\xfd", 4}};
  for (std::string_view magic : kMagic) {
    if (bytes.substr(0, magic.size()) == magic) return 0;
  }
  return level;
}

std::optional<std::string> Decompress(std::string_view stream) {
  if (stream.size() > std::numeric_limits<uInt>::max()) return std::nullopt;
  z_stream z{};
  if (inflateInit(&z) != Z_OK) return std::nullopt;
  z.next_in = InBytes(stream);
  z.avail_in = static_cast<uInt>(stream.size());
  // Reports compress severalfold; start near that and double as needed.
  std::string out(std::min<std::size_t>(stream.size() * 4 + 64, std::size_t{16} << 20), '\0');
  int rc = Z_OK;
  while (rc == Z_OK) {
    if (z.total_out == out.size()) out.resize(out.size() * 2);
    const std::size_t offset = z.total_out;
    z.next_out = OutBytes(out, offset);
    z.avail_out = static_cast<uInt>(std::min<std::size_t>(out.size() - offset, 1u << 30));
    rc = inflate(&z, Z_NO_FLUSH);
  }
  const std::size_t produced = z.total_out;
  inflateEnd(&z);
  if (rc != Z_STREAM_END || z.avail_in != 0) return std::nullopt;
  out.resize(produced);
  return out;
}

}  // namespace dmarcwatch::store
