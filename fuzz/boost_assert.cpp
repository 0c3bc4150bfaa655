// BOOST_ASSERT in the fuzz build (BOOST_ENABLE_ASSERT_HANDLER): every failed assertion aborts
// with its place, as assert() does, except one that is wrong in Boost 1.81. Beast's chunked
// parser asserts that, once it has seen the final "0\r\n" chunk line, it is handed at least 5 bytes
// again; a client that sends the body a byte at a time hands it 4 ("0\r\n" plus one), and the code
// after the assertion handles that correctly (it asks for more). Beast corrected the assertion
// upstream (boostorg/beast pull request 2861, May 2024); release builds (NDEBUG) never had it.
#include <boost/assert.hpp>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace {

bool known_false_alarm(std::string_view expr, std::string_view file) {
  return expr == "n >= 5" && file.ends_with("boost/beast/http/impl/basic_parser.ipp");
}

}  // namespace

namespace boost {

void assertion_failed(char const* expr, char const* function, char const* file, long line) {
  if (known_false_alarm(expr, file)) return;
  std::fprintf(stderr, "%s:%ld: %s: Assertion `%s' failed.\n", file, line, function, expr);
  std::abort();
}

void assertion_failed_msg(char const* expr, char const* msg, char const* function, char const* file,
                          long line) {
  std::fprintf(stderr, "%s:%ld: %s: Assertion `%s' failed: %s\n", file, line, function, expr, msg);
  std::abort();
}

}  // namespace boost
