#include "http/range.hpp"

#include <gtest/gtest.h>

namespace partyline::http {
namespace {

using Kind = ByteRange::Kind;

TEST(Range, OneRangeInItsFormsAsAnAudioElementAsks) {
  struct Case {
    const char* header;
    std::uint64_t size;
    Kind kind;
    std::uint64_t first, last;
  } cases[] = {
      {"bytes=0-", 1000, Kind::kPart, 0, 999},
      {"bytes=100-199", 1000, Kind::kPart, 100, 199},
      {"bytes=100-5000", 1000, Kind::kPart, 100, 999},  // the end is clamped to the file
      {"bytes=-10", 1000, Kind::kPart, 990, 999},       // the last 10
      {"bytes=-5000", 1000, Kind::kPart, 0, 999},       // more than the file: all of it
      {" Bytes=5-5 ", 1000, Kind::kPart, 5, 5},         // the unit in any case, spaces around
      {"bytes=999-", 1000, Kind::kPart, 999, 999},
  };
  for (const auto& c : cases) {
    const ByteRange r = parse_range(c.header, c.size);
    EXPECT_EQ(r.kind, c.kind) << c.header;
    EXPECT_EQ(r.first, c.first) << c.header;
    EXPECT_EQ(r.last, c.last) << c.header;
    EXPECT_EQ(r.length(), c.last - c.first + 1) << c.header;
  }
}

TEST(Range, OutsideTheFileIsUnsatisfiable) {
  EXPECT_EQ(parse_range("bytes=1000-", 1000).kind, Kind::kUnsatisfiable);
  EXPECT_EQ(parse_range("bytes=5000-6000", 1000).kind, Kind::kUnsatisfiable);
  EXPECT_EQ(parse_range("bytes=-0", 1000).kind, Kind::kUnsatisfiable);
  EXPECT_EQ(parse_range("bytes=0-", 0).kind, Kind::kUnsatisfiable);
}

TEST(Range, AnythingElseIsTheWholeFile) {
  for (const char* h :
       {"", "bytes", "bytes=", "bytes=-", "items=0-10", "bytes=10-5", "bytes=a-b", "bytes=0-1,5-6",
        "bytes=+1-2", "bytes=18446744073709551616-", "bytes=1-2-3"}) {
    EXPECT_EQ(parse_range(h, 1000).kind, Kind::kWhole) << h;
  }
}

}  // namespace
}  // namespace partyline::http
