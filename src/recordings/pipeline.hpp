#pragma once
// Moves a recording from Twilio to storage, exactly once: a callback becomes a durable job row;
// worker threads (separate from the HTTP threads) fetch the media to a spool file and write it
// create-only to the object store, retrying with backoff until RECORDING_MAX_AGE, then
// dead-lettering. A restart resumes every pending row and every follow-up still owed.
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "config/config.hpp"
#include "db/jobs.hpp"
#include "log/logger.hpp"
#include "log/rate_limit.hpp"
#include "metrics/metrics.hpp"
#include "recordings/callback.hpp"
#include "recordings/followups.hpp"
#include "recordings/intake.hpp"
#include "storage/object_store.hpp"
#include "util/backoff.hpp"
#include "util/clock.hpp"

namespace partyline::recordings {

struct PipelineOptions {
  std::filesystem::path spool_dir;
  std::string account_sid;  // Basic auth user for the media
  config::Secret auth_token;
  std::string prefix = "partyline/";
  std::string format = "mp3";
  unsigned workers = 2;
  std::chrono::milliseconds retry_min{1000};
  std::chrono::milliseconds retry_max{600'000};
  std::chrono::seconds max_age{7 * 24 * 3600};
  bool allow_http_media = false;
  metrics::Metrics* metrics = nullptr;
  // Follow-ups (report, notice, delete-after-copy): the db::followup steps a job owes once
  // stored or dead-lettered, written with that state, and what runs one step (on a worker
  // thread; steps log their own errors). A step not done is tried again with backoff
  // (retry_min..retry_max), after a restart too, until max_age after the job finished.
  unsigned followups_stored = 0;
  unsigned followups_dead = 0;
  std::function<FollowupResult(unsigned step, const db::Job&)> run_followup;
  // Removes what a crashed write left in storage (LocalStore's temp files); run by start().
  std::function<std::size_t()> remove_storage_leftovers;
  // After an error of the database or the disk (a full DATA_DIR), workers pause this long,
  // doubling up to store_retry_max, instead of trying again at once.
  std::chrono::milliseconds store_retry_min{100};
  std::chrono::milliseconds store_retry_max{30'000};
};

class Pipeline : public Intake {
 public:
  Pipeline(PipelineOptions options, db::JobStore& jobs, storage::ObjectStore& storage,
           log::Logger& log, util::Clock clock);
  ~Pipeline();
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  // Removes spool leftovers, then starts the workers (pending rows are resumed).
  void start();
  // Workers finish the copy they are on, then exit; waiting callbacks are answered.
  void stop();

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
  void process(db::Job job);
  void run_followups(const db::Job& job);
  // The store (or the disk under it) failed: every worker pauses (backoff), one line is logged
  // per reason per interval.
  void store_failed(std::string_view evt, const std::string& sid, const std::string& reason);
  void finish(const std::string& sid);
  std::int64_t now_ms() const;
  std::string content_type() const;

  PipelineOptions options_;
  db::JobStore& jobs_;
  storage::ObjectStore& storage_;
  log::Logger& log_;
  util::Clock clock_;

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
