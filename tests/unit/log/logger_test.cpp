#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

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

// A brace list of plain fields is written without a boost::json::object; the line must be the
// one the json::object path writes, byte for byte.
TEST(Logger, PlainFieldsGiveTheSameLineAsAJsonObject) {
  Logger log(-1, LogLevel::kInfo, fixed_clock());
  const std::string sid = "CA0123456789abcdef0123456789abcdef";
  const std::string_view caller = "+15551234567";
  const Fields fields = {{"CallSid", sid},
                         {"From", caller},
                         {"note", "quote \" backslash \\ newline \n tab \t ctl \x01 utf8 \xc3\xa9"},
                         {"shaped", "+4915112345678"},
                         {"negative", -42},
                         {"big", std::uint64_t{18446744073709551615ull}},
                         {"size", std::size_t{7}},
                         {"yes", true},
                         {"no", false},
                         {"ratio", 0.25},
                         {"evt", "overwrite"},
                         {"CallSid", "second value"},
                         {"empty", ""}};
  boost::json::object object;
  for (const Field& f : fields) {
    if (object.contains(f.name())) continue;  // json::object keeps a name's first value too
    switch (f.kind()) {
      case Field::Kind::kString:
        object[f.name()] = f.string();
        break;
      case Field::Kind::kSigned:
        object[f.name()] = f.signed_value();
        break;
      case Field::Kind::kUnsigned:
        object[f.name()] = f.unsigned_value();
        break;
      case Field::Kind::kBool:
        object[f.name()] = f.bool_value();
        break;
      case Field::Kind::kDouble:
        object[f.name()] = f.double_value();
        break;
      case Field::Kind::kAbsent:
        break;
    }
  }
  const std::string plain = log.format(LogLevel::kWarn, "e", fields);
  EXPECT_EQ(plain, log.format(LogLevel::kWarn, "e", std::move(object)));
  const auto o = boost::json::parse(plain).as_object();
  EXPECT_EQ(o.at("From"), "***4567");
  EXPECT_EQ(o.at("shaped"), "***5678");
  EXPECT_EQ(o.at("CallSid").as_string(), sid);
  EXPECT_EQ(o.at("evt"), "e");
  EXPECT_EQ(o.at("big").as_uint64(), 18446744073709551615ull);
}

TEST(Logger, AFieldUnlessEmptyIsLeftOutWhenEmpty) {
  Logger log(-1, LogLevel::kInfo, fixed_clock());
  EXPECT_EQ(log.format(LogLevel::kWarn, "e",
                       {{"status", 403}, Field::unless_empty("reason", ""), {"reason", "later"}}),
            log.format(LogLevel::kWarn, "e", {{"status", 403}, {"reason", "later"}}));
  EXPECT_EQ(log.format(LogLevel::kWarn, "e", {{"status", 403}, Field::unless_empty("reason", "x")}),
            log.format(LogLevel::kWarn, "e", {{"status", 403}, {"reason", "x"}}));
  EXPECT_EQ(log.format(LogLevel::kWarn, "e", {Field::unless_empty("reason", "")}),
            log.format(LogLevel::kWarn, "e", {}));
}

TEST(Logger, LevelFilters) {
  Logger log(-1, LogLevel::kWarn, fixed_clock());
  EXPECT_FALSE(log.enabled(LogLevel::kInfo));
  EXPECT_TRUE(log.enabled(LogLevel::kError));
}

TEST(Logger, TimestampsFollowTheClockAcrossSeconds) {
  std::atomic<std::int64_t> ms{1761419863998};
  Logger log(-1, LogLevel::kInfo, [&] {
    return std::chrono::system_clock::time_point(std::chrono::milliseconds(ms.load()));
  });
  const auto ts = [&] {
    return std::string(
        boost::json::parse(log.format(LogLevel::kInfo, "e", {})).at("ts").as_string());
  };
  EXPECT_EQ(ts(), "2025-10-25T19:17:43.998Z");
  ms = 1761419864005;
  EXPECT_EQ(ts(), "2025-10-25T19:17:44.005Z");
  ms = 1761419864999;
  EXPECT_EQ(ts(), "2025-10-25T19:17:44.999Z");
  ms = 1761506264000;
  EXPECT_EQ(ts(), "2025-10-26T19:17:44.000Z");
}

// Reads what the pipe holds until `lines` lines arrived or the deadline passed.
std::vector<std::string> read_lines(int fd, std::size_t lines, std::chrono::milliseconds within) {
  std::string data;
  std::vector<std::string> out;
  const auto deadline = std::chrono::steady_clock::now() + within;
  while (out.size() < lines && std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 20) <= 0) continue;
    char buf[65536];
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    data.append(buf, static_cast<std::size_t>(n));
    for (auto nl = data.find('\n'); nl != std::string::npos; nl = data.find('\n')) {
      out.push_back(data.substr(0, nl));
      data.erase(0, nl + 1);
    }
  }
  return out;
}

TEST(Logger, BufferedLinesArriveWholeInOrderAndBeforeALaterWarning) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  ::fcntl(fds[0], F_SETPIPE_SZ, 1 << 20);
  {
    Logger log(fds[1], LogLevel::kInfo, fixed_clock(), Logger::Mode::kBuffered);
    const int per_thread = 2000;
    std::vector<std::thread> threads;
    for (int t = 0; t < 2; ++t) {
      threads.emplace_back([&log, t] {
        for (int i = 0; i < per_thread; ++i)
          log.info("n", {{"thread", t}, {"i", i}, {"From", "+15551234567"}});
      });
    }
    for (auto& t : threads)
      t.join();
    log.warn("last", {{"reason", "after every info line"}});
    const auto lines = read_lines(fds[0], 2 * per_thread + 1, std::chrono::seconds(10));
    ASSERT_EQ(lines.size(), static_cast<std::size_t>(2 * per_thread + 1));
    int next[2] = {0, 0};
    for (std::size_t k = 0; k + 1 < lines.size(); ++k) {
      const auto o = boost::json::parse(lines[k]).as_object();
      const auto t = o.at("thread").as_int64();
      EXPECT_EQ(o.at("i").as_int64(), next[t]++) << lines[k];
      EXPECT_EQ(o.at("From"), "***4567");
    }
    EXPECT_EQ(next[0], per_thread);
    EXPECT_EQ(boost::json::parse(lines.back()).at("evt"), "last");

    // A quiet service's single line still goes out on its own, without a flush.
    log.info("alone");
    const auto alone = read_lines(fds[0], 1, std::chrono::seconds(10));
    ASSERT_EQ(alone.size(), 1u);
    EXPECT_EQ(boost::json::parse(alone[0]).at("evt"), "alone");
    log.info("at.exit");
  }
  // The destructor writes what was still pending.
  const auto rest = read_lines(fds[0], 1, std::chrono::seconds(10));
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(boost::json::parse(rest[0]).at("evt"), "at.exit");
  ::close(fds[0]);
  ::close(fds[1]);
}

TEST(Logger, ALineAfterAWarningThatWroteThePendingOnesStillGoesOut) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  {
    Logger log(fds[1], LogLevel::kInfo, fixed_clock(), Logger::Mode::kBuffered);
    for (int round = 0; round < 200; ++round) {
      log.info("a");
      log.warn("b");  // writes "a" itself, before the background writer gets to it
      log.info("c");  // must not wait for a wake-up that was spent on "a"
      const auto lines = read_lines(fds[0], 3, std::chrono::seconds(10));
      ASSERT_EQ(lines.size(), 3u) << "round " << round;
      EXPECT_EQ(boost::json::parse(lines[2]).at("evt"), "c");
    }
  }
  ::close(fds[0]);
  ::close(fds[1]);
}

}  // namespace
}  // namespace partyline::log
