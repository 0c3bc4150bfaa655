// /conf-status answers after the event is committed: 204 when it is kept, 503 when the store
// cannot keep it (a full disk), so Twilio sends it again.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <future>

#include "../db/committed.hpp"
#include "../db/full_disk.hpp"
#include "../db/test_dir.hpp"
#include "app/app.hpp"
#include "fake_intake.hpp"
#include "twilio/signature.hpp"
#include "webhook.hpp"

namespace partyline::app {
namespace {

using testing::kAc;
using testing::kBase;
using testing::kCa;
using testing::kCf;
using testing::kToken;

class ConfStatus : public ::testing::Test {
 protected:
  ConfStatus() : log_(devnull_, config::LogLevel::kDebug, util::system_clock()) {
    config_.twilio_account_sid = kAc;
    config_.twilio_auth_token = config::Secret(kToken);
    config_.public_base_url = kBase;
    config_.local_mode = false;
  }
  ~ConfStatus() override { ::close(devnull_); }

  App make(db::CallStore& calls) {
    return App(config_, Runtime{kBase, {kAc, config::Secret(kToken)}}, log_, util::system_clock(),
               util::system_random(), {intake_, calls, locks_, metrics_, counters_},
               rooms::default_rooms(config_));
  }

  static http::Request event(int sequence) {
    const http::Params params{{"AccountSid", kAc},
                              {"ConferenceSid", kCf},
                              {"StatusCallbackEvent", "participant-join"},
                              {"CallSid", kCa},
                              {"SequenceNumber", std::to_string(sequence)}};
    return testing::signed_post("/conf-status", params);
  }

  // The answer, whichever thread gives it; and whether the event was on disk at that moment.
  struct Answer {
    http::Response response;
    bool on_disk = false;
  };
  std::optional<Answer> post(const App& app, int sequence) {
    std::promise<Answer> promise;
    app.handle(event(sequence), [&](http::Response r) {
      promise.set_value({std::move(r), db::testing::event_committed(file_, sequence)});
    });
    auto future = promise.get_future();
    if (future.wait_for(std::chrono::seconds(10)) != std::future_status::ready) return {};
    return future.get();
  }

  testing::FakeIntake intake_;
  metrics::Metrics metrics_;
  http::ServerCounters counters_;
  db::testing::TestDir dir_;
  std::filesystem::path file_ = dir_.path() / "db";
  db::RoomLocks locks_{dir_.path() / "locks.db"};
  int devnull_ = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  log::Logger log_;
  config::Config config_;
};

TEST_F(ConfStatus, TheAnswerComesOnceTheEventIsCommitted) {
  db::CallStore calls(file_);
  const App app = make(calls);
  for (int sequence = 1; sequence <= 3; ++sequence) {
    SCOPED_TRACE(sequence);
    const auto answer = post(app, sequence);
    ASSERT_TRUE(answer.has_value());
    EXPECT_EQ(answer->response.status, 204);
    EXPECT_TRUE(answer->on_disk);
  }
}

TEST_F(ConfStatus, AnEventTheStoreCannotKeepIs503WithTheReason) {
  db::testing::FullDisk disk;
  db::CallStore calls(file_, {.retry_min = std::chrono::milliseconds(5),
                              .retry_max = std::chrono::milliseconds(20)});
  const App app = make(calls);
  disk.full(true);
  const auto refused = post(app, 1);
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->response.status, 503);
  EXPECT_NE(refused->response.reason.find("database or disk is full"), std::string::npos)
      << refused->response.reason;
  EXPECT_FALSE(refused->on_disk);

  disk.full(false);
  // Twilio sends it again until it is kept.
  std::optional<Answer> kept;
  ASSERT_TRUE(db::testing::poll_until([&] {
    kept = post(app, 1);
    return kept && kept->response.status == 204;
  }));
  EXPECT_TRUE(kept->on_disk);
}

// /voice, /consent and /check-pin answer once the call record is committed too; a store that
// cannot keep it does not keep the caller off the line (200 with the same TwiML, logged).
TEST_F(ConfStatus, VoiceIsAnsweredOnceTheCallIsCommittedAndStillAnsweredOnAFullDisk) {
  db::testing::FullDisk disk;
  db::CallStore calls(file_, {.retry_min = std::chrono::milliseconds(5),
                              .retry_max = std::chrono::milliseconds(20)});
  const App app = make(calls);
  auto voice = [&](const std::string& call_sid) -> std::optional<Answer> {
    const http::Params params{{"AccountSid", kAc}, {"CallSid", call_sid}, {"From", "+15551234567"}};
    const http::Request r = testing::signed_post("/voice", params);
    std::promise<Answer> promise;
    app.handle(r, [&](http::Response answer) {
      promise.set_value({std::move(answer), db::testing::call_committed(file_, call_sid)});
    });
    auto future = promise.get_future();
    if (future.wait_for(std::chrono::seconds(10)) != std::future_status::ready) return {};
    return future.get();
  };
  const std::string first = "CA" + std::string(32, '4');
  const auto kept = voice(first);
  ASSERT_TRUE(kept.has_value());
  EXPECT_EQ(kept->response.status, 200);
  EXPECT_NE(kept->response.body.find("<Conference"), std::string::npos);
  EXPECT_TRUE(kept->on_disk);

  disk.full(true);
  const std::string second = "CA" + std::string(32, '5');
  const auto full = voice(second);
  ASSERT_TRUE(full.has_value());
  EXPECT_EQ(full->response.status, 200);
  EXPECT_EQ(full->response.body, kept->response.body);
  EXPECT_FALSE(full->on_disk);
}

}  // namespace
}  // namespace partyline::app
