#define BOOST_TEST_MODULE alerts
#include <boost/test/unit_test.hpp>
