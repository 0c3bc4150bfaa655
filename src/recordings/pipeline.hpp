#pragma once
// Moves a recording from Twilio to storage, exactly once: a callback becomes a durable job row;
// worker threads (separate from the HTTP threads) fetch the media to a spool file and write it
// create-only to the object store, retrying with backoff until RECORDING_MAX_AGE, then
// dead-lettering. A restart resumes every pending row.
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "config/config.hpp"
#include "log/logger.hpp"
#include "metrics/metrics.hpp"
#include "recordings/callback.hpp"
#include "storage/object_store.hpp"
#include "store/jobs.hpp"
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
  // Follow-ups (report, notice, delete-after-copy), on the worker thread; they log their own
  // errors.
  std::function<void(const store::Job&)> after_stored;
  std::function<void(const store::Job&)> after_dead;
};

class Pipeline {
 public:
  Pipeline(PipelineOptions options, store::JobStore& jobs, storage::ObjectStore& storage,
           log::Logger& log, util::Clock clock);
  ~Pipeline();
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  // Removes spool leftovers, then starts the workers (pending rows are resumed).
  void start();
  // Workers finish the copy they are on, then exit; waiting callbacks are answered.
  void stop();

  struct Accepted {
    store::Job job;
    bool inserted = false;  // first time this RecordingSid was seen
  };
  // Durably records the job (or finds it). Throws std::runtime_error if the store fails.
  Accepted accept(const RecordingCallback& callback);

  // Calls `done(job, finished)` once: when the job leaves the pending state (finished = true),
  // or with the current row when `timeout` passes first (finished = false). Any thread.
  using WaitDone = std::function<void(const store::Job&, bool finished)>;
  void wait(const std::string& recording_sid, std::chrono::milliseconds timeout, WaitDone done);

  // The storage key a callback maps to (pure; used by accept and by tools).
  std::string key_for(const RecordingCallback& callback, util::Clock::result_type first_seen) const;

 private:
  struct Waiter {
    std::chrono::steady_clock::time_point deadline;
    WaitDone done;
  };

  void worker_loop();
  void deadline_loop();
  void process(store::Job job);
  void finish(const std::string& sid);
  std::int64_t now_ms() const;
  std::string content_type() const;

  PipelineOptions options_;
  store::JobStore& jobs_;
  storage::ObjectStore& storage_;
  log::Logger& log_;
  util::Clock clock_;

  std::mutex mutex_;
  std::condition_variable work_cv_;
  std::condition_variable deadline_cv_;
  bool stopping_ = false;
  std::set<std::string> running_;
  std::multimap<std::string, Waiter> waiters_;
  std::vector<std::thread> threads_;
};

}  // namespace partyline::recordings
