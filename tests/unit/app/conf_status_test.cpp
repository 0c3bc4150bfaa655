// /conf-status answers after the event is committed: 204 when it is kept, 503 when the store
// cannot keep it (a full disk), so Twilio sends it again.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <future>

#include "../db/full_disk.hpp"
#include "../db/test_dir.hpp"
#include "app/app.hpp"
#include "fake_intake.hpp"
#include "twilio/signature.hpp"

namespace partyline::app {
namespace {

const std::string kAc = "AC" + std::string(32, 'a');
const std::string kToken = "0123456789abcdef0123456789abcdef";
const std::string kBase = "https://calls.example.com";
const std::string kCa = "CA" + std::string(32, '3');
const std::string kCf = "CF" + std::string(32, '1');

bool event_on_disk(const std::filesystem::path& file, std::int64_t sequence) {
  sqlite3* db = nullptr;
  sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  sqlite3_stmt* s = nullptr;
  sqlite3_prepare_v2(db, "SELECT 1 FROM conference_events WHERE sequence = ?", -1, &s, nullptr);
  sqlite3_bind_int64(s, 1, sequence);
  const bool found = sqlite3_step(s) == SQLITE_ROW;
  sqlite3_finalize(s);
  sqlite3_close(db);
  return found;
}

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
               util::system_random(), {intake_, calls, metrics_, counters_});
  }

  static http::Request event(int sequence) {
    const http::Params params{{"AccountSid", kAc},
                              {"ConferenceSid", kCf},
                              {"StatusCallbackEvent", "participant-join"},
                              {"CallSid", kCa},
                              {"SequenceNumber", std::to_string(sequence)}};
    http::Request r;
    r.method = "POST";
    r.target = "/conf-status";
    r.body = http::form_encode(params);
    r.headers = {
        {"Content-Type", "application/x-www-form-urlencoded"},
        {"X-Twilio-Signature", twilio::compute_signature(kToken, kBase + r.target, params)}};
    return r;
  }

  // The answer, whichever thread gives it; and whether the event was on disk at that moment.
  struct Answer {
    http::Response response;
    bool on_disk = false;
  };
  std::optional<Answer> post(const App& app, int sequence) {
    std::promise<Answer> promise;
    app.handle(event(sequence), [&](http::Response r) {
      promise.set_value({std::move(r), event_on_disk(file_, sequence)});
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
bool call_on_disk(const std::filesystem::path& file, const std::string& call_sid) {
  sqlite3* db = nullptr;
  sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  sqlite3_stmt* s = nullptr;
  sqlite3_prepare_v2(db, "SELECT 1 FROM calls WHERE call_sid = ?", -1, &s, nullptr);
  sqlite3_bind_text(s, 1, call_sid.c_str(), -1, SQLITE_TRANSIENT);
  const bool found = sqlite3_step(s) == SQLITE_ROW;
  sqlite3_finalize(s);
  sqlite3_close(db);
  return found;
}

TEST_F(ConfStatus, VoiceIsAnsweredOnceTheCallIsCommittedAndStillAnsweredOnAFullDisk) {
  db::testing::FullDisk disk;
  db::CallStore calls(file_, {.retry_min = std::chrono::milliseconds(5),
                              .retry_max = std::chrono::milliseconds(20)});
  const App app = make(calls);
  auto voice = [&](const std::string& call_sid) -> std::optional<Answer> {
    const http::Params params{{"AccountSid", kAc}, {"CallSid", call_sid}, {"From", "+15551234567"}};
    http::Request r;
    r.method = "POST";
    r.target = "/voice";
    r.body = http::form_encode(params);
    r.headers = {
        {"Content-Type", "application/x-www-form-urlencoded"},
        {"X-Twilio-Signature", twilio::compute_signature(kToken, kBase + r.target, params)}};
    std::promise<Answer> promise;
    app.handle(r, [&](http::Response answer) {
      promise.set_value({std::move(answer), call_on_disk(file_, call_sid)});
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
