#pragma once
// zlib streams for the raw inputs the store keeps. Raw inputs are already
// hashed and size-checked by ingest; these functions only shrink and
// restore them.

#include <optional>
#include <string>
#include <string_view>

namespace dmarcwatch::store {

// A zlib stream (compress2) of `bytes` at `level` (1 fast ... 9 small).
// Nothing only when zlib fails, which means the level is invalid or memory
// ran out.
std::optional<std::string> Compress(std::string_view bytes, int level);

// The level to keep `bytes` at: 0 (stored: a copy and a checksum, still a
// zlib stream) when they begin with the magic number of a compressed format
// (gzip, zip, bzip2, xz, zstd), which deflate would spend time on without
// shrinking; `level` otherwise.
int LevelFor(std::string_view bytes, int level);

// The bytes of a zlib stream. Nothing when the stream is damaged or
// truncated.
std::optional<std::string> Decompress(std::string_view stream);

}  // namespace dmarcwatch::store
