#include "call_flow/current.hpp"

#include <gtest/gtest.h>

namespace partyline::call_flow {
namespace {

rooms::Rooms rooms_with(const std::string& name) {
  return rooms::parse_rooms_file("[[room]]\nname = \"" + name + "\"\n", "rooms.toml");
}

TEST(CurrentAnswers, AReplacementServesTheNextCallsWhileEarlierOnesKeepTheirSet) {
  CurrentAnswers current(rooms_with("alpha"), 1, "https://calls.example.com");
  const auto before = current.get();
  EXPECT_EQ(before->voice().room, "alpha");
  current.replace(rooms_with("beta"));
  EXPECT_EQ(current.get()->voice().room, "beta");
  EXPECT_EQ(before->voice().room, "alpha");  // still whole
  EXPECT_NE(before->voice().twiml.find("alpha"), std::string::npos);
}

}  // namespace
}  // namespace partyline::call_flow
