#include <gtest/gtest.h>

#include "recordings/naming.hpp"

namespace partyline::recordings {
namespace {

using namespace std::chrono;

TEST(Naming, ParsesTwilioTimes) {
  const auto expected = sys_days(year(2025) / October / 25) + hours(19) + minutes(17) + seconds(43);
  for (const char* text : {"Sat, 25 Oct 2025 19:17:43 +0000", "25 Oct 2025 19:17:43 +0000",
                           "Sat, 25 Oct 2025 21:17:43 +0200", "Sat, 25 Oct 2025 14:17:43 -0500",
                           "Sat, 25 Oct 2025 19:17:43 GMT", "2025-10-25T19:17:43Z",
                           "2025-10-25T19:17:43.250Z", "2025-10-25T20:17:43+01:00"}) {
    SCOPED_TRACE(text);
    const auto t = parse_twilio_time(text);
    ASSERT_TRUE(t.has_value());
    EXPECT_EQ(time_point_cast<seconds>(*t), expected);
  }
}

TEST(Naming, RejectsMalformedTimes) {
  for (const char* text :
       {"", "yesterday", "Sat, 32 Oct 2025 19:17:43 +0000", "Sat, 25 Foo 2025 19:17:43 +0000",
        "2025-13-25T19:17:43Z", "2025-10-25T19:17:43", "25 Oct 2025 19:17:43 +00",
        "2025-02-30T00:00:00Z"}) {
    SCOPED_TRACE(text);
    EXPECT_FALSE(parse_twilio_time(text).has_value());
  }
}

TEST(Naming, KeyFollowsTheDesign) {
  const auto t = *parse_twilio_time("Sat, 25 Oct 2025 19:17:43 +0000");
  const std::string sid = "RE0123456789abcdef0123456789abcdef";
  EXPECT_EQ(recording_key("partyline/", t, sid, "mp3"),
            "partyline/2025-10-25T19-17-43Z-RE0123456789abcdef0123456789abcdef.mp3");
  EXPECT_EQ(recording_key("", t, sid, "wav"), "2025-10-25T19-17-43Z-" + sid + ".wav");
  EXPECT_EQ(iso8601(t), "2025-10-25T19:17:43Z");
}

TEST(Naming, BackoffGrowsWithJitterUpToTheCap) {
  const milliseconds min(1000), max(600'000);
  EXPECT_EQ(backoff_delay(0, min, max, 0.0), milliseconds(500));
  EXPECT_EQ(backoff_delay(0, min, max, 0.999999), milliseconds(999));
  EXPECT_EQ(backoff_delay(1, min, max, 0.0), milliseconds(1000));
  EXPECT_EQ(backoff_delay(3, min, max, 0.0), milliseconds(4000));
  EXPECT_EQ(backoff_delay(30, min, max, 0.0), milliseconds(300'000));
  EXPECT_EQ(backoff_delay(1000, min, max, 0.999999), milliseconds(599'999));
  for (unsigned attempt = 0; attempt < 40; ++attempt) {
    SCOPED_TRACE(attempt);
    const auto d = backoff_delay(attempt, min, max, 0.5);
    EXPECT_GE(d, milliseconds(500));
    EXPECT_LE(d, max);
    EXPECT_GE(backoff_delay(attempt + 1, min, max, 0.5), d);
  }
}

}  // namespace
}  // namespace partyline::recordings
