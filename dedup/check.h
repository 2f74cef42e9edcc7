// NG_CHECK: an always-on invariant check. An impossible state crashes loudly so that the
// orchestrator restarts the process from committed state, instead of paging on corrupt state.
#pragma once

#include <cstdio>
#include <cstdlib>

#define NG_CHECK(cond)                                                                   \
  do {                                                                                   \
    if (!(cond)) {                                                                       \
      std::fprintf(stderr, "NG_CHECK failed: %s at %s:%d\n", #cond, __FILE__, __LINE__); \
      std::abort();                                                                      \
    }                                                                                    \
  } while (0)
