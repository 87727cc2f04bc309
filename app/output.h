#pragma once
// Output for the command line: aligned text tables, CSV (RFC 4180) and a
// terminal progress bar. JSON output is built with Poco::JSON by each
// command, since its shape is an API (docs/cli.md).

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

namespace dmarcwatch::app {

class Table {
 public:
  explicit Table(std::vector<std::string> headers) : headers_(std::move(headers)) {}
  void AddRow(std::vector<std::string> cells) { rows_.push_back(std::move(cells)); }
  bool empty() const { return rows_.empty(); }
  // Columns padded to their widest cell; values are shown as Printable text
  // (control bytes masked), so a report cannot move the terminal's cursor.
  void PrintText(std::ostream& out) const;
  // RFC 4180: fields quoted when they hold a comma, quote, CR or LF; lines end in CRLF.
  void PrintCsv(std::ostream& out) const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

std::string CsvField(const std::string& value);
// 1234567 -> "1,234,567".
std::string Grouped(std::uint64_t n);
// 0.9876 -> "98.8%"; total 0 -> "-".
std::string Percent(std::uint64_t part, std::uint64_t total);

// A one-line progress bar redrawn on stderr, only when stderr is a terminal.
class Progress {
 public:
  explicit Progress(std::uint64_t total);
  ~Progress();
  void Update(std::uint64_t done, const std::string& note);
  // Erases the bar so a normal line can be printed; the next Update redraws it.
  void Clear();

 private:
  std::uint64_t total_;
  bool enabled_;
  bool drawn_ = false;
};

}  // namespace dmarcwatch::app
