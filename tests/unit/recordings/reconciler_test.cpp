#include "recordings/reconciler.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "../twilio/fake_twilio_rest.hpp"

namespace partyline::recordings {
namespace {

using namespace std::chrono;
using fake::FakeTwilioRest;

const std::string kAccountSid = "AC" + std::string(32, 'a');
const std::string kAuthToken = "reconcile-test-token-0123456789ab";
const std::string kConferenceSid = "CF" + std::string(32, 'f');
const std::string kCallSid = "CA" + std::string(32, 'c');
// 19:17:00 UTC; recordings are created around it.
const system_clock::time_point kSince =
    sys_days(year(2025) / October / 25) + hours(19) + minutes(17);
const std::string kAfter = "Sat, 25 Oct 2025 19:17:43 +0000";
const std::string kBefore = "Sat, 25 Oct 2025 19:16:59 +0000";
const std::string kAfterOffset = "Sat, 25 Oct 2025 21:17:00 +0200";  // exactly `since`

std::string sid(int i) {
  char hex[33];
  std::snprintf(hex, sizeof hex, "%032x", i);
  return "RE" + std::string(hex);
}

class Reconcile : public ::testing::Test {
 protected:
  Reconcile() { server_.set_page_size(3); }

  twilio::RestClient client(std::string token = kAuthToken) const {
    twilio::RestOptions o;
    o.api_base = server_.base();
    o.credentials = {kAccountSid, config::Secret(std::move(token))};
    o.allow_http = true;
    o.timeout = seconds(10);
    return twilio::RestClient(o);
  }
  void add(int i, std::string_view conference = kConferenceSid,
           std::string_view status = "completed", std::string_view created = kAfter) {
    server_.add_recording(
        FakeTwilioRest::recording(sid(i), kAccountSid, conference, status, created));
  }
  ReconcileReport run(const std::set<std::string>& known = {}, std::string token = kAuthToken) {
    return reconcile(client(std::move(token)), kApiBase, kAccountSid, kSince,
                     [&](const RecordingCallback& cb) {
                       accepted_.push_back(cb);
                       return !known.contains(cb.recording_sid);
                     });
  }

  const std::string kApiBase = "https://api.twilio.com";
  FakeTwilioRest server_{kAccountSid, kAuthToken};
  std::vector<RecordingCallback> accepted_;
};

TEST_F(Reconcile, HandsOverOnlyCompletedConferenceRecordings) {
  add(1);
  add(2, kConferenceSid, "in-progress");
  add(3, kConferenceSid, "absent");
  add(4, "");  // a call recording, not a conference's
  add(5, kConferenceSid, "processing");
  server_.add_recording(FakeTwilioRest::recording("RE-not-a-sid", kAccountSid, kConferenceSid));
  auto bad_conference = FakeTwilioRest::recording(sid(6), kAccountSid, "CF1234");
  server_.add_recording(bad_conference);
  add(7);

  const ReconcileReport report = run();
  ASSERT_TRUE(report.ok) << report.error;
  EXPECT_EQ(report.listed, 6u);  // the client already dropped the two malformed entries
  EXPECT_EQ(report.candidates, 2u);
  EXPECT_EQ(report.queued, 2u);
  EXPECT_EQ(report.known, 0u);
  ASSERT_EQ(accepted_.size(), 2u);
  EXPECT_EQ(accepted_[0].recording_sid, sid(1));
  EXPECT_EQ(accepted_[1].recording_sid, sid(7));
}

TEST_F(Reconcile, BuildsTheCallbackTwilioWouldHaveSent) {
  add(1);
  ASSERT_TRUE(run().ok);
  ASSERT_EQ(accepted_.size(), 1u);
  const RecordingCallback& cb = accepted_[0];
  EXPECT_EQ(cb.recording_sid, sid(1));
  EXPECT_EQ(cb.recording_url,
            "https://api.twilio.com/2010-04-01/Accounts/" + kAccountSid + "/Recordings/" + sid(1));
  EXPECT_EQ(cb.recording_url, expected_recording_url(kApiBase, kAccountSid, sid(1)));
  EXPECT_EQ(cb.status, "completed");
  EXPECT_EQ(cb.conference_sid, kConferenceSid);
  EXPECT_EQ(cb.call_sid, kCallSid);
  EXPECT_EQ(cb.duration, "42");
  EXPECT_EQ(cb.start_time, kAfter);
  EXPECT_EQ(cb.error_code, "");
}

TEST_F(Reconcile, SkipsRecordingsCreatedBeforeSince) {
  add(1, kConferenceSid, "completed", kBefore);
  add(2, kConferenceSid, "completed", kAfter);
  add(3, kConferenceSid, "completed", kAfterOffset);
  add(4, kConferenceSid, "completed", "Fri, 24 Oct 2025 23:59:59 +0000");
  add(5, kConferenceSid, "completed", "Sat, 25 Oct 2025 21:16:59 +0200");
  const ReconcileReport report = run();
  ASSERT_TRUE(report.ok) << report.error;
  EXPECT_EQ(report.listed, 5u);
  EXPECT_EQ(report.candidates, 2u);
  ASSERT_EQ(accepted_.size(), 2u);
  EXPECT_EQ(accepted_[0].recording_sid, sid(2));
  EXPECT_EQ(accepted_[1].recording_sid, sid(3));
}

TEST_F(Reconcile, AnUnreadableCreationDateIsKeptRatherThanMissed) {
  add(1, kConferenceSid, "completed", "sometime");
  const ReconcileReport report = run();
  ASSERT_TRUE(report.ok) << report.error;
  EXPECT_EQ(report.candidates, 1u);
}

TEST_F(Reconcile, CountsQueuedAndKnownAcrossPages) {
  for (int i = 1; i <= 8; ++i)
    add(i);
  const ReconcileReport report = run({sid(2), sid(5), sid(8)});
  ASSERT_TRUE(report.ok) << report.error;
  EXPECT_EQ(report.listed, 8u);
  EXPECT_EQ(report.candidates, 8u);
  EXPECT_EQ(report.queued, 5u);
  EXPECT_EQ(report.known, 3u);
  EXPECT_EQ(server_.requests().size(), 3u);  // pages of 3, 3, 2
}

TEST_F(Reconcile, AListErrorFailsTheRunWithTheError) {
  add(1);
  const ReconcileReport report = run({}, "wrong-token-wrong-token-wrong-tok");
  EXPECT_FALSE(report.ok);
  EXPECT_NE(report.error.find("401"), std::string::npos) << report.error;
  EXPECT_NE(report.error.find("Authenticate"), std::string::npos) << report.error;
  EXPECT_EQ(report.listed, 0u);
  EXPECT_TRUE(accepted_.empty());
}

TEST_F(Reconcile, AFailingAcceptStopsTheRun) {
  for (int i = 1; i <= 3; ++i)
    add(i);
  int calls = 0;
  const ReconcileReport report =
      reconcile(client(), kApiBase, kAccountSid, kSince, [&](const RecordingCallback&) -> bool {
        if (++calls == 2) throw std::runtime_error("database is locked");
        return true;
      });
  EXPECT_FALSE(report.ok);
  EXPECT_EQ(report.queued, 1u);
  EXPECT_NE(report.error.find(sid(2)), std::string::npos) << report.error;
  EXPECT_NE(report.error.find("database is locked"), std::string::npos) << report.error;
}

}  // namespace
}  // namespace partyline::recordings
