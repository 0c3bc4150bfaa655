#include "twilio/rest.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "fake_twilio_rest.hpp"
#include "util/crypto.hpp"

namespace partyline::twilio {
namespace {

using namespace std::chrono;
using fake::FakeTwilioRest;

const std::string kAccountSid = "AC" + std::string(32, 'a');
const std::string kAuthToken = "rest-test-auth-token-0123456789ab";

std::string recording_sid(int i) {
  char hex[33];
  std::snprintf(hex, sizeof hex, "%032x", i);
  return "RE" + std::string(hex);
}
const std::string kConferenceSid = "CF" + std::string(32, 'f');

RestOptions options_for(const FakeTwilioRest& server, std::string token = kAuthToken) {
  RestOptions o;
  o.api_base = server.base();
  o.credentials = {kAccountSid, config::Secret(std::move(token))};
  o.allow_http = true;
  o.timeout = seconds(10);
  return o;
}

const system_clock::time_point kSince =
    sys_days(year(2025) / October / 25) + hours(19) + minutes(17);

TEST(RestList, FollowsEveryPageAndParsesTheRecordings) {
  FakeTwilioRest server(kAccountSid, kAuthToken);
  server.set_page_size(2);
  for (int i = 1; i <= 5; ++i) {
    server.add_recording(FakeTwilioRest::recording(recording_sid(i), kAccountSid, kConferenceSid));
  }
  const auto result = RestClient(options_for(server)).list_recordings(kSince);
  ASSERT_TRUE(result) << result.error().reason;
  EXPECT_EQ(result->pages, 3);
  EXPECT_EQ(result->skipped, 0u);
  ASSERT_EQ(result->recordings.size(), 5u);
  for (int i = 1; i <= 5; ++i) {
    SCOPED_TRACE(i);
    const RecordingInfo& r = result->recordings[i - 1];
    EXPECT_EQ(r.sid, recording_sid(i));
    EXPECT_EQ(r.account_sid, kAccountSid);
    EXPECT_EQ(r.call_sid, "CA" + std::string(32, 'c'));
    EXPECT_EQ(r.conference_sid, kConferenceSid);
    EXPECT_EQ(r.status, "completed");
    EXPECT_EQ(r.source, "StartConferenceRecordingAPI");
    EXPECT_EQ(r.duration, "42");
    EXPECT_EQ(r.start_time, "Sat, 25 Oct 2025 19:17:43 +0000");
    EXPECT_EQ(r.date_created, "Sat, 25 Oct 2025 19:17:43 +0000");
    EXPECT_EQ(r.error_code, "");
    EXPECT_EQ(r.channels, 1);
  }

  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 3u);
  const std::string first = "/2010-04-01/Accounts/" + kAccountSid +
                            "/Recordings.json?PageSize=1000&DateCreated%3E=2025-10-25";
  EXPECT_EQ(requests[0].target, first);
  EXPECT_EQ(requests[1].target, first + "&Page=1&PageToken=PA1");
  EXPECT_EQ(requests[2].target, first + "&Page=2&PageToken=PA2");
  for (const auto& r : requests) {
    SCOPED_TRACE(r.target);
    EXPECT_EQ(r.method, "GET");
    EXPECT_EQ(r.header("authorization"), "Basic " + util::base64(kAccountSid + ":" + kAuthToken));
  }
}

TEST(RestList, FilterDayIsTheUtcDayOfSince) {
  FakeTwilioRest server(kAccountSid, kAuthToken);
  const auto just_before_midnight = sys_days(year(2024) / February / 29) + hours(23) + minutes(59);
  ASSERT_TRUE(RestClient(options_for(server)).list_recordings(just_before_midnight));
  ASSERT_EQ(server.requests().size(), 1u);
  EXPECT_TRUE(server.requests()[0].target.ends_with("&DateCreated%3E=2024-02-29"))
      << server.requests()[0].target;
}

TEST(RestList, SkipsEntriesWithMalformedSids) {
  FakeTwilioRest server(kAccountSid, kAuthToken);
  server.add_recording(FakeTwilioRest::recording(recording_sid(1), kAccountSid, kConferenceSid));
  server.add_recording(FakeTwilioRest::recording("RE123", kAccountSid, kConferenceSid));
  server.add_recording(FakeTwilioRest::recording(recording_sid(2), kAccountSid, "CF/../x"));
  server.add_recording(
      FakeTwilioRest::recording(recording_sid(3), "AC" + std::string(32, 'b'), kConferenceSid));
  auto bad_call = FakeTwilioRest::recording(recording_sid(4), kAccountSid, kConferenceSid);
  bad_call["call_sid"] = "CA?x=1";
  server.add_recording(bad_call);
  server.add_recording(FakeTwilioRest::recording(recording_sid(5), kAccountSid, ""));
  const auto result = RestClient(options_for(server)).list_recordings(kSince);
  ASSERT_TRUE(result) << result.error().reason;
  EXPECT_EQ(result->skipped, 4u);
  ASSERT_EQ(result->recordings.size(), 2u);
  EXPECT_EQ(result->recordings[0].sid, recording_sid(1));
  EXPECT_EQ(result->recordings[1].sid, recording_sid(5));
  EXPECT_EQ(result->recordings[1].conference_sid, "");  // null, not a conference recording
}

TEST(RestList, WrongTokenNamesTheStatusAndTwiliosMessageButNotTheToken) {
  FakeTwilioRest server(kAccountSid, kAuthToken);
  const std::string wrong = "wrong-token-wrong-token-wrong-tok";
  const auto result = RestClient(options_for(server, wrong)).list_recordings(kSince);
  ASSERT_FALSE(result);
  const std::string& error = result.error().reason;
  EXPECT_NE(error.find("401"), std::string::npos) << error;
  EXPECT_NE(error.find("Authenticate"), std::string::npos) << error;
  EXPECT_EQ(error.find(wrong), std::string::npos) << error;
  EXPECT_EQ(error.find(kAuthToken), std::string::npos) << error;
  EXPECT_EQ(result.error().http_status, 401);
  EXPECT_FALSE(result.error().transient());
}

TEST(RestList, AFailingLaterPageFailsTheList) {
  FakeTwilioRest server(kAccountSid, kAuthToken);
  server.set_page_size(1);
  server.add_recording(FakeTwilioRest::recording(recording_sid(1), kAccountSid, kConferenceSid));
  server.add_recording(FakeTwilioRest::recording(recording_sid(2), kAccountSid, kConferenceSid));
  // The fake checks PageToken; a server error on page 2 must not look like a short list.
  server.fail("PageToken=PA1", 503, "Service Unavailable");
  const auto result = RestClient(options_for(server)).list_recordings(kSince);
  ASSERT_FALSE(result);
  EXPECT_NE(result.error().reason.find("HTTP 503: Service Unavailable"), std::string::npos)
      << result.error().reason;
  EXPECT_TRUE(result.error().transient());
  EXPECT_EQ(server.requests().size(), 2u);
}

TEST(RestList, FollowsOnlyFurtherPagesOfThisAccountsRecordings) {
  const std::string collection = "/2010-04-01/Accounts/" + kAccountSid + "/Recordings.json";
  for (const std::string& next :
       {std::string("https://evil.example/2010-04-01/Accounts/x/Recordings.json?Page=1"),
        std::string("//evil.example") + collection + "?Page=1",
        "/2010-04-01/Accounts/" + kAccountSid + "/Calls.json?Page=1",
        "/2010-04-01/Accounts/AC" + std::string(32, 'b') + "/Recordings.json?Page=1",
        collection + "?PageSize=1000&DateCreated%3E=2025-10-25"}) {  // the same page again
    SCOPED_TRACE(next);
    FakeTwilioRest server(kAccountSid, kAuthToken);
    server.override_next_page_uri(boost::json::string(next));
    const auto result = RestClient(options_for(server)).list_recordings(kSince);
    ASSERT_FALSE(result);
    EXPECT_NE(result.error().reason.find("next_page_uri"), std::string::npos)
        << result.error().reason;
    EXPECT_EQ(server.requests().size(), 1u);
  }
}

TEST(RestList, RefusesHttpUnlessAllowed) {
  FakeTwilioRest server(kAccountSid, kAuthToken);
  RestOptions o = options_for(server);
  o.allow_http = false;
  const RestClient client(o);
  const auto list = client.list_recordings(kSince);
  ASSERT_FALSE(list);
  EXPECT_FALSE(list.error().reason.empty());
  EXPECT_FALSE(client.fetch_account());
  EXPECT_FALSE(client.delete_recording(recording_sid(1)));
  EXPECT_TRUE(server.requests().empty()) << "a request reached the plain-http server";
}

TEST(RestList, UnreachableServerIsAnError) {
  std::string base;
  {
    FakeTwilioRest server(kAccountSid, kAuthToken);
    base = server.base();
  }  // closed: nothing listens on that port any more
  RestOptions o;
  o.api_base = base;
  o.credentials = {kAccountSid, config::Secret(kAuthToken)};
  o.allow_http = true;
  o.timeout = seconds(5);
  const auto result = RestClient(o).list_recordings(kSince);
  ASSERT_FALSE(result);
  EXPECT_FALSE(result.error().reason.empty());
  EXPECT_EQ(result.error().reason.find(kAuthToken), std::string::npos) << result.error().reason;
  EXPECT_TRUE(result.error().transient());
}

TEST(RestDelete, DeletesAndTreatsAlreadyGoneAsDone) {
  FakeTwilioRest server(kAccountSid, kAuthToken);
  server.add_recording(FakeTwilioRest::recording(recording_sid(1), kAccountSid, kConferenceSid));
  const RestClient client(options_for(server));

  const auto deleted = client.delete_recording(recording_sid(1));
  ASSERT_TRUE(deleted) << deleted.error().reason;
  EXPECT_EQ(*deleted, Deletion::kDeleted);
  EXPECT_EQ(server.deleted(), std::set<std::string>{recording_sid(1)});
  ASSERT_EQ(server.requests().size(), 1u);
  EXPECT_EQ(server.requests()[0].method, "DELETE");
  EXPECT_EQ(server.requests()[0].target,
            "/2010-04-01/Accounts/" + kAccountSid + "/Recordings/" + recording_sid(1) + ".json");

  const auto again = client.delete_recording(recording_sid(1));
  ASSERT_TRUE(again) << again.error().reason;
  EXPECT_EQ(*again, Deletion::kAlreadyGone);
  const auto unknown = client.delete_recording(recording_sid(9));
  ASSERT_TRUE(unknown) << unknown.error().reason;
  EXPECT_EQ(*unknown, Deletion::kAlreadyGone);
}

TEST(RestDelete, ServerErrorIsNotOk) {
  FakeTwilioRest server(kAccountSid, kAuthToken);
  server.add_recording(FakeTwilioRest::recording(recording_sid(1), kAccountSid, kConferenceSid));
  server.fail(recording_sid(1) + ".json", 500, "Internal Server Error");
  const auto result = RestClient(options_for(server)).delete_recording(recording_sid(1));
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().http_status, 500);
  EXPECT_TRUE(result.error().transient());
  EXPECT_NE(result.error().reason.find("HTTP 500: Internal Server Error"), std::string::npos)
      << result.error().reason;
  EXPECT_TRUE(server.deleted().empty());
}

TEST(RestDelete, WrongTokenIsNotOk) {
  FakeTwilioRest server(kAccountSid, kAuthToken);
  server.add_recording(FakeTwilioRest::recording(recording_sid(1), kAccountSid, kConferenceSid));
  const auto result = RestClient(options_for(server, "nope-nope-nope-nope-nope"))
                          .delete_recording(recording_sid(1));
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().http_status, 401);
  EXPECT_FALSE(result.error().transient());
  EXPECT_TRUE(server.deleted().empty());
}

TEST(RestDelete, RefusesMalformedSidsWithoutARequest) {
  FakeTwilioRest server(kAccountSid, kAuthToken);
  const RestClient client(options_for(server));
  for (const std::string& sid :
       {std::string(), std::string("RE123"), "../Calls/CA" + std::string(32, 'c'),
        "CA" + std::string(32, 'c'), recording_sid(1) + "/x"}) {
    SCOPED_TRACE(sid);
    EXPECT_FALSE(client.delete_recording(sid));
  }
  EXPECT_TRUE(server.requests().empty());
}

TEST(RestAccount, FetchesNameAndStatus) {
  FakeTwilioRest server(kAccountSid, kAuthToken);
  const auto account = RestClient(options_for(server)).fetch_account();
  ASSERT_TRUE(account) << account.error().reason;
  EXPECT_EQ(account->friendly_name, "Partyline test account");
  EXPECT_EQ(account->status, "active");
  ASSERT_EQ(server.requests().size(), 1u);
  EXPECT_EQ(server.requests()[0].target, "/2010-04-01/Accounts/" + kAccountSid + ".json");
}

TEST(RestAccount, WrongTokenIsNotOkAndSaysWhy) {
  FakeTwilioRest server(kAccountSid, kAuthToken);
  const std::string wrong = "wrong-token-wrong-token-wrong-tok";
  const auto account = RestClient(options_for(server, wrong)).fetch_account();
  ASSERT_FALSE(account);
  EXPECT_EQ(account.error().http_status, 401);
  EXPECT_EQ(account.error().reason, "HTTP 401: Authenticate (Twilio error 20003)");
}

TEST(RestAccount, TrailingSlashOnTheBaseIsTolerated) {
  FakeTwilioRest server(kAccountSid, kAuthToken);
  RestOptions o = options_for(server);
  o.api_base += "/";
  EXPECT_TRUE(RestClient(o).fetch_account());
  ASSERT_EQ(server.requests().size(), 1u);
  EXPECT_EQ(server.requests()[0].target, "/2010-04-01/Accounts/" + kAccountSid + ".json");
}

}  // namespace
}  // namespace partyline::twilio
