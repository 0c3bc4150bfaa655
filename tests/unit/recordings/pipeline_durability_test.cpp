// The pipeline when the process dies or the disk fills: follow-ups are durable steps of the job,
// and errors of the database pause the workers instead of spinning them.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <boost/json.hpp>
#include <map>
#include <mutex>

#include "../db/full_disk.hpp"
#include "../db/test_dir.hpp"
#include "db/calls.hpp"
#include "db/jobs.hpp"
#include "fakes.hpp"
#include "recordings/followups.hpp"
#include "recordings/pipeline.hpp"
#include "recordings/report.hpp"

namespace partyline::recordings {
namespace {

using db::testing::FullDisk;
using db::testing::poll_until;
using db::testing::TestDir;
using std::chrono::hours;
using std::chrono::milliseconds;
using testing::FakeMedia;
using testing::FakeStorage;

const std::string kRe = "RE" + std::string(32, '2');
const std::string kCf = "CF" + std::string(32, '1');
const std::string kCa = "CA" + std::string(32, '3');

db::Job job(std::int64_t now) {
  db::Job j;
  j.recording_sid = kRe;
  j.conference_sid = kCf;
  j.recording_url = "https://api.twilio.com/x/" + kRe;
  j.duration = "42";
  j.start_time = "2025-10-25T19:17:43Z";
  j.key = "partyline/2025-10-25T19-17-43Z-" + kRe + ".mp3";
  j.first_seen_ms = j.next_attempt_ms = j.updated_ms = now;
  return j;
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class PipelineDurability : public ::testing::Test {
 protected:
  PipelineDurability() : log_(devnull_, config::LogLevel::kDebug, util::system_clock()) {}
  ~PipelineDurability() override { ::close(devnull_); }

  PipelineOptions options() {
    PipelineOptions o;
    o.spool_dir = dir_.path() / "spool";
    o.workers = 1;
    o.retry_min = milliseconds(5);
    o.retry_max = milliseconds(20);
    return o;
  }

  TestDir dir_;
  int devnull_ = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  log::Logger log_;
  FakeStorage storage_;
};

TEST_F(PipelineDurability, AReportOwedWhenTheProcessDiedIsWrittenAfterTheRestart) {
  const auto db = dir_.path() / "db";
  const std::string audio(1000, 'x');
  {
    // The first run: the conference, the copy, the row marked stored owing its report... and
    // then the process dies before the report is written.
    db::CallStore calls(db);
    calls.record_call(kCa, "***4567", 900);
    calls.record_event({kCf, 1, "participant-join", kCa, 1000, false});
    calls.record_event({kCf, 2, "conference-end", "", 9000, false});
    calls.flush();
    db::JobStore jobs(db);
    const auto j = job(now_ms());
    jobs.insert_or_get(j);
    storage_.add(j.key, audio);
    jobs.mark_stored(kRe, "fake://" + j.key, audio.size(), "", now_ms(), db::followup::kReport);
  }
  // The restart.
  db::CallStore calls(db);
  db::JobStore jobs(db);
  FollowupOptions followup_options;
  followup_options.spool_dir = dir_.path() / "spool";
  Followups followups(followup_options, storage_, &calls, nullptr, log_);
  auto o = options();
  o.followups_stored = followups.steps_when_stored();
  o.run_followup = [&](unsigned step, const db::Job& j) { return followups.run(step, j); };
  Pipeline pipeline(o, jobs, std::make_unique<FakeMedia>(), storage_, log_, util::system_clock(),
                    testing::half_jitter);
  pipeline.start();

  const std::string report = report_key(job(0).key);
  ASSERT_TRUE(poll_until([&] { return jobs.get(kRe)->followups == 0; }));
  const auto text = storage_.object(report);
  ASSERT_TRUE(text.has_value());
  const auto parsed = boost::json::parse(*text).as_object();
  ASSERT_EQ(parsed.at("participants").as_array().size(), 1u);
  EXPECT_EQ(parsed.at("participants").as_array()[0].at("caller"), "***4567");
  pipeline.stop();
}

TEST_F(PipelineDurability, AFailedStepIsRetriedWithBackoffAndTheOthersAreNotRepeated) {
  const auto db = dir_.path() / "db";
  db::JobStore jobs(db);
  jobs.insert_or_get(job(now_ms()));
  jobs.mark_stored(kRe, "fake://x", 10, "", now_ms(),
                   db::followup::kReport | db::followup::kNotice);
  std::mutex mutex;
  std::map<unsigned, int> runs;
  auto o = options();
  o.run_followup = [&](unsigned step, const db::Job&) {
    std::lock_guard lock(mutex);
    const int n = ++runs[step];
    // The notice fails twice (its receiver is down), then goes through.
    if (step == db::followup::kNotice && n <= 2) return FollowupResult{false, "HTTP 502"};
    return FollowupResult{true, {}};
  };
  Pipeline pipeline(o, jobs, std::make_unique<FakeMedia>(), storage_, log_, util::system_clock(),
                    testing::half_jitter);
  pipeline.start();
  ASSERT_TRUE(poll_until([&] { return jobs.get(kRe)->followups == 0; }));
  pipeline.stop();
  EXPECT_EQ(runs[db::followup::kReport], 1);
  EXPECT_EQ(runs[db::followup::kNotice], 3);
  const auto row = jobs.get(kRe);
  EXPECT_EQ(row->followup_attempts, 2);
  EXPECT_EQ(row->followup_error, "HTTP 502");
}

TEST_F(PipelineDurability, AStepNeverDoneIsAbandonedAfterTheMaxAge) {
  db::JobStore jobs(dir_.path() / "db");
  const std::int64_t long_ago = now_ms() - 8 * 24 * 3600 * 1000LL;
  jobs.insert_or_get(job(long_ago));
  jobs.mark_stored(kRe, "fake://x", 10, "", long_ago, db::followup::kNotice);
  std::atomic<int> runs{0};
  auto o = options();
  o.run_followup = [&](unsigned, const db::Job&) {
    ++runs;
    return FollowupResult{false, "HTTP 502"};
  };
  Pipeline pipeline(o, jobs, std::make_unique<FakeMedia>(), storage_, log_, util::system_clock(),
                    testing::half_jitter);
  pipeline.start();
  ASSERT_TRUE(poll_until([&] { return jobs.get(kRe)->followups == 0; }));
  pipeline.stop();
  EXPECT_EQ(runs, 1);
}

// A job stored before and queued again: the worker finds the object in storage and only has to
// mark the row stored, which a full disk refuses.
void requeue_stored(db::JobStore& jobs, FakeStorage& storage, std::int64_t now) {
  const auto j = job(now);
  jobs.insert_or_get(j);
  jobs.mark_stored(kRe, "fake://" + j.key, 10, "", now);
  jobs.requeue(kRe, now);
  storage.add(j.key, std::string(10, 'x'));
}

TEST_F(PipelineDurability, AFullDiskPausesTheWorkers) {
  FullDisk disk;
  db::JobStore jobs(dir_.path() / "db");
  requeue_stored(jobs, storage_, now_ms());
  auto o = options();
  o.store_retry_min = o.store_retry_max = hours(1);  // longer than the test: one attempt only
  o.workers = 2;
  Pipeline pipeline(o, jobs, std::make_unique<FakeMedia>(), storage_, log_, util::system_clock(),
                    testing::half_jitter);
  disk.full(true);
  pipeline.start();
  ASSERT_TRUE(poll_until([&] { return disk.failed_writes() > 0; }));
  // stop() joins the workers: every attempt they made is counted after it.
  pipeline.stop();
  EXPECT_EQ(storage_.heads(), 1);
  disk.full(false);
  EXPECT_EQ(jobs.get(kRe)->state, db::JobState::kPending);
}

TEST_F(PipelineDurability, AFullDiskIsTriedAgainAfterTheBackoffAndTheJobGoesOn) {
  FullDisk disk;
  db::JobStore jobs(dir_.path() / "db");
  requeue_stored(jobs, storage_, now_ms());
  auto o = options();
  o.store_retry_min = milliseconds(5);
  o.store_retry_max = milliseconds(50);
  Pipeline pipeline(o, jobs, std::make_unique<FakeMedia>(), storage_, log_, util::system_clock(),
                    testing::half_jitter);
  disk.full(true);
  pipeline.start();
  ASSERT_TRUE(poll_until([&] { return storage_.heads() >= 2; }));
  disk.full(false);
  ASSERT_TRUE(poll_until([&] { return jobs.get(kRe)->state == db::JobState::kStored; }));
  pipeline.stop();
}

}  // namespace
}  // namespace partyline::recordings
