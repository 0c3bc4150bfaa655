#pragma once
// Moves a recording from Twilio to storage, exactly once: a callback becomes a durable job row;
// worker threads (separate from the HTTP threads) fetch the media to a spool file and write it
// create-only to the object store, retrying with backoff until RECORDING_MAX_AGE, then
// dead-lettering. A fetch that succeeded is not repeated when only the upload failed: the verified
// spool file is kept (and noted in the row) for the next attempt. A restart resumes every pending
// row and every follow-up still owed.
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "db/jobs.hpp"
#include "log/logger.hpp"
#include "log/rate_limit.hpp"
#include "metrics/metrics.hpp"
#include "recordings/callback.hpp"
#include "recordings/followups.hpp"
#include "recordings/intake.hpp"
#include "recordings/media_source.hpp"
#include "storage/object_store.hpp"
#include "util/backoff.hpp"
#include "util/clock.hpp"
#include "util/result.hpp"

namespace partyline::recordings {

struct PipelineOptions {
  std::filesystem::path spool_dir;
  std::string prefix = "partyline/";
  // The key prefix of the callback's room (rooms have their own); empty or unset: `prefix`.
  std::function<std::string(const RecordingCallback&)> prefix_for;
  std::string format = "mp3";  // of the key, the spool file and the Content-Type
  unsigned workers = 2;
  std::chrono::milliseconds retry_min{1000};
  std::chrono::milliseconds retry_max{600'000};
  std::chrono::seconds max_age{7 * 24 * 3600};
  metrics::Metrics* metrics = nullptr;
  // Follow-ups (report, notice, delete-after-copy): the db::followup steps a job owes once
  // stored or dead-lettered, written with that state, and what runs one step (on a worker
  // thread; steps log their own errors). A step not done is tried again with backoff
  // (retry_min..retry_max), after a restart too, until max_age after the job finished.
  unsigned followups_stored = 0;
  unsigned followups_dead = 0;
  std::function<FollowupResult(unsigned step, const db::Job&)> run_followup;
  // After an error of the database or the disk (a full DATA_DIR), workers pause this long,
  // doubling up to store_retry_max, instead of trying again at once.
  std::chrono::milliseconds store_retry_min{100};
  std::chrono::milliseconds store_retry_max{30'000};
};

class Pipeline : public Intake {
 public:
  // `media` is the pipeline's own (nothing else fetches media); `random` draws the jitter of
  // the retry delays.
  Pipeline(PipelineOptions options, db::JobStore& jobs, std::unique_ptr<MediaSource> media,
           storage::ObjectStore& storage, log::Logger& log, util::Clock clock,
           util::RandomBytes random);
  ~Pipeline();
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  // Removes spool leftovers, then starts the workers (pending rows are resumed).
  void start();
  // Workers finish the copy they are on, then exit; waiting callbacks are answered.
  void stop();
  // Work was made due from outside (a retried job, a deletion's removal left to the follow-ups):
  // the workers look again now rather than at their next timer.
  void wake();

  // Intake: durably records the job (or finds it); waits for it to be stored.
  Accepted accept(const RecordingCallback& callback) override;
  void wait(const std::string& recording_sid, std::chrono::milliseconds timeout,
            WaitDone done) override;
  std::size_t pending() override { return jobs_.count_pending(); }
  std::optional<std::int64_t> oldest_pending_ms() override { return jobs_.oldest_pending_ms(); }

  // The storage key a callback maps to (pure; used by accept and by tools).
  std::string key_for(const RecordingCallback& callback, util::Clock::result_type first_seen) const;

 private:
  struct Waiter {
    std::chrono::steady_clock::time_point deadline;
    WaitDone done;
  };

  void worker_loop();
  void deadline_loop();
  // A job due for its copy, else one owing follow-ups; nullopt when none. Under mutex_.
  std::optional<std::pair<db::Job, bool>> claim();
  void run_followups(const db::Job& job);
  // The store (or the disk under it) failed: every worker pauses (backoff), one line is logged
  // per reason per interval.
  void store_failed(std::string_view evt, const std::string& sid, const std::string& reason);
  void finish(const std::string& sid);
  std::int64_t now_ms() const;
  std::string content_type() const;
  double jitter01() const;

  // The copy of one job, step by step (pipeline.cpp).
  struct Attempt;
  struct Copied;
  void process(db::Job job);
  bool expired(const db::Job& job) const;
  void dead_letter(const db::Job& job);
  bool already_stored(const db::Job& job);
  util::Result<Copied> copy_once(Attempt& attempt);
  std::optional<Media> reuse_kept_spool(Attempt& attempt);
  util::Result<Media> fetch(Attempt& attempt);
  void begin_streamed_upload(Attempt& attempt, std::optional<std::uint64_t> size);
  util::Result<storage::PutOutcome> upload(Attempt& attempt, const Media& media);
  void schedule_retry(Attempt& attempt, const util::Failure& failure);
  void stored(Attempt& attempt, const Copied& copied);
  std::string put_event(std::string_view what) const;  // "s3.put.ok", "local.put.ok"
  std::filesystem::path spool_path(const std::string& recording_sid) const;
  std::size_t remove_spool_leftovers();

  PipelineOptions options_;
  db::JobStore& jobs_;
  std::unique_ptr<MediaSource> media_;
  storage::ObjectStore& storage_;
  log::Logger& log_;
  util::Clock clock_;
  util::RandomBytes random_;

  std::mutex mutex_;
  std::condition_variable work_cv_;
  std::condition_variable deadline_cv_;
  bool stopping_ = false;
  std::set<std::string> running_;
  bool due_but_running_ = false;  // claim() found only jobs that other workers are on
  util::Backoff store_backoff_;
  std::chrono::steady_clock::time_point paused_until_{};
  log::RateLimitedLog errors_;
  std::multimap<std::string, Waiter> waiters_;
  std::vector<std::thread> threads_;
};

}  // namespace partyline::recordings
