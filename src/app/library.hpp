#pragma once
// The library: past sessions and their recordings behind the console's sign-in. Lists and filters
// sessions (db::SessionIndex), tells one session's report, serves a recording's audio (S3: a
// presigned link made at request time; a local directory: the file, with byte ranges), retries a
// failed copy, deletes a recording (admins; the job stays as a tombstone), and, with a retention,
// deletes recordings older than it once a day.
#include <atomic>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "app/api.hpp"
#include "auth/authenticator.hpp"
#include "db/calls.hpp"
#include "db/jobs.hpp"
#include "db/session_index.hpp"
#include "db/transcripts.hpp"
#include "http/message.hpp"
#include "log/logger.hpp"
#include "log/rate_limit.hpp"
#include "recordings/followups.hpp"
#include "storage/object_store.hpp"
#include "util/clock.hpp"

namespace partyline::app {

struct LibraryOptions {
  std::optional<int> retention_days;  // none: recordings are kept forever
  std::chrono::hours sweep_every{24};
  std::chrono::seconds link_lifetime{15 * 60};
  // The room that sessions from before rooms belong to ("" with several rooms).
  std::function<std::string()> only_room = [] { return std::string(); };
};

struct LibraryDeps {
  db::JobStore& jobs;
  db::CallStore& calls;
  db::SessionIndex& index;
  storage::ObjectStore& storage;
  recordings::Followups& followups;
  // Transcripts and summaries (TRANSCRIBE_URL); null: none, and a text search answers 400.
  db::TranscriptStore* transcripts = nullptr;
  std::function<void()> wake_pipeline;  // a retried job, or a removal left to the follow-ups
};

class Library {
 public:
  Library(LibraryDeps deps, LibraryOptions options, log::Logger& log, util::Clock clock);
  ~Library();
  Library(const Library&) = delete;
  Library& operator=(const Library&) = delete;

  // Brings the index up to date, then, with a retention, sweeps at once and every sweep_every
  // (one thread).
  void start();
  void stop();

  // GET /api/sessions[/{CF}], GET /api/recordings/{RE}/audio, POST /api/recordings/{RE}/retry,
  // DELETE /api/recordings/{RE}. `parts` are the path's segments ("api", ...).
  void handle(const http::Request& request, const auth::Principal& user,
              const std::vector<std::string>& parts, const http::Respond& respond);
  // A conference event was committed: its session is indexed again before the next read.
  void conference_changed(const std::string& conference_sid) {
    deps_.index.mark_dirty(conference_sid);
  }

  // Deletes the recordings whose retention has run out; returns how many.
  std::size_t sweep();

 private:
  http::Response list(const http::Request& request);
  http::Response session(const std::string& conference_sid);
  http::Response audio(const http::Request& request, const std::string& recording_sid);
  http::Response captions(const std::string& recording_sid);
  http::Response retry(const auth::Principal& user, const std::string& recording_sid);
  http::Response remove(const auth::Principal& user, const std::string& recording_sid);
  // The tombstone is set: remove what is stored, or leave it to the follow-ups. True when gone.
  bool remove_objects(const db::Job& job);
  boost::json::object session_object(const db::SessionRow& row, const std::vector<db::Job>& jobs);
  boost::json::object recording_object(const db::Job& job) const;
  std::int64_t now_ms() const;
  void sweep_loop();
  // Runs `work` on a worker; 503 when too many wait already.
  void on_worker(const http::Respond& respond, std::function<http::Response()> work);

  LibraryDeps deps_;
  LibraryOptions options_;
  log::Logger& log_;
  mutable log::RateLimitedLog limited_{log_};
  util::Clock clock_;
  // The database and the store, off the I/O threads: at most 32 wait.
  api::Workers workers_{2, 32, "busy: too many library requests wait"};
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread sweeper_;
};

}  // namespace partyline::app
