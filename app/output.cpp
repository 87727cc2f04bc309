#include "output.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <iostream>

#include "dmarcwatch/model/text.h"

namespace dmarcwatch::app {

void Table::PrintText(std::ostream& out) const {
  std::vector<std::vector<std::string>> cells;
  cells.reserve(rows_.size() + 1);
  cells.push_back(headers_);
  for (const auto& row : rows_) {
    std::vector<std::string> clean;
    for (const auto& c : row) clean.push_back(model::Printable(c, 200));
    cells.push_back(std::move(clean));
  }
  std::vector<std::size_t> width(headers_.size(), 0);
  for (const auto& row : cells) {
    for (std::size_t i = 0; i < row.size() && i < width.size(); ++i) {
      width[i] = std::max(width[i], row[i].size());
    }
  }
  for (const auto& row : cells) {
    std::string line;
    for (std::size_t i = 0; i < row.size() && i < width.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line.append(width[i] - row[i].size() + 2, ' ');
    }
    out << line << '\n';
  }
}

std::string CsvField(const std::string& value) {
  if (value.find_first_of(",\"\r\n") == std::string::npos) return value;
  std::string out = "\"";
  for (char c : value) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

void Table::PrintCsv(std::ostream& out) const {
  auto line = [&](const std::vector<std::string>& row) {
    for (std::size_t i = 0; i < row.size(); ++i) {
      if (i > 0) out << ',';
      out << CsvField(row[i]);
    }
    out << "\r\n";
  };
  line(headers_);
  for (const auto& row : rows_) line(row);
}

std::string Grouped(std::uint64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string Percent(std::uint64_t part, std::uint64_t total) {
  if (total == 0) return "-";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f%%",
                100.0 * static_cast<double>(part) / static_cast<double>(total));
  return buf;
}

Progress::Progress(std::uint64_t total) : total_(total), enabled_(isatty(STDERR_FILENO) == 1) {}

Progress::~Progress() { Clear(); }

void Progress::Update(std::uint64_t done, const std::string& note) {
  if (!enabled_) return;
  constexpr int kWidth = 30;
  const int filled = total_ == 0 ? kWidth
                                 : static_cast<int>(kWidth * std::min(done, total_) / total_);
  std::string bar(static_cast<std::size_t>(filled), '#');
  bar.append(static_cast<std::size_t>(kWidth - filled), '.');
  std::string text = "\r[" + bar + "] " + Grouped(done) + "/" + Grouped(total_) + "  " +
                     model::Printable(note, 40);
  std::cerr << text << "\x1b[K" << std::flush;
  drawn_ = true;
}

void Progress::Clear() {
  if (!enabled_ || !drawn_) return;
  std::cerr << "\r\x1b[K" << std::flush;
  drawn_ = false;
}

}  // namespace dmarcwatch::app
