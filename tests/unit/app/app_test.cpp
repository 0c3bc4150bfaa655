#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cstdio>
#include <fstream>
#include <future>
#include <memory>
#include <sstream>

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
using testing::kRe;
using testing::kToken;

// Collects the log lines the App writes.
class LogFile {
 public:
  LogFile() {
    char name[] = "/tmp/partyline-app-test-XXXXXX";
    fd_ = mkstemp(name);
    path_ = name;
  }
  ~LogFile() {
    ::close(fd_);
    std::remove(path_.c_str());
  }
  int fd() const { return fd_; }
  std::vector<boost::json::object> lines() const {
    std::ifstream in(path_);
    std::vector<boost::json::object> out;
    for (std::string line; std::getline(in, line);)
      out.push_back(boost::json::parse(line).as_object());
    return out;
  }
  std::string text() const {
    std::ifstream in(path_);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

 private:
  int fd_;
  std::string path_;
};

class AppTest : public ::testing::Test {
 protected:
  AppTest() : log_(logs_.fd(), config::LogLevel::kDebug, util::system_clock()) {
    config_.twilio_account_sid = kAc;
    config_.twilio_auth_token = config::Secret(kToken);
    config_.public_base_url = kBase;
    config_.local_mode = false;
  }

  App make() {
    return App(
        config_, Runtime{kBase, {kAc, config::Secret(kToken)}}, log_,
        [] { return std::chrono::system_clock::time_point(std::chrono::seconds(1795501781)); },
        [](std::size_t n) { return std::string(n, '\x11'); },
        {intake_, calls_, locks_, metrics_, counters_}, rooms::load(config_));
  }

  // Webhooks that write a call record answer from the store's writer thread once it commits.
  http::Response call(const App& app, http::Request r) {
    auto answered = std::make_shared<std::promise<http::Response>>();
    app.handle(r, [answered](http::Response resp) { answered->set_value(std::move(resp)); });
    auto future = answered->get_future();
    const bool ready = future.wait_for(std::chrono::seconds(10)) == std::future_status::ready;
    EXPECT_TRUE(ready) << "no answer within 10 s";
    return ready ? future.get() : http::Response{};
  }

  static http::Request signed_post(const std::string& target, const http::Params& params,
                                   const std::string& token = kToken) {
    return testing::signed_post(target, params, token);
  }

  LogFile logs_;
  log::Logger log_;
  config::Config config_;
  db::testing::TestDir dir_;
  db::CallStore calls_{dir_.path() / "partyline.db"};
  db::RoomLocks locks_{dir_.path() / "rooms.db"};
  metrics::Metrics metrics_;
  http::ServerCounters counters_;
  testing::FakeIntake intake_;
};

TEST_F(AppTest, HealthAndRouting) {
  const App app = make();
  EXPECT_EQ(call(app, {"GET", "/health", {}, ""}).body, "OK");
  EXPECT_EQ(call(app, {"GET", "/nope", {}, ""}).status, 404);
  const auto r = call(app, {"GET", "/voice", {}, ""});
  EXPECT_EQ(r.status, 405);
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0].first, "Allow");
  EXPECT_EQ(r.headers[0].second, "POST");
  EXPECT_EQ(call(app, {"DELETE", "/health", {}, ""}).status, 405);
}

TEST_F(AppTest, VoiceNeedsAValidSignature) {
  const App app = make();
  const http::Params p{{"CallSid", kCa}, {"From", "+15551234567"}, {"AccountSid", kAc}};
  EXPECT_EQ(call(app, signed_post("/voice", p)).status, 200);
  EXPECT_EQ(call(app, signed_post("/voice?x=1%20a", p)).status, 200);

  auto unsigned_req = signed_post("/voice", p);
  unsigned_req.headers.pop_back();
  EXPECT_EQ(call(app, unsigned_req).status, 403);
  EXPECT_EQ(call(app, signed_post("/voice", p, "another-token-another")).status, 403);
  auto tampered = signed_post("/voice", p);
  tampered.body += "&Extra=1";
  EXPECT_EQ(call(app, tampered).status, 403);
  auto other_path = signed_post("/voice", p);
  other_path.target = "/check-pin";
  EXPECT_EQ(call(app, other_path).status, 403);
}

TEST_F(AppTest, WebhookInputErrorsAre4xxWithAReason) {
  const App app = make();
  auto json = signed_post("/voice", {{"CallSid", kCa}});
  json.headers[0].second = "application/json";
  EXPECT_EQ(call(app, json).status, 415);
  auto malformed = signed_post("/voice", {{"CallSid", kCa}});
  malformed.body = "CallSid=%ZZ";
  EXPECT_EQ(call(app, malformed).status, 400);
  EXPECT_EQ(call(app, signed_post("/voice", {{"From", "+1555"}})).status, 400);
  EXPECT_EQ(call(app, signed_post("/voice", {{"CallSid", "CA123"}})).status, 400);
  EXPECT_EQ(call(app, signed_post("/voice",
                                  {{"CallSid", kCa}, {"AccountSid", "AC" + std::string(32, 'b')}}))
                .status,
            403);
  EXPECT_EQ(
      call(app, signed_post("/conf-status", {{"StatusCallbackEvent", "conference-start"}})).status,
      400);
  for (const auto& line : logs_.lines()) {
    if (line.at("status").as_int64() >= 400) {
      EXPECT_FALSE(line.at("reason").as_string().empty());
    }
  }
}

TEST_F(AppTest, ConferenceEventsAreLoggedWithTheDesignNames) {
  const App app = make();
  const std::pair<const char*, const char*> events[] = {
      {"conference-start", "conf.start"},  {"participant-join", "conf.join"},
      {"participant-mute", "conf.mute"},   {"participant-unmute", "conf.unmute"},
      {"participant-leave", "conf.leave"}, {"conference-end", "conf.end"}};
  for (const auto& [event, name] : events) {
    const auto r = call(app, signed_post("/conf-status", {{"ConferenceSid", kCf},
                                                          {"StatusCallbackEvent", event},
                                                          {"CallSid", kCa},
                                                          {"SequenceNumber", "1"}}));
    EXPECT_EQ(r.status, 204);
    EXPECT_TRUE(r.body.empty());
  }
  std::vector<std::string> seen;
  for (const auto& line : logs_.lines()) {
    if (line.at("evt").as_string().starts_with("conf."))
      seen.emplace_back(line.at("evt").as_string());
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"conf.start", "conf.join", "conf.mute", "conf.unmute",
                                            "conf.leave", "conf.end"}));
}

TEST_F(AppTest, RecordingCallbackFieldsAreChecked) {
  const App app = make();
  const std::string url =
      "https://api.twilio.com/2010-04-01/Accounts/" + kAc + "/Recordings/" + kRe;
  auto params = [&](std::string sid, std::string u) {
    return http::Params{{"AccountSid", kAc},    {"RecordingSid", sid},
                        {"RecordingUrl", u},    {"RecordingStatus", "completed"},
                        {"ConferenceSid", kCf}, {"RecordingDuration", "42"}};
  };
  EXPECT_EQ(call(app, signed_post("/recording-callback", params(kRe, url))).status, 200);
  EXPECT_EQ(intake_.accepted(), std::vector<std::string>{kRe});
  const std::string other_ac = "AC" + std::string(32, 'c');
  const std::string bad_urls[] = {
      "https://evil.example.com/2010-04-01/Accounts/" + kAc + "/Recordings/" + kRe,
      "https://api.twilio.com/2010-04-01/Accounts/" + other_ac + "/Recordings/" + kRe,
      "https://api.twilio.com/2010-04-01/Accounts/" + kAc + "/Recordings/RE" + std::string(32, '9'),
      "http://api.twilio.com/2010-04-01/Accounts/" + kAc + "/Recordings/" + kRe,
      url + ".mp3",
      url + "/../../x",
      "https://api.twilio.com@evil.example.com/2010-04-01/Accounts/" + kAc + "/Recordings/" + kRe,
      "",
  };
  for (const auto& bad : bad_urls) {
    SCOPED_TRACE(bad);
    EXPECT_EQ(call(app, signed_post("/recording-callback", params(kRe, bad))).status, 400);
  }
  EXPECT_EQ(call(app, signed_post("/recording-callback", params("RE123", url))).status, 400);
  EXPECT_EQ(intake_.accepted(), std::vector<std::string>{kRe}) << "a refused callback was queued";
}

// 200 only once the recording is stored; Twilio hears 503 (with Retry-After) while it is not, or
// when the job cannot even be recorded.
TEST_F(AppTest, RecordingCallbackAnswersWhatThePipelineReports) {
  const App app = make();
  const std::string url =
      "https://api.twilio.com/2010-04-01/Accounts/" + kAc + "/Recordings/" + kRe;
  const http::Params p{{"AccountSid", kAc},    {"RecordingSid", kRe},
                       {"RecordingUrl", url},  {"RecordingStatus", "completed"},
                       {"ConferenceSid", kCf}, {"RecordingDuration", "42"}};
  const struct {
    db::JobState outcome;
    bool fail_accept;
    int status;
    const char* reason;
  } cases[] = {
      {db::JobState::kStored, false, 200, ""},
      {db::JobState::kPending, false, 503, "not stored yet"},
      {db::JobState::kDead, false, 503, "dead-lettered"},
      {db::JobState::kStored, true, 503, "cannot record the job durably"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.reason);
    intake_.outcome = c.outcome;
    intake_.fail_accept = c.fail_accept;
    const auto r = call(app, signed_post("/recording-callback", p));
    EXPECT_EQ(r.status, c.status);
    EXPECT_NE(r.reason.find(c.reason), std::string::npos) << r.reason;
    if (c.status == 503 && !c.fail_accept) {
      EXPECT_NE(std::find(r.headers.begin(), r.headers.end(),
                          std::pair<std::string, std::string>{"Retry-After", "60"}),
                r.headers.end());
    }
  }
}

TEST_F(AppTest, TokenEndpoint) {
  {
    const App app = make();
    const auto r = call(app, {"GET", "/token", {}, ""});
    EXPECT_EQ(r.status, 404);
    EXPECT_NE(r.body.find("error"), std::string::npos);
  }
  config_.twilio_api_key = "SK" + std::string(32, 'd');
  config_.twilio_api_secret = config::Secret("api-secret-value");
  config_.app_bearer_token = config::Secret("bearer-value-123");
  const App app = make();
  EXPECT_EQ(call(app, {"GET", "/token", {}, ""}).status, 401);
  EXPECT_EQ(call(app, {"GET", "/token", {{"Authorization", "Bearer nope"}}, ""}).status, 401);
  const auto ok = call(app, {"GET", "/token", {{"Authorization", "Bearer bearer-value-123"}}, ""});
  EXPECT_EQ(ok.status, 200);
  const auto body = boost::json::parse(ok.body).as_object();
  EXPECT_EQ(body.at("identity"), "web-11111111");
  EXPECT_EQ(body.at("token").as_string().size() > 100, true);
  bool no_store = false;
  for (const auto& [k, v] : ok.headers)
    no_store |= k == "Cache-Control" && v == "no-store";
  EXPECT_TRUE(no_store);
}

TEST_F(AppTest, LogsCarryNoSecretsOrFullNumbers) {
  config_.pin_speaker = config::Secret("1234");
  config_.pin_producer = config::Secret("9876");
  const App app = make();
  auto voice =
      signed_post("/voice", {{"CallSid", kCa}, {"From", "+15551234567"}, {"To", "+18005550100"}});
  call(app, voice);
  call(app,
       signed_post("/check-pin", {{"CallSid", kCa}, {"Digits", "9876"}, {"From", "+15551234567"}}));
  call(app, signed_post("/check-pin", {{"CallSid", kCa}, {"Digits", "1234"}}));
  call(app, signed_post("/check-pin", {{"CallSid", kCa}, {"Digits", "0000"}}));
  const std::string text = logs_.text();
  for (const std::string& secret :
       {kToken, std::string("9876"), std::string("1234"), std::string("5551234567"),
        std::string("8005550100"), std::string(voice.header("X-Twilio-Signature"))}) {
    EXPECT_EQ(text.find(secret), std::string::npos) << secret;
  }
  EXPECT_NE(text.find("\"evt\":\"pin.producer\""), std::string::npos);
  EXPECT_NE(text.find("\"evt\":\"pin.speaker\""), std::string::npos);
  EXPECT_NE(text.find("\"evt\":\"pin.invalid\""), std::string::npos);
  EXPECT_NE(text.find("***4567"), std::string::npos);
}

}  // namespace
}  // namespace partyline::app
