#include "live/hub.hpp"
#include "../support/eventually.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

namespace partyline::live {
namespace {

// A stream that keeps what it was sent.
class FakeSink : public http::StreamSink {
 public:
  bool send(std::string bytes) override {
    std::lock_guard lock(mutex_);
    if (closed_) return false;
    sent_ += bytes;
    return true;
  }
  bool open() const override {
    std::lock_guard lock(mutex_);
    return !closed_;
  }
  void close() override {
    std::lock_guard lock(mutex_);
    closed_ = true;
  }
  std::string sent() const {
    std::lock_guard lock(mutex_);
    return sent_;
  }

 private:
  mutable std::mutex mutex_;
  std::string sent_;
  bool closed_ = false;
};

using partyline::testing::eventually;

TEST(Hub, AWatcherGetsTheRoomAtOnceAndAfterEachChangeOnlyForItsRoom) {
  std::atomic<int> version{1};
  Hub hub(
      [&](const std::string& room) -> std::optional<std::string> {
        if (room == "gone") return std::nullopt;
        return "{\"room\":\"" + room + "\",\"v\":" + std::to_string(version.load()) + "}";
      },
      [](const std::string&) { return true; });
  auto alpha = std::make_shared<FakeSink>();
  auto beta = std::make_shared<FakeSink>();
  ASSERT_TRUE(hub.subscribe("alpha", alpha, "t1"));
  ASSERT_TRUE(hub.subscribe("beta", beta, "t2"));
  const std::string first = "event: room\ndata: {\"room\":\"alpha\",\"v\":1}\n\n";
  ASSERT_TRUE(eventually([&] { return alpha->sent() == first; })) << alpha->sent();
  ASSERT_TRUE(eventually([&] { return !beta->sent().empty(); }));

  version = 2;
  hub.changed("alpha");
  const std::string second = first + "event: room\ndata: {\"room\":\"alpha\",\"v\":2}\n\n";
  ASSERT_TRUE(eventually([&] { return alpha->sent() == second; })) << alpha->sent();
  EXPECT_EQ(beta->sent().find("\"v\":2"), std::string::npos) << "beta did not change";

  // A room that no longer exists ends its streams.
  auto gone = std::make_shared<FakeSink>();
  ASSERT_TRUE(hub.subscribe("gone", gone, "t3"));
  EXPECT_TRUE(eventually([&] { return !gone->open(); }));
  EXPECT_TRUE(eventually([&] { return hub.streams() == 2; }));
}

TEST(Hub, HeartbeatsKeepStreamsAliveAndEndThoseWhoseSessionEnded) {
  std::mutex mutex;
  std::string revoked;
  Hub hub([](const std::string&) { return std::optional<std::string>("{}"); },
          [&](const std::string& token) {
            std::lock_guard lock(mutex);
            return token != revoked;
          },
          HubOptions{.heartbeat = std::chrono::milliseconds(10)});
  auto a = std::make_shared<FakeSink>();
  auto b = std::make_shared<FakeSink>();
  ASSERT_TRUE(hub.subscribe("alpha", a, "keep"));
  ASSERT_TRUE(hub.subscribe("alpha", b, "end"));
  ASSERT_TRUE(eventually([&] { return a->sent().find(": keep-alive\n\n") != std::string::npos; }));
  {
    std::lock_guard lock(mutex);
    revoked = "end";
  }
  EXPECT_TRUE(eventually([&] { return !b->open(); }));
  EXPECT_TRUE(a->open());
  EXPECT_EQ(hub.streams(), 1u);
}

TEST(Hub, StreamsAreBoundedAndASignOutClosesItsStreams) {
  Hub hub([](const std::string&) { return std::optional<std::string>("{}"); },
          [](const std::string&) { return true; }, HubOptions{.max_streams = 2});
  auto a = std::make_shared<FakeSink>();
  auto b = std::make_shared<FakeSink>();
  auto c = std::make_shared<FakeSink>();
  EXPECT_TRUE(hub.subscribe("alpha", a, "t1"));
  EXPECT_TRUE(hub.subscribe("beta", b, "t1"));
  EXPECT_FALSE(hub.subscribe("alpha", c, "t2"));
  hub.close_session("t1");
  EXPECT_FALSE(a->open());
  EXPECT_FALSE(b->open());
  EXPECT_EQ(hub.streams(), 0u);
  EXPECT_TRUE(hub.subscribe("alpha", c, "t2"));
}

TEST(Hub, OneSessionCannotTakeEveryStream) {
  Hub hub([](const std::string&) { return std::optional<std::string>("{}"); },
          [](const std::string&) { return true; },
          HubOptions{.max_streams = 4, .max_per_session = 2});
  std::vector<std::shared_ptr<FakeSink>> sinks;
  for (int i = 0; i < 4; ++i)
    sinks.push_back(std::make_shared<FakeSink>());
  EXPECT_TRUE(hub.subscribe("alpha", sinks[0], "greedy"));
  EXPECT_TRUE(hub.subscribe("beta", sinks[1], "greedy"));
  EXPECT_FALSE(hub.has_room_for("greedy"));
  EXPECT_FALSE(hub.subscribe("gamma", sinks[2], "greedy"));
  EXPECT_TRUE(hub.has_room_for("other"));
  EXPECT_TRUE(hub.subscribe("alpha", sinks[3], "other"));
}

}  // namespace
}  // namespace partyline::live
