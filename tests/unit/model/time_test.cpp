#include "dmarcwatch/model/time.h"

#include <boost/test/unit_test.hpp>

namespace m = dmarcwatch::model;

BOOST_AUTO_TEST_SUITE(utc_time)

BOOST_AUTO_TEST_CASE(formats_utc) {
  BOOST_TEST(m::FormatIso8601(0) == "1970-01-01T00:00:00Z");
  BOOST_TEST(m::FormatIso8601(1718236800) == "2024-06-13T00:00:00Z");
  BOOST_TEST(m::FormatIso8601(951782399) == "2000-02-28T23:59:59Z");
  BOOST_TEST(m::FormatIso8601(-1) == "1969-12-31T23:59:59Z");
  BOOST_TEST(m::FormatDate(1718236800 + 86399) == "2024-06-13");
}

BOOST_AUTO_TEST_CASE(parses_dates_and_times_as_utc) {
  BOOST_TEST(*m::ParseIsoTime("2024-06-13") == 1718236800);
  BOOST_TEST(*m::ParseIsoTime("2024-06-13T01:02:03Z") == 1718236800 + 3723);
  BOOST_TEST(*m::ParseIsoTime("2000-03-01") == 951868800);
  BOOST_TEST(!m::ParseIsoTime("2024-13-01"));
  BOOST_TEST(!m::ParseIsoTime("2024-06-13T01:02:03"));
  BOOST_TEST(!m::ParseIsoTime("yesterday"));
}

BOOST_AUTO_TEST_CASE(round_trips_every_day_of_four_centuries) {
  for (m::UnixTime t = -86400LL * 365 * 100; t < 86400LL * 365 * 300; t += 86400 * 7 + 3601) {
    BOOST_REQUIRE_EQUAL(*m::ParseIsoTime(m::FormatIso8601(t)), t);
  }
}

BOOST_AUTO_TEST_CASE(since_takes_a_date_or_a_span_back_from_now) {
  const m::UnixTime now = 1718236800;
  BOOST_TEST(*m::ParseSince("30d", now) == now - 30 * 86400);
  BOOST_TEST(*m::ParseSince("2w", now) == now - 14 * 86400);
  BOOST_TEST(*m::ParseSince("2024-01-01", now) == 1704067200);
  BOOST_TEST(!m::ParseSince("30x", now));
  BOOST_TEST(!m::ParseSince("-3d", now));
  BOOST_TEST(*m::ParseDuration("15m") == 900);
}

BOOST_AUTO_TEST_CASE(day_number_floors_before_the_epoch) {
  BOOST_TEST(m::DayNumber(0) == 0);
  BOOST_TEST(m::DayNumber(86399) == 0);
  BOOST_TEST(m::DayNumber(-1) == -1);
  BOOST_TEST(m::DayNumber(-86400) == -1);
  BOOST_TEST(m::DayNumber(-86401) == -2);
}

BOOST_AUTO_TEST_SUITE_END()
