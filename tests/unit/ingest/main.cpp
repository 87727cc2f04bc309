#define BOOST_TEST_MODULE ingest
#include <boost/test/unit_test.hpp>
