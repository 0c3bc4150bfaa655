#include "twilio/conference.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "../support/fake_http_server.hpp"
#include "fake_conference_control.hpp"
#include "http/form.hpp"
#include "util/crypto.hpp"

namespace partyline::twilio {
namespace {

using namespace std::chrono;
using fake::HttpServer;
using fake::Request;
using fake::Response;

const std::string kAccountSid = "AC" + std::string(32, 'a');
const std::string kAuthToken = "conference-test-auth-token-012345";
const std::string kConference = "CF" + std::string(32, 'f');
const std::string kCall = "CA" + std::string(31, 'c') + "1";
const std::string kAccountPath = "/2010-04-01/Accounts/" + kAccountSid;
const std::string kParticipantPath =
    kAccountPath + "/Conferences/" + kConference + "/Participants/" + kCall + ".json";

RestOptions options_for(const HttpServer& server) {
  RestOptions o;
  o.api_base = server.base();
  o.credentials = {kAccountSid, config::Secret(kAuthToken)};
  o.allow_http = true;
  return o;
}

Response twilio_json(int status, const std::string& body) {
  return Response::text(status, body, "application/json");
}

Response twilio_error(int status, int code, const std::string& message) {
  return twilio_json(status, "{\"code\":" + std::to_string(code) + ",\"message\":\"" + message +
                                 "\",\"more_info\":\"https://www.twilio.com/docs/errors/" +
                                 std::to_string(code) + "\",\"status\":" + std::to_string(status) +
                                 "}");
}

http::Params form_of(const Request& r) {
  const auto parsed = http::parse_form(r.body);
  EXPECT_TRUE(parsed.params) << parsed.error;
  return parsed.params.value_or(http::Params{});
}

struct Action {
  const char* name;
  std::function<util::Result<void>(ConferenceControl&)> call;
  std::string method, path;
  http::Params form;
};

const std::vector<Action>& actions() {
  static const std::vector<Action> all = {
      {"mute",
       [](ConferenceControl& c) { return c.set_muted(kConference, kCall, true); },
       "POST",
       kParticipantPath,
       {{"Muted", "true"}}},
      {"unmute",
       [](ConferenceControl& c) { return c.set_muted(kConference, kCall, false); },
       "POST",
       kParticipantPath,
       {{"Muted", "false"}}},
      {"hold",
       [](ConferenceControl& c) { return c.set_hold(kConference, kCall, true); },
       "POST",
       kParticipantPath,
       {{"Hold", "true"}}},
      {"unhold",
       [](ConferenceControl& c) { return c.set_hold(kConference, kCall, false); },
       "POST",
       kParticipantPath,
       {{"Hold", "false"}}},
      {"remove",
       [](ConferenceControl& c) { return c.remove_participant(kConference, kCall); },
       "DELETE",
       kParticipantPath,
       {}},
      {"end",
       [](ConferenceControl& c) { return c.end_conference(kConference); },
       "POST",
       kAccountPath + "/Conferences/" + kConference + ".json",
       {{"Status", "completed"}}},
      {"pause",
       [](ConferenceControl& c) { return c.set_recording_paused(kConference, true); },
       "POST",
       kAccountPath + "/Conferences/" + kConference + "/Recordings/Twilio.CURRENT.json",
       {{"Status", "paused"}}},
      {"resume",
       [](ConferenceControl& c) { return c.set_recording_paused(kConference, false); },
       "POST",
       kAccountPath + "/Conferences/" + kConference + "/Recordings/Twilio.CURRENT.json",
       {{"Status", "in-progress"}}},
  };
  return all;
}

TEST(ConferenceControl, EachActionSendsItsMethodPathFormAndBasicAuth) {
  for (const Action& action : actions()) {
    SCOPED_TRACE(action.name);
    // Twilio answers 204 to a participant DELETE and 200 with the resource to the rest.
    HttpServer server([&](const Request&) {
      return action.method == "DELETE" ? Response{.status = 204}
                                       : twilio_json(200, "{\"sid\":\"" + kConference + "\"}");
    });
    RestConferenceControl control(options_for(server));
    const auto result = action.call(control);
    ASSERT_TRUE(result) << result.error().reason;

    const auto requests = server.requests();
    ASSERT_EQ(requests.size(), 1u);
    const Request& r = requests[0];
    EXPECT_EQ(r.method, action.method);
    EXPECT_EQ(r.target, action.path);
    EXPECT_EQ(r.header("authorization"), "Basic " + util::base64(kAccountSid + ":" + kAuthToken));
    EXPECT_EQ(form_of(r), action.form);
    if (!action.form.empty()) {
      EXPECT_EQ(r.header("content-type"), "application/x-www-form-urlencoded");
    }
  }
}

TEST(ConferenceControl, AnyTwoHundredIsSuccess) {
  for (int status : {200, 201, 202, 204}) {
    SCOPED_TRACE(status);
    HttpServer server([&](const Request&) { return Response{.status = status}; });
    RestConferenceControl control(options_for(server));
    EXPECT_TRUE(control.set_muted(kConference, kCall, true));
  }
}

TEST(ConferenceControl, RefusalCarriesTwiliosMessageAndStatus) {
  struct Case {
    int status, code;
    std::string message;
  };
  const std::vector<Case> cases = {
      {404, 20404,
       "The requested resource /2010-04-01/Accounts/" + kAccountSid + "/Conferences/" +
           kConference + "/Participants/" + kCall + ".json was not found"},
      {400, 21220, "Invalid parameter"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.status);
    HttpServer server([&](const Request&) { return twilio_error(c.status, c.code, c.message); });
    RestConferenceControl control(options_for(server));
    for (const Action& action : actions()) {
      SCOPED_TRACE(action.name);
      const auto result = action.call(control);
      ASSERT_FALSE(result);
      EXPECT_EQ(result.error().http_status, c.status);
      EXPECT_FALSE(result.error().transient());
      EXPECT_NE(result.error().reason.find("HTTP " + std::to_string(c.status) + ": " + c.message),
                std::string::npos)
          << result.error().reason;
    }
  }
}

TEST(ConferenceControl, AnErrorEchoingTheTokenDoesNotCarryIt) {
  HttpServer server(
      [](const Request&) { return twilio_error(401, 20003, "Authenticate with " + kAuthToken); });
  const auto result = RestConferenceControl(options_for(server)).end_conference(kConference);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().http_status, 401);
  EXPECT_NE(result.error().reason.find("Authenticate"), std::string::npos) << result.error().reason;
  EXPECT_EQ(result.error().reason.find(kAuthToken), std::string::npos) << result.error().reason;
}

TEST(ConferenceControl, ServerErrorIsTransient) {
  for (int status : {500, 503, 429}) {
    SCOPED_TRACE(status);
    HttpServer server(
        [&](const Request&) { return twilio_error(status, 20500, "Internal Server Error"); });
    const auto result =
        RestConferenceControl(options_for(server)).set_hold(kConference, kCall, true);
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().http_status, status);
    EXPECT_TRUE(result.error().transient());
    EXPECT_NE(result.error().reason.find("Internal Server Error"), std::string::npos)
        << result.error().reason;
  }
}

TEST(ConferenceControl, NoAnswerWithinTheTimeoutIsTransientWithoutStatus) {
  // Never answers while the test runs; the server's destructor ends the wait.
  HttpServer server([](const Request&) { return Response{.delay = minutes(10)}; });
  RestConferenceControl control(options_for(server), seconds(1));
  const auto start = steady_clock::now();
  const auto result = control.set_muted(kConference, kCall, true);
  const auto took = steady_clock::now() - start;
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().http_status, 0);
  EXPECT_TRUE(result.error().transient());
  EXPECT_EQ(server.requests().size(), 1u);
  EXPECT_GE(took, milliseconds(900));
  EXPECT_LT(took, seconds(5));
}

TEST(ConferenceControl, UnreachableTwilioIsTransientWithoutStatus) {
  RestOptions options;
  {
    HttpServer closed;
    options = options_for(closed);
  }  // nothing listens on that port any more
  const auto result = RestConferenceControl(options, seconds(2)).end_conference(kConference);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().http_status, 0);
  EXPECT_TRUE(result.error().transient());
  EXPECT_EQ(result.error().reason.find(kAuthToken), std::string::npos) << result.error().reason;
}

TEST(ConferenceControl, MalformedSidsAreRefusedWithoutARequest) {
  HttpServer server;
  RestConferenceControl control(options_for(server));
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", kCall},
      {"CF123", kCall},
      {kCall, kCall},                               // a call SID where the conference goes
      {kConference, kConference},                   // and the other way round
      {kConference, "CA" + std::string(32, 'g')},   // not hex
      {kConference, "CA" + std::string(31, 'c')},   // 33 characters
      {kConference, kCall + "/../../Calls"},        // would leave the resource
      {"CF" + std::string(30, 'f') + "/x", kCall},  // 34 characters, not all hex
      {kConference, "CA" + std::string(30, 'c') + "?x"}};
  for (const auto& [conference, call] : cases) {
    SCOPED_TRACE(conference + " " + call);
    for (const auto& result :
         {control.set_muted(conference, call, true), control.set_hold(conference, call, false),
          control.remove_participant(conference, call)}) {
      ASSERT_FALSE(result);
      EXPECT_EQ(result.error().http_status, 0);
      EXPECT_FALSE(result.error().transient());
    }
    if (conference != kConference) {
      EXPECT_FALSE(control.end_conference(conference));
      EXPECT_FALSE(control.set_recording_paused(conference, true));
    }
  }
  EXPECT_TRUE(server.requests().empty());
}

TEST(ConferenceControl, MalformedAccountSidIsRefusedWithoutARequest) {
  HttpServer server;
  RestOptions options = options_for(server);
  options.credentials.account_sid = "AC/../../x";
  RestConferenceControl control(options);
  EXPECT_FALSE(control.set_muted(kConference, kCall, true));
  EXPECT_FALSE(control.end_conference(kConference));
  EXPECT_TRUE(server.requests().empty());
}

TEST(ConferenceControl, SeveralThreadsShareOneClient) {
  HttpServer server([](const Request&) { return Response{.status = 204}; });
  RestConferenceControl control(options_for(server));
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      if (control.remove_participant(kConference, kCall)) ++ok;
    });
  }
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(ok.load(), 8);
  EXPECT_EQ(server.requests().size(), 8u);
}

// The in-memory stand-in that tests of the console's API use records what they asked for and
// fails exactly where scripted.
TEST(FakeConferenceControl, RecordsActionsAndFailsWhereScripted) {
  fake::FakeConferenceControl fake;
  ConferenceControl& control = fake;
  fake.fail_next(util::Failure::later("HTTP 404: not found", 404));
  const auto refused = control.set_muted(kConference, kCall, true);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().http_status, 404);
  EXPECT_TRUE(control.set_hold(kConference, kCall, false));
  EXPECT_TRUE(control.remove_participant(kConference, kCall));
  EXPECT_TRUE(control.set_recording_paused(kConference, true));
  EXPECT_TRUE(control.end_conference(kConference));
  using Call = fake::FakeConferenceControl::Call;
  EXPECT_EQ(fake.calls(), (std::vector<Call>{{"muted", kConference, kCall, true},
                                             {"hold", kConference, kCall, false},
                                             {"remove", kConference, kCall},
                                             {"recording_paused", kConference, "", true},
                                             {"end", kConference, ""}}));
}

}  // namespace
}  // namespace partyline::twilio
