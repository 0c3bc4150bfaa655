#include "db/session_index.hpp"

#include <gtest/gtest.h>

#include "test_dir.hpp"

namespace partyline::db {
namespace {

std::string cf(char c) {
  return "CF" + std::string(32, c);
}
std::string ca(char c) {
  return "CA" + std::string(32, c);
}

class SessionIndexTest : public ::testing::Test {
 protected:
  SessionIndexTest() : calls_(dir_.path() / "calls.db"), jobs_(dir_.path() / "calls.db") {}

  // A conference of one caller, from at_ms for a minute, in `room`.
  void conference(const std::string& sid, std::int64_t at_ms, const std::string& room, char caller,
                  const std::string& number, bool end = true) {
    calls_.record_call(ca(caller), number, at_ms, true, nullptr, room);
    calls_.record_event({sid, 1, "conference-start", "", at_ms, false});
    calls_.record_event({sid, 2, "participant-join", ca(caller), at_ms + 1000, false});
    if (end) calls_.record_event({sid, 3, "conference-end", "", at_ms + 60'000, false});
    calls_.flush();
  }
  Job job(const std::string& recording, const std::string& conference, const std::string& start) {
    Job j;
    j.recording_sid = recording;
    j.conference_sid = conference;
    j.recording_url = "https://api.twilio.com/x/" + recording;
    j.start_time = start;
    j.key = "partyline/" + recording + ".mp3";
    j.first_seen_ms = j.next_attempt_ms = j.updated_ms = 1;
    return j;
  }
  static std::vector<std::string> sids(const std::vector<SessionRow>& rows) {
    std::vector<std::string> out;
    for (const auto& r : rows)
      out.push_back(r.conference_sid);
    return out;
  }

  testing::TestDir dir_;
  CallStore calls_;
  JobStore jobs_;
};

TEST_F(SessionIndexTest, ListsNewestFirstWithRoomTimesAndPeak) {
  conference(cf('1'), 1'000'000, "morning", 'a', "***1111");
  conference(cf('2'), 2'000'000, "evening", 'b', "***2222", false);
  SessionIndex index(dir_.path() / "library.db", calls_, jobs_);
  const auto rows = index.list({});
  ASSERT_EQ(sids(rows), (std::vector<std::string>{cf('2'), cf('1')}));
  EXPECT_EQ(rows[1].room, "morning");
  EXPECT_EQ(rows[1].started_ms, 1'000'000);
  EXPECT_EQ(rows[1].ended_ms, 1'060'000);
  EXPECT_EQ(rows[1].peak_participants, 1);
  EXPECT_EQ(rows[0].ended_ms, 0);
}

TEST_F(SessionIndexTest, FiltersByRoomTimeAndCallerDigits) {
  conference(cf('1'), 1'000'000, "morning", 'a', "***1111");
  conference(cf('2'), 2'000'000, "evening", 'b', "***2222");
  conference(cf('3'), 3'000'000, "", 'c', "***3333");  // from before rooms
  SessionIndex index(dir_.path() / "library.db", calls_, jobs_);
  EXPECT_EQ(sids(index.list({.room = "morning"})), (std::vector<std::string>{cf('1')}));
  EXPECT_EQ(sids(index.list({.room = "morning", .room_includes_unnamed = true})),
            (std::vector<std::string>{cf('3'), cf('1')}));
  EXPECT_EQ(sids(index.list({.from_ms = 1'500'000, .to_ms = 3'000'000})),
            (std::vector<std::string>{cf('2')}));
  EXPECT_EQ(sids(index.list({.caller_digits = "22"})), (std::vector<std::string>{cf('2')}));
  EXPECT_EQ(sids(index.list({.caller_digits = "2222"})), (std::vector<std::string>{cf('2')}));
  EXPECT_EQ(sids(index.list({.room = "evening", .caller_digits = "1111"})),
            std::vector<std::string>{});
  EXPECT_EQ(sids(index.list({.caller_digits = "9"})), std::vector<std::string>{});
}

TEST_F(SessionIndexTest, KeysetPagesNeitherRepeatNorSkipWhenNewerSessionsArrive) {
  for (char c = 'a'; c <= 'e'; ++c)
    conference(cf(c), 1'000'000 + (c - 'a') * 1000, "r", c, "***0000");
  // Two sessions at the same moment: the SID breaks the tie.
  conference(cf('f'), 1'004'000, "r", 'f', "***0000");
  SessionIndex index(dir_.path() / "library.db", calls_, jobs_);
  const auto first = index.list({.limit = 3});
  ASSERT_EQ(sids(first), (std::vector<std::string>{cf('f'), cf('e'), cf('d')}));
  conference(cf('g'), 9'000'000, "r", 'g', "***0000");
  index.mark_dirty(cf('g'));
  const auto next = index.list(
      {.after = std::make_pair(first.back().started_ms, first.back().conference_sid), .limit = 3});
  EXPECT_EQ(sids(next), (std::vector<std::string>{cf('c'), cf('b'), cf('a')}));
  EXPECT_EQ(sids(index.list({.limit = 1})), (std::vector<std::string>{cf('g')}));
}

TEST_F(SessionIndexTest, ASessionKnownOnlyByItsRecordingIsListedAtTheRecordingsStart) {
  jobs_.insert_or_get(job("RE" + std::string(32, '1'), cf('9'), "2026-12-01T10:00:00Z"));
  SessionIndex index(dir_.path() / "library.db", calls_, jobs_);
  const auto rows = index.list({});
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].conference_sid, cf('9'));
  EXPECT_EQ(rows[0].started_ms, 1'796'119'200'000);
}

TEST_F(SessionIndexTest, ASessionWhoseEveryRecordingIsDeletedIsLeftOut) {
  conference(cf('1'), 1'000'000, "r", 'a', "***1111");
  const std::string re1 = "RE" + std::string(32, '1'), re2 = "RE" + std::string(32, '2');
  jobs_.insert_or_get(job(re1, cf('1'), "2026-12-01T10:00:00Z"));
  jobs_.insert_or_get(job(re2, cf('1'), "2026-12-01T10:00:00Z"));
  jobs_.mark_stored(re1, "x", 1, "h", 10);
  jobs_.mark_stored(re2, "x", 1, "h", 10);
  SessionIndex index(dir_.path() / "library.db", calls_, jobs_);
  ASSERT_EQ(index.list({}).size(), 1u);
  ASSERT_EQ(jobs_.mark_deleted(re1, "alice", 20, 30), DeleteOutcome::kDeleted);
  index.mark_dirty(cf('1'));
  EXPECT_EQ(index.list({}).size(), 1u) << "one recording is left";
  ASSERT_EQ(jobs_.mark_deleted(re2, "alice", 20, 30), DeleteOutcome::kDeleted);
  index.mark_dirty(cf('1'));
  EXPECT_TRUE(index.list({}).empty());
  EXPECT_TRUE(index.get(cf('1')).has_value()) << "still found by its SID";
}

TEST_F(SessionIndexTest, AnIndexOpenedAgainCatchesUpWithWhatItMissed) {
  conference(cf('1'), 1'000'000, "r", 'a', "***1111", false);
  {
    SessionIndex index(dir_.path() / "library.db", calls_, jobs_);
    EXPECT_EQ(index.list({})[0].ended_ms, 0);
  }
  // The end came while no index was open (a crash before it was marked dirty).
  calls_.record_event({cf('1'), 9, "conference-end", "", 1'090'000, false});
  calls_.flush();
  SessionIndex again(dir_.path() / "library.db", calls_, jobs_);
  EXPECT_EQ(again.list({})[0].ended_ms, 1'090'000);
}

}  // namespace
}  // namespace partyline::db
