#define BOOST_TEST_MODULE generator
#include <boost/test/unit_test.hpp>
