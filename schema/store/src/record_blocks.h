#pragma once
// Record blocks: a report's records stored as a few compressed blocks
// (table record_blocks, migration 0008) instead of a table row each.
//
// Every read of records is by report, in row order (a report's page, its
// analysis, a re-analysis), so nothing needs one row by itself; and one
// insert per block instead of one per record halves what an import costs
// the store (docs/performance.md).
//
// A block is the zlib stream (compression.h) of its records one after the
// other, each as the columns of RecordRowData from source_ip on, in that
// order: text as a varint length and the bytes, an integer as a zigzag
// varint, a nullable value as one byte (0 null, 1 a value) and the value.
// report_row_id and row_index are not written: they are the block's key
// and its first index plus the record's position. Format "z1".

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dmarcwatch/model/status.h"
#include "rows.h"

namespace dmarcwatch::store {

// The encoding column's value for blocks written by EncodeRecordBlock.
inline constexpr std::string_view kRecordBlockEncoding = "z1";

// Records per block: a report saved whole is one block up to this many.
inline constexpr std::size_t kRecordBlockRows = 5000;

// rows[begin, end) as one block, compressed at `level` (1 fast ... 9 small).
// Empty only when zlib fails (an invalid level, or no memory).
std::string EncodeRecordBlock(const std::vector<RecordRowData>& rows, std::size_t begin,
                              std::size_t end, int level);

// Appends the `row_count` records of a block to `out`, numbered from
// `first_index`. A block that is not "z1", does not inflate, or does not
// hold exactly `row_count` well-formed records is a corrupt_row error, and
// `out` is left as it was.
Status DecodeRecordBlock(std::string_view encoding, std::string_view data,
                         std::int64_t report_row_id, std::int64_t first_index,
                         std::int64_t row_count, std::vector<RecordRowData>& out);

}  // namespace dmarcwatch::store
