#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "log/logger.hpp"

namespace partyline::log {
namespace {

util::Clock fixed_clock() {
  return [] {
    return std::chrono::system_clock::time_point(std::chrono::milliseconds(1761419863123));
  };
}

TEST(Logger, LinesAreJsonWithTsAndEvt) {
  Logger log(-1, LogLevel::kInfo, fixed_clock());
  const auto line = log.format(LogLevel::kInfo, "voice.hit", {{"CallSid", "CA1"}, {"n", 3}});
  const auto o = boost::json::parse(line).as_object();
  EXPECT_EQ(o.at("ts"), "2025-10-25T19:17:43.123Z");
  EXPECT_EQ(o.at("evt"), "voice.hit");
  EXPECT_EQ(o.at("level"), "info");
  EXPECT_EQ(o.at("CallSid"), "CA1");
  EXPECT_EQ(o.at("n"), 3);
  EXPECT_EQ(line.find('\n'), std::string::npos);
}

TEST(Logger, RedactsPhoneNumbersToTheLastFourDigits) {
  Logger log(-1, LogLevel::kInfo, fixed_clock());
  const auto line = log.format(LogLevel::kInfo, "voice.hit",
                               {{"From", "+15551234567"},
                                {"To", "+1 (800) 555-0100"},
                                {"Caller", "client:alice"},
                                {"Other", "+447700900123"},
                                {"nested", boost::json::object{{"Called", "+15550001111"}}},
                                {"RecordingDuration", "42"}});
  EXPECT_EQ(line.find("5551234567"), std::string::npos) << line;
  EXPECT_EQ(line.find("5550100"), std::string::npos) << line;
  EXPECT_EQ(line.find("7700900123"), std::string::npos) << line;
  EXPECT_EQ(line.find("5550001111"), std::string::npos) << line;
  const auto o = boost::json::parse(line).as_object();
  EXPECT_EQ(o.at("From"), "***4567");
  EXPECT_EQ(o.at("To"), "***0100");
  EXPECT_EQ(o.at("Caller"), "***");
  EXPECT_EQ(o.at("Other"), "***0123");
  EXPECT_EQ(o.at("nested").at("Called"), "***1111");
  EXPECT_EQ(o.at("RecordingDuration"), "42");
}

TEST(Logger, ReservedKeysCannotBeOverwritten) {
  Logger log(-1, LogLevel::kInfo, fixed_clock());
  const auto o =
      boost::json::parse(log.format(LogLevel::kWarn, "a", {{"evt", "b"}, {"ts", "x"}})).as_object();
  EXPECT_EQ(o.at("evt"), "a");
  EXPECT_EQ(o.at("level"), "warn");
  EXPECT_NE(o.at("ts"), "x");
}

TEST(Logger, LevelFilters) {
  Logger log(-1, LogLevel::kWarn, fixed_clock());
  EXPECT_FALSE(log.enabled(LogLevel::kInfo));
  EXPECT_TRUE(log.enabled(LogLevel::kError));
}

}  // namespace
}  // namespace partyline::log
