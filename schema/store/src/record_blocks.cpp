#include "record_blocks.h"

#include <cstring>
#include <optional>
#include <tuple>
#include <utility>

#include "compression.h"

namespace dmarcwatch::store {
namespace {

// The columns written for each record: all but report_row_id and row_index,
// the first two of RecordRowData::Fields.
constexpr std::size_t kFirstWritten = 2;
static_assert(RecordRowData::kColumns[0] == "report_row_id" &&
              RecordRowData::kColumns[1] == "row_index");

void PutVarint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
}

void Put(std::string& out, const std::string& s) {
  PutVarint(out, s.size());
  out += s;
}
void Put(std::string& out, std::int64_t v) {
  PutVarint(out, (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63));
}
template <typename T>
void Put(std::string& out, const Poco::Nullable<T>& v) {
  if (v.isNull()) {
    out += '\0';
  } else {
    out += '\1';
    Put(out, v.value());
  }
}

// Reads what Put wrote; every Get is false once the input ran out or held
// something Put cannot have written.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}

  bool Get(std::string& s) {
    std::uint64_t size = 0;
    if (!Varint(size) || size > in_.size() - at_) return false;
    s.assign(in_.data() + at_, size);
    at_ += size;
    return true;
  }
  bool Get(std::int64_t& v) {
    std::uint64_t z = 0;
    if (!Varint(z)) return false;
    v = static_cast<std::int64_t>((z >> 1) ^ (~(z & 1) + 1));
    return true;
  }
  template <typename T>
  bool Get(Poco::Nullable<T>& v) {
    if (at_ >= in_.size()) return false;
    const char flag = in_[at_++];
    if (flag == '\0') {
      v.clear();
      return true;
    }
    if (flag != '\1') return false;
    T value{};
    if (!Get(value)) return false;
    v = std::move(value);
    return true;
  }
  bool AtEnd() const { return at_ == in_.size(); }

 private:
  bool Varint(std::uint64_t& v) {
    v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (at_ >= in_.size()) return false;
      const auto byte = static_cast<unsigned char>(in_[at_++]);
      v |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) return true;
    }
    return false;  // more than ten bytes
  }

  std::string_view in_;
  std::size_t at_ = 0;
};

template <typename Tuple, std::size_t... I>
void PutFields(std::string& out, const Tuple& fields, std::index_sequence<I...>) {
  (Put(out, std::get<kFirstWritten + I>(fields)), ...);
}
template <typename Tuple, std::size_t... I>
bool GetFields(Reader& in, Tuple&& fields, std::index_sequence<I...>) {
  return (in.Get(std::get<kFirstWritten + I>(fields)) && ...);
}

constexpr std::size_t kWrittenFields = RecordRowData::kColumns.size() - kFirstWritten;

Status Corrupt(std::int64_t report_row_id, std::int64_t first_index, const std::string& why) {
  return Status(StatusCode::kInternal, "corrupt_row",
                "the record block of report " + std::to_string(report_row_id) + " from record " +
                    std::to_string(first_index) + " " + why);
}

}  // namespace

std::string EncodeRecordBlock(const std::vector<RecordRowData>& rows, std::size_t begin,
                              std::size_t end, int level) {
  std::string plain;
  plain.reserve((end - begin) * 256);
  for (std::size_t k = begin; k < end; ++k) {
    PutFields(plain, RecordRowData::Fields(rows[k]), std::make_index_sequence<kWrittenFields>());
  }
  std::optional<std::string> packed = Compress(plain, level);
  return packed ? std::move(*packed) : std::string();
}

Status DecodeRecordBlock(std::string_view encoding, std::string_view data,
                         std::int64_t report_row_id, std::int64_t first_index,
                         std::int64_t row_count, std::vector<RecordRowData>& out) {
  if (encoding != kRecordBlockEncoding) {
    return Corrupt(report_row_id, first_index, "has an unknown encoding");
  }
  if (row_count < 0) return Corrupt(report_row_id, first_index, "has a negative row count");
  std::optional<std::string> plain = Decompress(data);
  if (!plain) return Corrupt(report_row_id, first_index, "is not a valid zlib stream");
  const std::size_t kept = out.size();
  Reader in(*plain);
  for (std::int64_t k = 0; k < row_count; ++k) {
    RecordRowData& row = out.emplace_back();
    row.report_row_id = report_row_id;
    row.row_index = first_index + k;
    if (!GetFields(in, RecordRowData::Fields(row), std::make_index_sequence<kWrittenFields>())) {
      out.resize(kept);
      return Corrupt(report_row_id, first_index,
                     "ends or breaks off within record " + std::to_string(first_index + k));
    }
  }
  if (!in.AtEnd()) {
    out.resize(kept);
    return Corrupt(report_row_id, first_index,
                   "holds more than its " + std::to_string(row_count) + " records");
  }
  return Status::Ok();
}

}  // namespace dmarcwatch::store
