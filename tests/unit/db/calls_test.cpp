#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "db/calls.hpp"
#include "db/sqlite.hpp"
#include "test_dir.hpp"

namespace partyline::db {
namespace {

const std::string kCf = "CF" + std::string(32, '1');
const std::string kA = "CA" + std::string(32, 'a');
const std::string kB = "CA" + std::string(32, 'b');

std::vector<ConferenceEvent> story() {
  return {{kCf, 1, "participant-join", kA, 1000, false},
          {kCf, 2, "conference-start", "", 1500, false},
          {kCf, 3, "participant-join", kB, 2000, true},
          {kCf, 4, "participant-unmute", kB, 2500, false},
          {kCf, 5, "participant-leave", kB, 9000, false},
          {kCf, 6, "participant-leave", kA, 9500, false},
          {kCf, 7, "conference-end", "", 9600, false}};
}

TEST(CallsReplay, TellsTheConference) {
  const std::vector<CallRecord> calls{
      {kA, "***1111", "producer", true, 900, "alpha", "notice", 900},
      {kB, "***2222", "speaker", true, 1900, "alpha", "press1", 1950}};
  const auto s = replay(kCf, story(), calls);
  EXPECT_EQ(s.started_ms, 1500);
  EXPECT_EQ(s.ended_ms, 9600);
  EXPECT_EQ(s.peak_participants, 2);
  EXPECT_EQ(s.participants_now, 0);
  ASSERT_EQ(s.participants.size(), 2u);
  EXPECT_EQ(s.participants[0].caller, "***1111");
  EXPECT_EQ(s.participants[0].role, "producer");
  EXPECT_EQ(s.participants[0].joined_ms, 1000);
  EXPECT_EQ(s.participants[0].left_ms, 9500);
  EXPECT_EQ(s.participants[1].joined_ms, 2000);
  EXPECT_FALSE(s.participants[1].muted);
}

TEST(CallsReplay, OrderOfArrivalDoesNotMatter) {
  auto events = story();
  std::reverse(events.begin(), events.end());
  const auto s = replay(kCf, events, {});
  EXPECT_EQ(s.peak_participants, 2);
  EXPECT_EQ(s.participants[0].call_sid, kA);
  EXPECT_EQ(s.participants[0].left_ms, 9500);
}

TEST(CallStore, DuplicatesAreIgnoredAndTheStoryIsReplayed) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("partyline-calls-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  {
    CallStore store(dir / "db");
    store.record_call(kA, "***1111", 900);
    store.record_role(kA, "producer", 950);
    store.record_consent(kA, 950);
    auto events = story();
    // Out of order, and each twice.
    std::reverse(events.begin(), events.end());
    for (const auto& e : events)
      store.record_event(e);
    for (auto e : events) {
      e.at_ms += 1;  // a duplicate with other content must not replace the first
      store.record_event(e);
    }
    const auto s = store.conference(kCf);
    ASSERT_TRUE(s.has_value());
    EXPECT_EQ(s->peak_participants, 2);
    EXPECT_EQ(s->participants[0].role, "producer");
    EXPECT_EQ(s->participants[0].joined_ms, 1000);
    EXPECT_EQ(s->started_ms, 1500);
    EXPECT_EQ(store.participants_now(), 0);
    store.record_event({"CF" + std::string(32, '2'), 1, "participant-join", kB, 100, false});
    EXPECT_EQ(store.participants_now(), 1);
    EXPECT_FALSE(store.conference("CF" + std::string(32, '9')).has_value());
  }
  std::filesystem::remove_all(dir);
}

TEST(CallStore, ACallWithConsentIsOneWriteAndReadsWaitForQueuedWrites) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("partyline-calls-consent-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  {
    CallStore store(dir / "db");
    store.record_call(kA, "***1111", 900, true);
    store.record_call(kB, "***2222", 910);
    store.record_call(kA, "***9999", 990, false);  // a repeat keeps the first record
    store.record_role(kB, "speaker", 920);
    store.record_event({kCf, 1, "participant-join", kA, 1000, false});
    store.record_event({kCf, 2, "participant-join", kB, 1100, false});
    // No flush: the read itself must wait for the writes queued before it (not the linger).
    const auto s = store.conference(kCf);
    ASSERT_TRUE(s.has_value());
    ASSERT_EQ(s->participants.size(), 2u);
    EXPECT_EQ(s->participants[0].caller, "***1111");
    EXPECT_EQ(s->participants[1].role, "speaker");
    EXPECT_EQ(s->participants_now, 2);
  }
  {
    // Reopened: what was queued before the store closed is on disk.
    CallStore store(dir / "db");
    EXPECT_EQ(store.participants_now(), 2);
  }
  std::filesystem::remove_all(dir);
}

TEST(CallStore, EveryQueuedWriteIsCommittedBeforeTheStoreCloses) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("partyline-calls-close-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const int n = 3000;  // more than one batch
  {
    CallStore store(dir / "db");
    for (int i = 0; i < n; ++i)
      store.record_event({kCf, i + 1, i % 2 ? "participant-leave" : "participant-join",
                          "CA" + std::to_string(100000 + i / 2) + std::string(26, 'c'), i + 1,
                          false});
  }
  CallStore store(dir / "db");
  const auto s = store.conference(kCf);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->participants.size(), static_cast<std::size_t>(n / 2));
  EXPECT_EQ(s->peak_participants, 1);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace partyline::db

namespace partyline::db {
namespace {

TEST(CallStore, KeepsEachCallsRoomAndConsentAndCountsParticipantsPerRoom) {
  testing::TestDir dir;
  const std::string kC = "CA" + std::string(32, 'c');
  const std::string kOther = "CF" + std::string(32, '2');
  CallStore store(dir.path() / "db");
  store.record_call(kA, "***1111", 900, true, nullptr, "alpha");  // the notice, straight in
  store.record_call(kB, "***2222", 910);
  store.record_consent(kB, 930);  // pressed 1, then a PIN
  store.record_role(kB, "host", 950, nullptr, "alpha");
  store.record_call(kC, "***3333", 960);
  store.record_role(kC, "speaker", 970, nullptr, "beta");
  store.record_event({kCf, 1, "participant-join", kA, 1000, false});
  store.record_event({kCf, 2, "participant-join", kB, 1100, false});
  store.record_event({kOther, 1, "participant-join", kC, 1200, false});
  store.record_event({kOther, 2, "participant-leave", kC, 1300, false});
  store.flush();

  const auto a = store.call(kA);
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->room, "alpha");
  EXPECT_EQ(a->consent_how, "notice");
  EXPECT_EQ(a->consent_ms, 900);
  const auto b = store.call(kB);
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->room, "alpha");
  EXPECT_EQ(b->role, "host");
  EXPECT_EQ(b->consent_how, "press1");
  EXPECT_EQ(b->consent_ms, 930);
  EXPECT_EQ(store.call(kC)->consent_how, "");

  const auto by_room = store.participants_by_room();
  EXPECT_EQ(by_room.size(), 1u);  // beta's only caller has left
  EXPECT_EQ(by_room.at("alpha"), 2);
  EXPECT_EQ(store.participants_in("alpha"), 2);
  EXPECT_EQ(store.participants_in("beta"), 0);
  EXPECT_EQ(store.participants_now(), 2);
  // The count is kept until the next conference event commits; then it is counted again.
  store.record_event({kCf, 3, "participant-leave", kA, 1400, false});
  store.flush();
  EXPECT_EQ(store.participants_by_room().at("alpha"), 1);
  store.record_event({kOther, 3, "participant-join", kC, 1500, false});
  store.flush();
  EXPECT_EQ(store.participants_by_room().at("beta"), 1);
  const auto s = store.conference(kCf);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->participants[1].consent_how, "press1");
  EXPECT_EQ(s->participants[1].room, "alpha");
}

// Twilio sends a webhook again when our answer was late: the repeat keeps the first consent and its
// time, and commits nothing another connection would see.
TEST(CallStore, OpenConferencesAreKeptAsEventsCommitAndAcrossAReopening) {
  testing::TestDir dir;
  const std::string cf1 = "CF" + std::string(32, '1'), cf2 = "CF" + std::string(32, '2');
  const auto sids = [](CallStore& store) {
    std::vector<std::string> out;
    for (const auto& c : store.open_conferences())
      out.push_back(c.conference_sid);
    return out;
  };
  {
    CallStore store(dir.path() / "calls.db");
    store.record_event({cf1, 1, "conference-start", "", 1000, false});
    store.record_event({cf1, 2, "participant-join", kA, 1100, false});
    store.record_event({cf2, 1, "conference-start", "", 1000, false});
    store.flush();
    EXPECT_EQ(sids(store), (std::vector<std::string>{cf1, cf2}));
    store.record_event({cf2, 9, "conference-end", "", 5000, false});
    store.flush();
    EXPECT_EQ(sids(store), (std::vector<std::string>{cf1}));
    // Twilio sends a join of the ended conference again: it stays ended.
    store.record_event({cf2, 2, "participant-join", kB, 1200, false});
    store.flush();
    EXPECT_EQ(sids(store), (std::vector<std::string>{cf1}));
    EXPECT_EQ(store.participants_now(), 1);
  }
  CallStore again(dir.path() / "calls.db");
  EXPECT_EQ(sids(again), (std::vector<std::string>{cf1}));
  // An end that arrives before its start (out of order) ends it all the same.
  again.record_event({cf1, 7, "conference-end", "", 9000, false});
  again.flush();
  EXPECT_TRUE(sids(again).empty());
  EXPECT_EQ(again.participants_now(), 0);
}

TEST(CallStore, ARepeatedWebhookKeepsTheFirstConsentAndWritesNothing) {
  const std::string kC = "CA" + std::string(32, 'c');
  testing::TestDir dir;
  const auto file = dir.path() / "db";
  CallStore store(file);
  store.record_call(kA, "***1111", 900, true, nullptr, "alpha");
  store.record_call(kB, "***2222", 910, false, nullptr, "alpha");
  store.record_consent(kB, 930, nullptr, "alpha");
  store.record_role(kB, "speaker", 950, nullptr, "alpha");
  store.flush();

  sqlite3* other = sqlite::open(file, "NORMAL");
  const auto version = [other] {
    sqlite::Statement s(other, "PRAGMA data_version");
    return s.step() ? s.integer(0) : -1;
  };
  const auto before = version();
  store.record_call(kA, "***1111", 990, true, nullptr, "alpha");
  store.record_call(kB, "***2222", 991, false, nullptr, "alpha");
  store.record_consent(kB, 995, nullptr, "alpha");
  store.record_role(kB, "speaker", 999, nullptr, "alpha");
  store.flush();
  EXPECT_EQ(version(), before);

  const auto a = store.call(kA);
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->consent_how, "notice");
  EXPECT_EQ(a->consent_ms, 900);
  auto b = store.call(kB);
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->consent_how, "press1");
  EXPECT_EQ(b->consent_ms, 930);

  // What adds something is still written: a new role, a room where there was none.
  store.record_role(kB, "host", 1000, nullptr, "alpha");
  store.record_call(kC, "***3333", 1001);
  store.record_call(kC, "***3333", 1002, false, nullptr, "beta");
  store.flush();
  EXPECT_NE(version(), before);
  EXPECT_EQ(store.call(kB)->role, "host");
  EXPECT_EQ(store.call(kC)->room, "beta");
  sqlite3_close(other);
}

TEST(CallStore, AddsTheRoomAndConsentColumnsToAnOlderFile) {
  testing::TestDir dir;
  const auto file = dir.path() / "db";
  {
    sqlite3* db = sqlite::open(file, "NORMAL");
    const std::string sql =
        "CREATE TABLE calls (call_sid TEXT PRIMARY KEY, caller TEXT NOT NULL DEFAULT '', role "
        "TEXT NOT NULL DEFAULT '', consent INTEGER NOT NULL DEFAULT 0, first_seen_ms INTEGER NOT "
        "NULL) WITHOUT ROWID; INSERT INTO calls VALUES ('" +
        kA + "', '***1111', 'speaker', 1, 5)";
    sqlite::exec(db, sql.c_str());
    sqlite3_close(db);
  }
  CallStore store(file);
  const auto a = store.call(kA);
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->role, "speaker");
  EXPECT_EQ(a->room, "");
  store.record_role(kA, "host", 10, nullptr, "alpha");
  EXPECT_EQ(store.call(kA)->room, "alpha");
}

}  // namespace
}  // namespace partyline::db

namespace partyline::db {
namespace {

TEST(CallStore, KeepsTheConsoleActionsOfAConferenceInOrder) {
  testing::TestDir dir;
  CallStore store(dir.path() / "db");
  store.record_call(kA, "***1111", 900);
  store.record_event({kCf, 1, "participant-join", kA, 1000, false});
  store.record_action({kCf, 1200, "alice", "mute", kA, "ok"});
  store.record_action({kCf, 1100, "bob", "lock", "", "ok"});
  store.record_action({"CF" + std::string(32, '9'), 1300, "carol", "end", "", "ok"});
  const auto c = store.conference(kCf);
  ASSERT_TRUE(c.has_value());
  ASSERT_EQ(c->actions.size(), 2u);
  EXPECT_EQ(c->actions[0].user, "bob");
  EXPECT_EQ(c->actions[1].action, "mute");
  EXPECT_EQ(c->actions[1].call_sid, kA);
  EXPECT_EQ(c->actions[1].at_ms, 1200);
}

}  // namespace
}  // namespace partyline::db
