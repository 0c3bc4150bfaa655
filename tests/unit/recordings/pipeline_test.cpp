// The exactly-once copy, step by step, with a fake media source and object store over a real job
// table: retries and their delays, dead-lettering, duplicates, restarts, and a good fetch that is
// not repeated when only the upload failed.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "../db/test_dir.hpp"
#include "db/jobs.hpp"
#include "fakes.hpp"
#include "metrics/metrics.hpp"
#include "recordings/pipeline.hpp"
#include "util/crypto.hpp"

namespace partyline::recordings {
namespace {

namespace fs = std::filesystem;
using db::testing::poll_until;
using db::testing::TestDir;
using std::chrono::milliseconds;
using testing::FakeMedia;
using testing::FakeStorage;

const std::string kRe = "RE" + std::string(32, '7');

RecordingCallback callback() {
  RecordingCallback cb;
  cb.recording_sid = kRe;
  cb.recording_url = "https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/" + kRe;
  cb.status = "completed";
  cb.conference_sid = "CF" + std::string(32, '1');
  cb.duration = "42";
  cb.start_time = "Sat, 25 Oct 2025 19:17:43 +0000";
  return cb;
}

// Time stands still until the test moves it: every delay the pipeline computes is exact.
class ManualClock {
 public:
  static constexpr std::int64_t kStart = 1'761'419'863'000;  // 2025-10-25T19:17:43Z
  util::Clock clock() {
    return [this] { return std::chrono::system_clock::time_point(milliseconds(ms_.load())); };
  }
  std::int64_t now() const { return ms_; }
  void set(std::int64_t ms) { ms_ = ms; }

 private:
  std::atomic<std::int64_t> ms_{kStart};
};

class PipelineTest : public ::testing::Test {
 protected:
  PipelineTest()
      : log_fd_(
            ::open((dir_.path() / "log").c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600)),
        log_(log_fd_, config::LogLevel::kDebug, util::system_clock()) {}
  ~PipelineTest() override { ::close(log_fd_); }

  PipelineOptions options() {
    PipelineOptions o;
    o.spool_dir = spool_dir();
    o.workers = 1;
    o.retry_min = milliseconds(100);
    o.retry_max = milliseconds(400);
    o.max_age = std::chrono::hours(1);
    o.metrics = &metrics_;
    return o;
  }
  // A pipeline over the same database file as every other one of this test (a restart).
  std::unique_ptr<Pipeline> pipeline(std::unique_ptr<MediaSource> media, PipelineOptions o = {}) {
    if (o.spool_dir.empty()) o = options();
    return std::make_unique<Pipeline>(std::move(o), jobs_, std::move(media), storage_, log_,
                                      clock_.clock(), testing::half_jitter);
  }
  fs::path spool_dir() const { return dir_.path() / "spool"; }
  fs::path spool_file() const { return spool_dir() / (kRe + ".mp3.part"); }
  std::vector<std::string> spool_files() const {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(spool_dir(), ec))
      out.push_back(entry.path().filename().string());
    return out;
  }
  db::Job row() { return jobs_.get(kRe).value(); }
  // Until the job has failed `n` attempts (it is due again after its backoff).
  bool failed_attempts(int n) {
    return poll_until([&] { return row().attempts >= n; });
  }
  // The row once the job is no longer pending (or its state after the deadline).
  db::Job finished(Pipeline& p) {
    auto answer = std::make_shared<std::promise<db::Job>>();
    auto row = answer->get_future();
    p.wait(kRe, std::chrono::seconds(10),
           [answer](const db::Job& job, bool) { answer->set_value(job); });
    return row.get();  // wait() answers by its deadline at the latest
  }
  std::vector<boost::json::object> log_lines(std::string_view evt) const {
    std::vector<boost::json::object> out;
    std::ifstream in(dir_.path() / "log");
    for (std::string line; std::getline(in, line);) {
      auto parsed = boost::json::parse(line).as_object();
      if (parsed.at("evt").as_string() == evt) out.push_back(std::move(parsed));
    }
    return out;
  }
  std::uint64_t counter(std::string_view name) const {
    const std::string text = metrics_.render({});
    const auto at = text.find("\n" + std::string(name) + " ");
    if (at == std::string::npos) return 0;
    return std::stoull(text.substr(at + name.size() + 2));
  }
  std::string key() const { return jobs_.get(kRe)->key; }

  TestDir dir_;
  int log_fd_;
  log::Logger log_;
  ManualClock clock_;
  metrics::Metrics metrics_;
  FakeStorage storage_;
  mutable db::JobStore jobs_{dir_.path() / "partyline.db"};
};

TEST_F(PipelineTest, ACallbackIsFetchedAndStoredOnce) {
  auto media = std::make_unique<FakeMedia>();
  auto& fake = *media;
  auto p = pipeline(std::move(media));
  p->start();
  ASSERT_TRUE(p->accept(callback()).inserted);
  const auto job = finished(*p);
  EXPECT_EQ(job.state, db::JobState::kStored);
  EXPECT_EQ(job.bytes, fake.body().size());
  EXPECT_EQ(job.location, "fake://" + job.key);
  EXPECT_EQ(storage_.object(job.key), fake.body());
  EXPECT_EQ(storage_.last_put().content_type, "audio/mpeg");
  EXPECT_EQ(job.sha256, storage_.last_put().sha256_hex);
  EXPECT_FALSE(job.spool.kept());
  p->stop();
  EXPECT_EQ(fake.fetches(), 1);
  EXPECT_TRUE(spool_files().empty());
}

TEST_F(PipelineTest, AFailedFetchIsRetriedAfterExactBackoffDelays) {
  auto media = std::make_unique<FakeMedia>();
  auto& fake = *media;
  fake.then(FakeMedia::Next::kFail, 3);
  auto p = pipeline(std::move(media));
  p->start();
  p->accept(callback());
  // retry_min 100 ms doubling up to 400 ms; the fixed jitter draws the middle of [half, full].
  const std::int64_t delays[] = {75, 150, 300};
  for (int attempt = 1; attempt <= 3; ++attempt) {
    SCOPED_TRACE(attempt);
    ASSERT_TRUE(failed_attempts(attempt));
    const auto job = row();
    EXPECT_EQ(job.state, db::JobState::kPending);
    EXPECT_EQ(job.last_error, "HTTP 503");
    EXPECT_EQ(job.next_attempt_ms, clock_.now() + delays[attempt - 1]);
    clock_.set(job.next_attempt_ms);
  }
  EXPECT_EQ(finished(*p).state, db::JobState::kStored);
  p->stop();
  EXPECT_EQ(fake.fetches(), 4);
  EXPECT_EQ(storage_.puts(), 1);
  EXPECT_EQ(counter("partyline_recordings_failed_total"), 3u);
  const auto errors = log_lines("recording.fetch.error");
  ASSERT_EQ(errors.size(), 3u);
  EXPECT_EQ(errors[2].at("retry_in_ms").as_int64(), 300);
  EXPECT_EQ(errors[2].at("attempt").as_int64(), 3);
}

TEST_F(PipelineTest, AJobNotStoredWithinTheMaxAgeIsDeadLetteredAndOwesItsFollowups) {
  auto o = options();
  o.followups_dead = db::followup::kNotice;
  o.run_followup = [](unsigned, const db::Job&) { return FollowupResult{false, "HTTP 502"}; };
  // The fetch is good but storage refuses: the verified spool file is kept for the next attempt.
  storage_.fail_puts(1'000);
  auto p = pipeline(std::make_unique<FakeMedia>(), o);
  p->start();
  p->accept(callback());
  ASSERT_TRUE(failed_attempts(1));
  ASSERT_TRUE(fs::exists(spool_file()));

  clock_.set(ManualClock::kStart + std::chrono::milliseconds(std::chrono::hours(1)).count() + 1);
  const auto job = finished(*p);
  EXPECT_EQ(job.state, db::JobState::kDead);
  EXPECT_EQ(job.followups, db::followup::kNotice);
  EXPECT_FALSE(job.spool.kept());
  p->stop();
  EXPECT_TRUE(spool_files().empty());
  EXPECT_EQ(storage_.objects(), 0u);
  EXPECT_EQ(counter("partyline_recordings_dead_total"), 1u);
  const auto dead = log_lines("recording.dead");
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_NE(std::string(dead[0].at("reason").as_string()).find("after 1 attempts"),
            std::string::npos);
}

TEST_F(PipelineTest, DuplicateCallbacksMakeOneCopy) {
  auto media = std::make_unique<FakeMedia>();
  auto& fake = *media;
  auto p = pipeline(std::move(media));
  EXPECT_TRUE(p->accept(callback()).inserted);
  EXPECT_FALSE(p->accept(callback()).inserted);
  p->start();
  EXPECT_EQ(finished(*p).state, db::JobState::kStored);
  // Redelivered once stored: the row answers, nothing is copied again.
  const auto again = p->accept(callback());
  EXPECT_FALSE(again.inserted);
  EXPECT_EQ(again.job.state, db::JobState::kStored);
  p->stop();
  EXPECT_EQ(fake.fetches(), 1);
  EXPECT_EQ(storage_.puts(), 1);
  EXPECT_EQ(storage_.objects(), 1u);
  EXPECT_EQ(counter("partyline_recordings_queued_total"), 1u);
}

TEST_F(PipelineTest, APendingJobIsCopiedByTheNextProcess) {
  {
    // Accepted, then the process ends before a worker got to it.
    auto first = pipeline(std::make_unique<FakeMedia>());
    first->accept(callback());
  }
  fs::create_directories(spool_dir());
  std::ofstream(spool_dir() / "RE-crashed.mp3.part") << "half a recording";

  auto media = std::make_unique<FakeMedia>();
  auto& fake = *media;
  auto second = pipeline(std::move(media));
  second->start();
  EXPECT_EQ(finished(*second).state, db::JobState::kStored);
  second->stop();
  EXPECT_EQ(fake.fetches(), 1);
  EXPECT_EQ(storage_.object(key()), fake.body());
  EXPECT_TRUE(spool_files().empty());
}

TEST_F(PipelineTest, AJobFoundInStorageWithItsSizeIsNotFetched) {
  auto media = std::make_unique<FakeMedia>();
  auto& fake = *media;
  auto p = pipeline(std::move(media));
  p->accept(callback());
  // Stored before, then queued again (`recordings retry`): the object is still there.
  jobs_.mark_stored(kRe, "fake://" + key(), 10, "", clock_.now());
  jobs_.requeue(kRe, clock_.now());
  storage_.add(key(), std::string(10, 'x'));
  p->start();
  EXPECT_EQ(finished(*p).state, db::JobState::kStored);
  p->stop();
  EXPECT_EQ(fake.fetches(), 0);
  EXPECT_EQ(storage_.puts(), 0);
  EXPECT_EQ(log_lines("recording.duplicate").size(), 1u);
}

TEST_F(PipelineTest, AFetchCutHalfWayIsRetriedAndLeavesNothing) {
  auto media = std::make_unique<FakeMedia>();
  auto& fake = *media;
  fake.then(FakeMedia::Next::kCutHalfWay);
  auto p = pipeline(std::move(media));
  p->start();
  p->accept(callback());
  ASSERT_TRUE(failed_attempts(1));
  const auto job = row();
  EXPECT_EQ(job.state, db::JobState::kPending);
  EXPECT_EQ(job.last_error, "connection dropped after 500 bytes");
  EXPECT_EQ(job.next_attempt_ms, clock_.now() + 75);
  EXPECT_FALSE(job.spool.kept());
  EXPECT_EQ(storage_.puts(), 0);
  EXPECT_TRUE(spool_files().empty());

  clock_.set(job.next_attempt_ms);
  EXPECT_EQ(finished(*p).state, db::JobState::kStored);
  p->stop();
  EXPECT_EQ(fake.fetches(), 2);
  EXPECT_EQ(storage_.object(key()), fake.body());
}

TEST_F(PipelineTest, AnUploadThatFailsAfterAGoodFetchUploadsTheKeptFileNext) {
  auto media = std::make_unique<FakeMedia>();
  auto& fake = *media;
  storage_.fail_puts(1);
  auto p = pipeline(std::move(media));
  p->start();
  p->accept(callback());
  ASSERT_TRUE(failed_attempts(1));
  const auto job = row();
  EXPECT_EQ(job.last_error, "HTTP 503");
  EXPECT_TRUE(job.spool.kept());
  EXPECT_EQ(job.spool.bytes, fake.body().size());
  EXPECT_EQ(job.spool.sha256, util::sha256_hex(fake.body()));
  ASSERT_TRUE(fs::exists(spool_file()));

  clock_.set(job.next_attempt_ms);
  const auto done = finished(*p);
  EXPECT_EQ(done.state, db::JobState::kStored);
  EXPECT_EQ(done.sha256, util::sha256_hex(fake.body()));
  EXPECT_FALSE(done.spool.kept());
  p->stop();
  EXPECT_EQ(fake.fetches(), 1);
  EXPECT_EQ(storage_.puts(), 2);
  EXPECT_EQ(storage_.object(key()), fake.body());
  EXPECT_EQ(storage_.last_put().sha256_hex, util::sha256_hex(fake.body()));
  EXPECT_TRUE(spool_files().empty());
  EXPECT_EQ(log_lines("recording.fetch.reused").size(), 1u);
  EXPECT_EQ(log_lines("recording.fetch.ok").size(), 1u);
}

TEST_F(PipelineTest, AKeptFileSurvivesARestartAndIsUploadedWithoutFetching) {
  storage_.fail_puts(1);
  {
    auto first = pipeline(std::make_unique<FakeMedia>());
    first->start();
    first->accept(callback());
    ASSERT_TRUE(failed_attempts(1));
    first->stop();
  }
  ASSERT_TRUE(fs::exists(spool_file()));
  auto media = std::make_unique<FakeMedia>();
  auto& fake = *media;
  clock_.set(row().next_attempt_ms);
  auto second = pipeline(std::move(media));
  second->start();
  EXPECT_EQ(finished(*second).state, db::JobState::kStored);
  second->stop();
  EXPECT_EQ(fake.fetches(), 0);
  EXPECT_EQ(storage_.object(key()), fake.body());
  EXPECT_TRUE(spool_files().empty());
}

TEST_F(PipelineTest, AKeptFileThatChangedIsFetchedAgain) {
  auto media = std::make_unique<FakeMedia>();
  auto& fake = *media;
  storage_.fail_puts(1);
  auto p = pipeline(std::move(media));
  p->start();
  p->accept(callback());
  ASSERT_TRUE(failed_attempts(1));
  // Same size, other bytes: what a machine crash can leave of a file written without fsync.
  std::ofstream(spool_file(), std::ios::binary | std::ios::trunc)
      << std::string(fake.body().size(), '\0');
  clock_.set(row().next_attempt_ms);
  EXPECT_EQ(finished(*p).state, db::JobState::kStored);
  p->stop();
  EXPECT_EQ(fake.fetches(), 2);
  EXPECT_EQ(storage_.object(key()), fake.body());
  EXPECT_EQ(log_lines("recording.spool.discarded").size(), 1u);
  EXPECT_TRUE(log_lines("recording.fetch.reused").empty());
}

TEST_F(PipelineTest, AFetchWithoutAnAnnouncedSizeIsNotKept) {
  auto media = std::make_unique<FakeMedia>();
  auto& fake = *media;
  fake.then(FakeMedia::Next::kUnannounced);
  storage_.fail_puts(1);
  auto p = pipeline(std::move(media));
  p->start();
  p->accept(callback());
  ASSERT_TRUE(failed_attempts(1));
  EXPECT_FALSE(row().spool.kept());
  EXPECT_TRUE(spool_files().empty());
  clock_.set(row().next_attempt_ms);
  EXPECT_EQ(finished(*p).state, db::JobState::kStored);
  p->stop();
  EXPECT_EQ(fake.fetches(), 2);
}

TEST_F(PipelineTest, PutEventsAreNamedByTheStore) {
  FakeStorage local("local");
  local.fail_puts(1);
  auto o = options();
  Pipeline p(o, jobs_, std::make_unique<FakeMedia>(), local, log_, clock_.clock(),
             testing::half_jitter);
  p.start();
  p.accept(callback());
  ASSERT_TRUE(failed_attempts(1));
  clock_.set(row().next_attempt_ms);
  EXPECT_EQ(finished(p).state, db::JobState::kStored);
  p.stop();
  EXPECT_EQ(log_lines("local.put.begin").size(), 2u);
  EXPECT_EQ(log_lines("local.put.error").size(), 1u);
  EXPECT_EQ(log_lines("local.put.ok").size(), 1u);
  EXPECT_TRUE(log_lines("s3.put.begin").empty());
  EXPECT_TRUE(log_lines("s3.put.ok").empty());
}

TEST_F(PipelineTest, TheStoredLineAndCountersComeBeforeTheStoredRow) {
  auto p = pipeline(std::make_unique<FakeMedia>());
  p->start();
  p->accept(callback());
  // Whoever sees the row stored finds the line and the counter already there.
  ASSERT_TRUE(poll_until([&] { return row().state == db::JobState::kStored; }));
  EXPECT_EQ(log_lines("recording.stored").size(), 1u);
  EXPECT_EQ(counter("partyline_recordings_stored_total"), 1u);
  p->stop();
}

}  // namespace
}  // namespace partyline::recordings

namespace partyline::recordings {
namespace {

TEST_F(PipelineTest, TheKeyTakesThePrefixOfTheConferencesRoom) {
  PipelineOptions o = options();
  o.prefix = "partyline/";
  std::string asked;
  o.prefix_for = [&asked](const RecordingCallback& cb) {
    asked = cb.conference_sid;
    return cb.conference_sid.empty() ? std::string() : std::string("studio/");
  };
  auto p = pipeline(std::make_unique<FakeMedia>(), std::move(o));
  RecordingCallback cb = callback();
  const auto now = clock_.clock()();
  EXPECT_TRUE(p->key_for(cb, now).starts_with("studio/")) << p->key_for(cb, now);
  EXPECT_EQ(asked, cb.conference_sid);
  cb.conference_sid.clear();  // no room known: the service's prefix
  EXPECT_TRUE(p->key_for(cb, now).starts_with("partyline/")) << p->key_for(cb, now);
}

TEST_F(PipelineTest, ATracksKeyNamesTheSessionAndTheCallersTurnNeverANumber) {
  PipelineOptions o = options();
  o.prefix = "show/";
  auto p = pipeline(std::make_unique<FakeMedia>(), std::move(o));
  RecordingCallback cb = callback();
  cb.conference_sid = "CF" + std::string(32, 'c');
  cb.track = "track02-speaker";
  cb.session_start = "2026-12-01T10:00:00.000Z";
  const auto now = clock_.clock()();
  EXPECT_EQ(p->key_for(cb, now),
            "show/2026-12-01T10-00-00Z-" + cb.conference_sid + "-track02-speaker.mp3");
  cb.session_start.clear();  // the session is not known: the recording names it
  EXPECT_TRUE(p->key_for(cb, now).ends_with(cb.recording_sid + "-track02-speaker.mp3"))
      << p->key_for(cb, now);
}

}  // namespace
}  // namespace partyline::recordings
