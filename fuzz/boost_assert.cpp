// BOOST_ASSERT in the fuzz build (BOOST_ENABLE_ASSERT_HANDLER): every failed assertion aborts
// with its place, as assert() does. (Beast 1.81's chunked parser asserts that, once it has seen
// the final "0\r\n" chunk line, it is handed at least 5 bytes again; RequestReader waits for 5, and
// the corpus keeps the input that found it: regression_final_chunk_byte_by_byte.)
#include <boost/assert.hpp>
#include <cstdio>
#include <cstdlib>

namespace boost {

void assertion_failed(char const* expr, char const* function, char const* file, long line) {
  std::fprintf(stderr, "%s:%ld: %s: Assertion `%s' failed.\n", file, line, function, expr);
  std::abort();
}

void assertion_failed_msg(char const* expr, char const* msg, char const* function, char const* file,
                          long line) {
  std::fprintf(stderr, "%s:%ld: %s: Assertion `%s' failed: %s\n", file, line, function, expr, msg);
  std::abort();
}

}  // namespace boost
