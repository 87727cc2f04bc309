#include "cli.h"

#include <boost/test/unit_test.hpp>

namespace app = dmarcwatch::app;

namespace {

app::CommandSpec Spec() {
  return {"reports", "reports [options]", "list", "",
          {{"domain", "D", "domain", ""},
           {"format", "FORMAT", "format", "table"},
           {"quiet", "", "quiet", ""}}};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(cli_args)

BOOST_AUTO_TEST_CASE(accepts_separate_and_inline_values_flags_and_positionals) {
  auto p = app::ParseArgs(Spec(), {"--domain", "a.example", "x", "--format=json", "--quiet", "y"});
  BOOST_REQUIRE(p.ok());
  BOOST_TEST(p->Get("domain").value() == "a.example");
  BOOST_TEST(p->Get("format").value() == "json");
  BOOST_TEST(p->Has("quiet"));
  BOOST_TEST((p->positional() == std::vector<std::string>{"x", "y"}));
}

BOOST_AUTO_TEST_CASE(defaults_apply_and_repeats_are_kept) {
  auto p = app::ParseArgs(Spec(), {"--domain", "a", "--domain", "b"});
  BOOST_REQUIRE(p.ok());
  BOOST_TEST(p->Get("format").value() == "table");
  BOOST_TEST(!p->Has("format"));
  BOOST_TEST(p->Get("domain").value() == "b");
  BOOST_TEST(p->Values("domain").size() == 2u);
  BOOST_TEST(!p->Get("quiet").has_value());
}

BOOST_AUTO_TEST_CASE(double_dash_ends_options) {
  auto p = app::ParseArgs(Spec(), {"--", "--quiet"});
  BOOST_REQUIRE(p.ok());
  BOOST_TEST(!p->Has("quiet"));
  BOOST_TEST(p->positional().at(0) == "--quiet");
}

BOOST_AUTO_TEST_CASE(unknown_options_and_missing_values_are_errors_naming_the_option) {
  auto unknown = app::ParseArgs(Spec(), {"--nope"});
  BOOST_REQUIRE(!unknown.ok());
  BOOST_TEST(unknown.status().message().find("--nope") != std::string::npos);
  auto missing = app::ParseArgs(Spec(), {"--domain"});
  BOOST_REQUIRE(!missing.ok());
  BOOST_TEST(missing.status().message().find("--domain") != std::string::npos);
  auto flag_value = app::ParseArgs(Spec(), {"--quiet=yes"});
  BOOST_TEST(!flag_value.ok());
  auto single_dash = app::ParseArgs(Spec(), {"-x"});
  BOOST_TEST(!single_dash.ok());
}

BOOST_AUTO_TEST_CASE(help_lists_every_option_with_its_default) {
  const std::string help = app::HelpText(Spec(), {{"db", "PATH", "the store", "var/x.db"}});
  BOOST_TEST(help.find("usage: dmarcwatch reports") != std::string::npos);
  BOOST_TEST(help.find("--format FORMAT") != std::string::npos);
  BOOST_TEST(help.find("(default: table)") != std::string::npos);
  BOOST_TEST(help.find("--db PATH") != std::string::npos);
  BOOST_TEST(help.find("(default: var/x.db)") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
