#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "recordings/report.hpp"

namespace partyline::recordings {
namespace {

TEST(Report, DescribesTheConferenceWithRedactedCallers) {
  db::Job job;
  job.recording_sid = "RE" + std::string(32, '2');
  job.conference_sid = "CF" + std::string(32, '1');
  job.key = "partyline/2025-10-25T19-17-43Z-" + job.recording_sid + ".mp3";
  job.duration = "42";
  job.start_time = "2025-10-25T19:17:43Z";
  db::ConferenceSummary c;
  c.conference_sid = job.conference_sid;
  c.started_ms = 1761419863000;
  c.ended_ms = 1761419923000;
  c.peak_participants = 2;
  c.participants = {{"CA1", "***1111", "producer", 1761419863000, 1761419920000, true, "alpha",
                     "notice", 1761419862000},
                    {"CA2", "***2222", "", 1761419864000, 0, false, "alpha", "", 0}};
  const auto plain = boost::json::parse(build_report(job, c)).as_object();
  EXPECT_FALSE(plain.contains("room"));  // without rooms the report keeps its shape
  EXPECT_FALSE(plain.at("participants").as_array()[0].as_object().contains("consent"));
  const auto o = boost::json::parse(build_report(job, c, true)).as_object();
  EXPECT_EQ(o.at("recording_sid").as_string(), job.recording_sid);
  EXPECT_EQ(o.at("duration_seconds"), 42);
  EXPECT_EQ(o.at("start"), "2025-10-25T19:17:43Z");
  EXPECT_EQ(o.at("end"), "2025-10-25T19:18:43Z");
  EXPECT_EQ(o.at("conference_seconds"), 60);
  EXPECT_EQ(o.at("peak_participants"), 2);
  const auto& people = o.at("participants").as_array();
  ASSERT_EQ(people.size(), 2u);
  EXPECT_EQ(people[0].at("caller"), "***1111");
  EXPECT_EQ(people[0].at("role"), "producer");
  EXPECT_EQ(people[0].at("left"), "2025-10-25T19:18:40Z");
  EXPECT_TRUE(people[1].at("role").is_null());
  EXPECT_TRUE(people[1].at("left").is_null());
  EXPECT_EQ(o.at("room"), "alpha");
  EXPECT_EQ(people[0].at("room"), "alpha");
  EXPECT_EQ(people[0].at("consent").at("how"), "notice");
  EXPECT_EQ(people[0].at("consent").at("at"), "2025-10-25T19:17:42Z");
  EXPECT_TRUE(people[1].at("consent").is_null());
}

// "Muted by alice at …": what the console's users did, with the participant's last 4 digits.
TEST(Report, SaysWhatTheConsoleDidAndWho) {
  db::Job job;
  job.recording_sid = "RE1";
  db::ConferenceSummary c;
  c.conference_sid = "CF1";
  c.participants = {{"CA1", "***1111", "speaker", 1761419863000, 0, true, "", "", 0}};
  const auto none = boost::json::parse(build_report(job, c)).as_object();
  EXPECT_FALSE(none.contains("actions"));
  c.actions = {{"CF1", 1761419870000, "alice", "mute", "CA1", "ok"},
               {"CF1", 1761419880000, "bob", "end", "", "HTTP 400: nope"}};
  const auto o = boost::json::parse(build_report(job, c)).as_object();
  const auto& actions = o.at("actions").as_array();
  ASSERT_EQ(actions.size(), 2u);
  EXPECT_EQ(actions[0].at("by"), "alice");
  EXPECT_EQ(actions[0].at("action"), "mute");
  EXPECT_EQ(actions[0].at("participant"), "***1111");
  EXPECT_EQ(actions[0].at("at"), "2025-10-25T19:17:50Z");
  EXPECT_EQ(actions[0].at("result"), "ok");
  EXPECT_FALSE(actions[1].as_object().contains("participant"));
  EXPECT_EQ(actions[1].at("result"), "HTTP 400: nope");
}

TEST(Report, ListsTheSessionsTracksWithTheirParticipant) {
  db::Job job;
  job.recording_sid = "RE1";
  db::ConferenceSummary c;
  c.conference_sid = "CF1";
  c.participants = {{"CA1", "***1111", "host", 1761419863000, 0, false, "", "", 0},
                    {"CA2", "***2222", "", 1761419864000, 0, false, "", "", 0}};
  EXPECT_FALSE(boost::json::parse(build_report(job, c)).as_object().contains("tracks"));
  db::Job t1, t2;
  t1.recording_sid = "RE2";
  t1.key = "show/x-CF1-track01-host.mp3";
  t1.call_sid = "CA1";
  t1.kind = "track";
  t2.recording_sid = "RE3";
  t2.key = "show/x-CF1-track02-speaker.mp3";
  t2.call_sid = "CA2";
  t2.kind = "track";
  const auto o = boost::json::parse(build_report(job, c, false, {t1, t2})).as_object();
  const auto& tracks = o.at("tracks").as_array();
  ASSERT_EQ(tracks.size(), 2u);
  EXPECT_EQ(tracks[0].at("key"), "show/x-CF1-track01-host.mp3");
  EXPECT_EQ(tracks[0].at("caller"), "***1111");
  EXPECT_EQ(tracks[0].at("role"), "host");
  EXPECT_EQ(tracks[1].at("recording_sid"), "RE3");
  EXPECT_EQ(tracks[1].at("role"), "speaker");
}

TEST(Report, WithoutConferenceEvents) {
  db::Job job;
  job.recording_sid = "RE1";
  const auto o = boost::json::parse(build_report(job, std::nullopt)).as_object();
  EXPECT_TRUE(o.at("conference").is_null());
  EXPECT_TRUE(o.at("participants").as_array().empty());
  EXPECT_TRUE(o.at("duration_seconds").is_null());
}

TEST(Report, KeySitsNextToTheRecording) {
  EXPECT_EQ(report_key("partyline/2025-10-25T19-17-43Z-RE1.mp3"),
            "partyline/2025-10-25T19-17-43Z-RE1.json");
  EXPECT_EQ(report_key("a.b/c"), "a.b/c.json");
}

}  // namespace
}  // namespace partyline::recordings
