// Sources: files, directory trees, maildirs and mbox files on disk, built in
// a fresh temporary directory per test.

#include "dmarcwatch/ingest/sources.h"

#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

namespace dmarcwatch::ingest {
namespace {

namespace fs = std::filesystem;

// A directory that exists for one test and is removed with everything in it.
class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    const auto stamp = std::chrono::steady_clock::now().time_since_epoch().count();
    path_ = fs::temp_directory_path() / ("dmarcwatch-sources-" + std::to_string(::getpid()) + "-" +
                                         std::to_string(stamp) + "-" + std::to_string(counter++));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

void Write(const fs::path& path, const std::string& bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out << bytes;
  BOOST_REQUIRE(out.good());
}

struct Walk {
  std::vector<SourceItem> items;
  std::vector<std::pair<std::string, Status>> errors;
  Status status;
};

Walk Run(const fs::path& path, const UnpackLimits& limits = UnpackLimits{}) {
  Walk walk;
  walk.status = ForEachInput(
      path, limits,
      [&](SourceItem&& item) {
        walk.items.push_back(std::move(item));
        return Status::Ok();
      },
      [&](const std::string& origin, const Status& status) {
        walk.errors.emplace_back(origin, status);
      });
  return walk;
}

std::vector<std::string> Origins(const Walk& walk, const fs::path& root) {
  std::vector<std::string> out;
  for (const SourceItem& item : walk.items) {
    std::string origin = item.origin;
    const std::string prefix = root.string() + "/";
    if (origin.rfind(prefix, 0) == 0) origin = origin.substr(prefix.size());
    out.push_back(origin);
  }
  return out;
}

const std::string kMbox =
    "From dmarc@example.net Tue Apr 30 02:09:16 2019\n"
    "Subject: one\n"
    "\n"
    "first body\n"
    ">From the quoted line\n"
    ">>From twice quoted\n"
    "From inside a paragraph is not a separator\n"
    "\n"
    "From other@example.org Wed May  1 00:00:00 2019\n"
    "Subject: two\n"
    "\n"
    "second body\n"
    "\n"
    "From third@example.org Thu May  2 00:00:00 2019\n"
    "Subject: three\n"
    "\n"
    "third body\n";

}  // namespace

BOOST_AUTO_TEST_SUITE(sources)

BOOST_AUTO_TEST_CASE(single_file_is_one_input_with_its_path_name_and_size) {
  TempDir dir;
  const fs::path file = dir.path() / "report.xml";
  Write(file, "<feedback/>");
  const Walk walk = Run(file);
  BOOST_TEST(walk.status.ok());
  BOOST_TEST(walk.errors.empty());
  BOOST_TEST_REQUIRE(walk.items.size() == 1u);
  BOOST_TEST(walk.items[0].origin == file.string());
  BOOST_TEST(walk.items[0].name == "report.xml");
  BOOST_TEST(walk.items[0].bytes == "<feedback/>");
  BOOST_TEST(walk.items[0].size == 11u);
  BOOST_TEST(!walk.items[0].too_large);
}

BOOST_AUTO_TEST_CASE(directory_is_walked_recursively_in_name_order_skipping_hidden_entries) {
  TempDir dir;
  Write(dir.path() / "c.xml", "c");
  Write(dir.path() / "a" / "2.xml", "a2");
  Write(dir.path() / "a" / "1.xml", "a1");
  Write(dir.path() / "b.xml", "b");
  Write(dir.path() / ".hidden.xml", "h");
  Write(dir.path() / ".git" / "config", "g");
  Write(dir.path() / "a" / ".DS_Store", "d");
  const Walk walk = Run(dir.path());
  BOOST_TEST(walk.status.ok());
  BOOST_TEST(walk.errors.empty());
  const std::vector<std::string> want = {"a/1.xml", "a/2.xml", "b.xml", "c.xml"};
  BOOST_TEST(Origins(walk, dir.path()) == want, boost::test_tools::per_element());
  BOOST_TEST_REQUIRE(walk.items.size() == 4u);
  BOOST_TEST(walk.items[1].name == "2.xml");
  BOOST_TEST(walk.items[1].bytes == "a2");
}

BOOST_AUTO_TEST_CASE(maildir_yields_cur_and_new_messages_and_skips_tmp) {
  TempDir dir;
  const fs::path maildir = dir.path() / "Maildir";
  Write(maildir / "cur" / "1700000000.M1.host:2,S", "Subject: seen\n\nx");
  Write(maildir / "new" / "1700000001.M2.host", "Subject: new\n\ny");
  Write(maildir / "tmp" / "1700000002.M3.host", "half written");
  Write(maildir / "dovecot-uidlist", "3 V1 N4");
  Write(maildir / "cur" / "sub" / "odd", "not a message");
  Write(maildir / ".Archive" / "cur" / "old", "Maildir++ folder, hidden");
  Write(dir.path() / "z.xml", "z");
  const Walk walk = Run(dir.path());
  BOOST_TEST(walk.status.ok());
  BOOST_TEST(walk.errors.empty());
  const std::vector<std::string> want = {"Maildir/cur/1700000000.M1.host:2,S",
                                         "Maildir/new/1700000001.M2.host", "z.xml"};
  BOOST_TEST(Origins(walk, dir.path()) == want, boost::test_tools::per_element());

  // The maildir itself given as the path works the same.
  const Walk direct = Run(maildir);
  BOOST_TEST(direct.items.size() == 2u);
}

BOOST_AUTO_TEST_CASE(mbox_file_is_split_into_one_input_per_message) {
  TempDir dir;
  const fs::path mbox = dir.path() / "reports.mbox";
  Write(mbox, kMbox);
  const Walk walk = Run(mbox);
  BOOST_TEST(walk.status.ok());
  BOOST_TEST(walk.errors.empty());
  BOOST_TEST_REQUIRE(walk.items.size() == 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    BOOST_TEST(walk.items[i].origin == mbox.string() + "#" + std::to_string(i + 1));
    BOOST_TEST(walk.items[i].name == "reports.mbox");
    BOOST_TEST(walk.items[i].size == walk.items[i].bytes.size());
  }
  BOOST_TEST(walk.items[0].bytes ==
             "Subject: one\n"
             "\n"
             "first body\n"
             "From the quoted line\n"
             ">From twice quoted\n"
             "From inside a paragraph is not a separator\n");
  BOOST_TEST(walk.items[1].bytes == "Subject: two\n\nsecond body\n");
  BOOST_TEST(walk.items[2].bytes == "Subject: three\n\nthird body\n");
}

BOOST_AUTO_TEST_CASE(mbox_inside_a_directory_is_split_too) {
  TempDir dir;
  Write(dir.path() / "box" / "inbox", kMbox);
  Write(dir.path() / "box" / "plain.eml", "Subject: x\n\ny\n");
  const Walk walk = Run(dir.path());
  const std::vector<std::string> want = {"box/inbox#1", "box/inbox#2", "box/inbox#3",
                                         "box/plain.eml"};
  BOOST_TEST(Origins(walk, dir.path()) == want, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(file_over_max_input_bytes_is_yielded_unread_as_too_large) {
  TempDir dir;
  Write(dir.path() / "big.xml", std::string(2048, 'x'));
  Write(dir.path() / "small.xml", "<feedback/>");
  UnpackLimits limits;
  limits.max_input_bytes = 1024;
  const Walk walk = Run(dir.path(), limits);
  BOOST_TEST(walk.errors.empty());
  BOOST_TEST_REQUIRE(walk.items.size() == 2u);
  BOOST_TEST(walk.items[0].name == "big.xml");
  BOOST_TEST(walk.items[0].too_large);
  BOOST_TEST(walk.items[0].size == 2048u);
  BOOST_TEST(walk.items[0].bytes.empty());
  BOOST_TEST(!walk.items[1].too_large);
  BOOST_TEST(walk.items[1].bytes == "<feedback/>");

  // Exactly at the limit is read.
  limits.max_input_bytes = 2048;
  const Walk exact = Run(dir.path() / "big.xml", limits);
  BOOST_TEST_REQUIRE(exact.items.size() == 1u);
  BOOST_TEST(!exact.items[0].too_large);
  BOOST_TEST(exact.items[0].bytes.size() == 2048u);
}

BOOST_AUTO_TEST_CASE(mbox_message_over_max_input_bytes_is_too_large_and_the_others_are_read) {
  TempDir dir;
  const std::string big_body(4096, 'b');
  Write(dir.path() / "box",
        "From a Mon Jan  1 00:00:00 2024\nSubject: small\n\none\n\n"
        "From b Mon Jan  1 00:00:00 2024\nSubject: big\n\n" +
            big_body +
            "\n\n"
            "From c Mon Jan  1 00:00:00 2024\nSubject: small\n\nthree\n");
  UnpackLimits limits;
  limits.max_input_bytes = 1024;
  const Walk walk = Run(dir.path() / "box", limits);
  BOOST_TEST(walk.errors.empty());
  BOOST_TEST_REQUIRE(walk.items.size() == 3u);
  BOOST_TEST(!walk.items[0].too_large);
  BOOST_TEST(walk.items[1].too_large);
  BOOST_TEST(walk.items[1].bytes.empty());
  BOOST_TEST(walk.items[1].size > 4096u);
  BOOST_TEST(walk.items[1].origin == (dir.path() / "box").string() + "#2");
  BOOST_TEST(walk.items[2].bytes == "Subject: small\n\nthree\n");
}

BOOST_AUTO_TEST_CASE(mbox_with_more_messages_than_allowed_reports_the_limit_and_keeps_the_first) {
  TempDir dir;
  Write(dir.path() / "box", kMbox);
  Write(dir.path() / "next.xml", "n");
  UnpackLimits limits;
  limits.max_mbox_messages = 2;
  const Walk walk = Run(dir.path(), limits);
  BOOST_TEST(walk.status.ok());
  const std::vector<std::string> want = {"box#1", "box#2", "next.xml"};
  BOOST_TEST(Origins(walk, dir.path()) == want, boost::test_tools::per_element());
  BOOST_TEST_REQUIRE(walk.errors.size() == 1u);
  BOOST_TEST(walk.errors[0].first == (dir.path() / "box").string());
  BOOST_TEST(walk.errors[0].second.reason() == "max_mbox_messages");
  BOOST_TEST(static_cast<int>(walk.errors[0].second.code()) ==
             static_cast<int>(StatusCode::kLimitExceeded));
}

BOOST_AUTO_TEST_CASE(mbox_line_longer_than_the_read_buffer_stays_in_one_message) {
  TempDir dir;
  // A "From " deep inside a very long line must not split the message, and
  // the line must arrive whole.
  const std::string long_line = std::string(200 * 1024, 'x') + "\nFrom not-a-separator\n";
  Write(dir.path() / "box", "From a Mon Jan  1 00:00:00 2024\nSubject: long\n\n" + long_line +
                                "\nFrom b Mon Jan  1 00:00:00 2024\n" + std::string(70000, 'y'));
  const Walk walk = Run(dir.path() / "box");
  BOOST_TEST_REQUIRE(walk.items.size() == 2u);
  BOOST_TEST(walk.items[0].bytes == "Subject: long\n\n" + long_line);
  BOOST_TEST(walk.items[1].bytes == std::string(70000, 'y'));
}

BOOST_AUTO_TEST_CASE(missing_path_is_not_found) {
  TempDir dir;
  const Walk walk = Run(dir.path() / "nope");
  BOOST_TEST(static_cast<int>(walk.status.code()) == static_cast<int>(StatusCode::kNotFound));
  BOOST_TEST(walk.items.empty());
}

BOOST_AUTO_TEST_CASE(broken_symlink_is_reported_and_the_walk_goes_on) {
  TempDir dir;
  Write(dir.path() / "a.xml", "a");
  fs::create_symlink(dir.path() / "gone.xml", dir.path() / "b.xml");
  Write(dir.path() / "c.xml", "c");
  const Walk walk = Run(dir.path());
  BOOST_TEST(walk.status.ok());
  const std::vector<std::string> want = {"a.xml", "c.xml"};
  BOOST_TEST(Origins(walk, dir.path()) == want, boost::test_tools::per_element());
  BOOST_TEST_REQUIRE(walk.errors.size() == 1u);
  BOOST_TEST(walk.errors[0].first == (dir.path() / "b.xml").string());
  BOOST_TEST(static_cast<int>(walk.errors[0].second.code()) ==
             static_cast<int>(StatusCode::kIoError));
}

BOOST_AUTO_TEST_CASE(symlinks_are_followed_to_files_inside_the_tree_only) {
  TempDir outside;
  Write(outside.path() / "secret.xml", "outside");
  TempDir dir;
  Write(dir.path() / "real" / "r.xml", "inside");
  fs::create_symlink(dir.path() / "real" / "r.xml", dir.path() / "link-in.xml");
  fs::create_symlink(outside.path() / "secret.xml", dir.path() / "link-out.xml");
  fs::create_directory_symlink(dir.path() / "real", dir.path() / "loop");
  const Walk walk = Run(dir.path());
  BOOST_TEST(walk.status.ok());
  const std::vector<std::string> want = {"link-in.xml", "real/r.xml"};
  BOOST_TEST(Origins(walk, dir.path()) == want, boost::test_tools::per_element());
  BOOST_TEST(walk.items[0].bytes == "inside");
  BOOST_TEST_REQUIRE(walk.errors.size() == 1u);
  BOOST_TEST(walk.errors[0].first == (dir.path() / "link-out.xml").string());
  BOOST_TEST(walk.errors[0].second.reason() == "symlink_outside_tree");
}

BOOST_AUTO_TEST_CASE(fifo_in_the_tree_is_reported_without_blocking_the_walk) {
  TempDir dir;
  Write(dir.path() / "a.xml", "a");
  BOOST_TEST_REQUIRE(::mkfifo((dir.path() / "pipe").c_str(), 0600) == 0);
  Write(dir.path() / "z.xml", "z");
  const Walk walk = Run(dir.path());
  BOOST_TEST(walk.status.ok());
  BOOST_TEST(walk.items.size() == 2u);
  BOOST_TEST_REQUIRE(walk.errors.size() == 1u);
  BOOST_TEST(walk.errors[0].first == (dir.path() / "pipe").string());
}

BOOST_AUTO_TEST_CASE(sink_failure_stops_the_walk_and_is_returned) {
  TempDir dir;
  Write(dir.path() / "a.xml", "a");
  Write(dir.path() / "b.xml", "b");
  Write(dir.path() / "c.xml", "c");
  int calls = 0;
  const Status status = ForEachInput(
      dir.path(), UnpackLimits{},
      [&](SourceItem&&) {
        ++calls;
        return calls == 2 ? Status::Unavailable("store_busy", "database is locked") : Status::Ok();
      },
      [](const std::string&, const Status&) {});
  BOOST_TEST(calls == 2);
  BOOST_TEST(status.reason() == "store_busy");

  // The same from inside an mbox.
  Write(dir.path() / "box", kMbox);
  calls = 0;
  const Status mbox_status = ForEachInput(
      dir.path() / "box", UnpackLimits{},
      [&](SourceItem&&) {
        ++calls;
        return Status::Unavailable("store_busy", "database is locked");
      },
      [](const std::string&, const Status&) {});
  BOOST_TEST(calls == 1);
  BOOST_TEST(mbox_status.reason() == "store_busy");
}

// ----- SplitMbox -------------------------------------------------------------

BOOST_AUTO_TEST_CASE(split_mbox_unquotes_one_level_of_from_and_keeps_other_lines) {
  Status status = Status::Internal("unset");
  const std::vector<std::string> messages = SplitMbox(kMbox, 100, &status);
  BOOST_TEST(status.ok());
  BOOST_TEST_REQUIRE(messages.size() == 3u);
  BOOST_TEST(messages[0].find("\nFrom the quoted line\n") != std::string::npos);
  BOOST_TEST(messages[0].find("\n>From twice quoted\n") != std::string::npos);
  BOOST_TEST(messages[0].find("From inside a paragraph") != std::string::npos);
  BOOST_TEST(messages[1] == "Subject: two\n\nsecond body\n");
}

BOOST_AUTO_TEST_CASE(split_mbox_handles_crlf_and_strips_the_separator_blank_line) {
  Status status;
  const std::vector<std::string> messages = SplitMbox(
      "From a x\r\nSubject: 1\r\n\r\nbody\r\n\r\nFrom b x\r\nSubject: 2\r\n\r\n>From here\r\n", 10,
      &status);
  BOOST_TEST(status.ok());
  BOOST_TEST_REQUIRE(messages.size() == 2u);
  BOOST_TEST(messages[0] == "Subject: 1\r\n\r\nbody\r\n");
  BOOST_TEST(messages[1] == "Subject: 2\r\n\r\nFrom here\r\n");
}

BOOST_AUTO_TEST_CASE(split_mbox_stops_at_max_messages_with_the_limit_status) {
  Status status;
  const std::vector<std::string> messages = SplitMbox(kMbox, 2, &status);
  BOOST_TEST_REQUIRE(messages.size() == 2u);
  BOOST_TEST(static_cast<int>(status.code()) == static_cast<int>(StatusCode::kLimitExceeded));
  BOOST_TEST(status.reason() == "max_mbox_messages");
  BOOST_TEST(status.message() == "number of mbox messages exceeds max_mbox_messages (2)");
}

BOOST_AUTO_TEST_CASE(split_mbox_keeps_text_before_the_first_separator_unless_blank) {
  Status status;
  std::vector<std::string> messages =
      SplitMbox("Subject: lost\n\nbody\n\nFrom a x\nSubject: b\n", 10, &status);
  BOOST_TEST_REQUIRE(messages.size() == 2u);
  BOOST_TEST(messages[0] == "Subject: lost\n\nbody\n");
  messages = SplitMbox("\n\nFrom a x\nSubject: b\n", 10, &status);
  BOOST_TEST_REQUIRE(messages.size() == 1u);
  BOOST_TEST(messages[0] == "Subject: b\n");
  BOOST_TEST(SplitMbox("", 10, &status).empty());
  BOOST_TEST(status.ok());
  // A null status is allowed.
  BOOST_TEST(SplitMbox("From a\nx\n", 10, nullptr).size() == 1u);
}

BOOST_AUTO_TEST_SUITE_END()

}  // namespace dmarcwatch::ingest
