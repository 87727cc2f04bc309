#pragma once
// DMARC_CHECK(cond): an internal invariant. When it does not hold, the
// program has a bug: log the location at critical level and abort (Postfix
// msg_panic, DuckDB INTERNAL). A check must never fire because of input;
// input problems are a Status (status.h).

#include <cstdio>
#include <cstdlib>

#define DMARC_CHECK(cond)                                                       \
  do {                                                                          \
    if (!(cond)) {                                                              \
      std::fprintf(stderr, "critical: event=check_failed where=%s:%d cond=%s\n", \
                   __FILE__, __LINE__, #cond);                                  \
      std::abort();                                                             \
    }                                                                           \
  } while (false)
