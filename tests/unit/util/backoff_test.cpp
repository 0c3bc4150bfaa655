#include "util/backoff.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace partyline::util {
namespace {

using std::chrono::milliseconds;

TEST(Backoff, DoublesFromMinToMaxAndStaysThere) {
  Backoff backoff(milliseconds(100), milliseconds(30'000));
  std::vector<long> delays;
  for (int i = 0; i < 12; ++i)
    delays.push_back(static_cast<long>(backoff.failed().count()));
  EXPECT_EQ(delays, (std::vector<long>{100, 200, 400, 800, 1600, 3200, 6400, 12800, 25600, 30000,
                                       30000, 30000}));
  EXPECT_EQ(backoff.failures(), 12u);
}

TEST(Backoff, ASuccessStartsAgainFromMin) {
  Backoff backoff(milliseconds(100), milliseconds(30'000));
  backoff.failed();
  backoff.failed();
  backoff.succeeded();
  EXPECT_EQ(backoff.failures(), 0u);
  EXPECT_EQ(backoff.failed(), milliseconds(100));
}

TEST(Backoff, ManyFailuresDoNotOverflow) {
  Backoff backoff(milliseconds(1), milliseconds(5000));
  for (int i = 0; i < 100'000; ++i)
    backoff.failed();
  EXPECT_EQ(backoff.failed(), milliseconds(5000));
}

}  // namespace
}  // namespace partyline::util
