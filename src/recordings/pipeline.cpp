#include "recordings/pipeline.hpp"

#include <algorithm>
#include <memory>
#include <optional>
#include <random>

#include "recordings/naming.hpp"
#include "twilio/media.hpp"

namespace partyline::recordings {
namespace fs = std::filesystem;

namespace {

// Idle workers look at the table this often: jobs queued by another process (`partyline
// reconcile`, `recordings retry`) start within this time. One indexed SELECT each.
constexpr std::int64_t kIdlePollMs = 2'000;

double jitter01() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}

std::int64_t elapsed_ms(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               since)
      .count();
}

}  // namespace

Pipeline::Pipeline(PipelineOptions options, db::JobStore& jobs, storage::ObjectStore& storage,
                   log::Logger& log, util::Clock clock)
    : options_(std::move(options)),
      jobs_(jobs),
      storage_(storage),
      log_(log),
      clock_(std::move(clock)),
      store_backoff_(options_.store_retry_min, options_.store_retry_max),
      errors_(log) {}

Pipeline::~Pipeline() {
  stop();
}

std::int64_t Pipeline::now_ms() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock_().time_since_epoch()).count();
}

std::string Pipeline::content_type() const {
  return options_.format == "wav" ? "audio/wav" : "audio/mpeg";
}

std::string Pipeline::key_for(const RecordingCallback& cb,
                              util::Clock::result_type first_seen) const {
  const auto start = parse_twilio_time(cb.start_time).value_or(first_seen);
  return recording_key(options_.prefix, start, cb.recording_sid, options_.format);
}

void Pipeline::start() {
  std::error_code ec;
  fs::create_directories(options_.spool_dir, ec);
  // A spool file is only ever a partial or unverified copy: a restart fetches again.
  std::size_t removed = 0;
  for (const auto& entry : fs::directory_iterator(options_.spool_dir, ec)) {
    if (entry.is_regular_file()) removed += fs::remove(entry.path(), ec) ? 1 : 0;
  }
  // A temp file in storage is a write that a crash cut short: its job is still pending.
  const std::size_t storage_removed =
      options_.remove_storage_leftovers ? options_.remove_storage_leftovers() : 0;
  const std::size_t pending = jobs_.count_pending();
  log_.info("recordings.start", {{"workers", options_.workers},
                                 {"pending", pending},
                                 {"spool_leftovers_removed", removed},
                                 {"storage_leftovers_removed", storage_removed}});
  for (unsigned i = 0; i < options_.workers; ++i)
    threads_.emplace_back([this] { worker_loop(); });
  threads_.emplace_back([this] { deadline_loop(); });
}

void Pipeline::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  work_cv_.notify_all();
  deadline_cv_.notify_all();
  for (auto& t : threads_)
    t.join();
  threads_.clear();
  // Anyone still waiting gets the current row now.
  std::multimap<std::string, Waiter> left;
  {
    std::lock_guard lock(mutex_);
    left.swap(waiters_);
  }
  for (auto& [sid, w] : left) {
    auto job = jobs_.get(sid);
    w.done(job.value_or(db::Job{}), false);
  }
}

Pipeline::Accepted Pipeline::accept(const RecordingCallback& cb) {
  const auto now = clock_();
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  db::Job job;
  job.recording_sid = cb.recording_sid;
  job.conference_sid = cb.conference_sid;
  job.call_sid = cb.call_sid;
  job.recording_url = cb.recording_url;
  job.duration = cb.duration;
  job.start_time = iso8601(parse_twilio_time(cb.start_time).value_or(now));
  job.key = key_for(cb, now);
  job.first_seen_ms = job.next_attempt_ms = job.updated_ms = ms;
  auto [row, inserted] = jobs_.insert_or_get(job);
  if (inserted && options_.metrics) options_.metrics->recording_queued();
  if (row.state == db::JobState::kDead) {
    // Twilio says it is there again: give it a fresh life rather than ignore it.
    jobs_.requeue(row.recording_sid, ms);
    row = jobs_.get(row.recording_sid).value_or(row);
    log_.warn("recording.requeued", {{"RecordingSid", row.recording_sid}, {"key", row.key}});
  }
  if (row.state == db::JobState::kPending) {
    if (!inserted) jobs_.make_due(row.recording_sid, ms);
    work_cv_.notify_one();
  }
  return {std::move(row), inserted};
}

void Pipeline::wait(const std::string& sid, std::chrono::milliseconds timeout, WaitDone done) {
  {
    std::lock_guard lock(mutex_);
    if (!stopping_) {
      waiters_.emplace(sid, Waiter{std::chrono::steady_clock::now() + timeout, std::move(done)});
      deadline_cv_.notify_one();
      done = nullptr;
    }
  }
  if (done) done(jobs_.get(sid).value_or(db::Job{}), false);
  // The job may have finished between accept() and now: check once more.
  auto job = jobs_.get(sid);
  if (job && job->state != db::JobState::kPending) finish(sid);
}

void Pipeline::finish(const std::string& sid) {
  // A failed attempt leaves the job pending: its waiters keep waiting for a retry (or their
  // deadline) rather than hearing 503 at once; so does a row that cannot be read now.
  std::optional<db::Job> job;
  try {
    job = jobs_.get(sid);
  } catch (const std::exception&) {
    return;
  }
  if (!job || job->state == db::JobState::kPending) return;
  std::vector<WaitDone> ready;
  {
    std::lock_guard lock(mutex_);
    auto [first, last] = waiters_.equal_range(sid);
    for (auto it = first; it != last; ++it)
      ready.push_back(std::move(it->second.done));
    waiters_.erase(first, last);
  }
  for (auto& done : ready)
    done(*job, true);
}

void Pipeline::deadline_loop() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    const auto now = std::chrono::steady_clock::now();
    std::vector<std::pair<std::string, WaitDone>> expired;
    auto next = now + std::chrono::hours(1);
    for (auto it = waiters_.begin(); it != waiters_.end();) {
      if (it->second.deadline <= now) {
        expired.emplace_back(it->first, std::move(it->second.done));
        it = waiters_.erase(it);
      } else {
        next = std::min(next, it->second.deadline);
        ++it;
      }
    }
    if (!expired.empty()) {
      lock.unlock();
      for (auto& [sid, done] : expired) {
        db::Job job;
        try {
          job = jobs_.get(sid).value_or(db::Job{});
        } catch (const std::exception& e) {
          job.recording_sid = sid;
          job.last_error = e.what();
        }
        done(job, job.state != db::JobState::kPending);
      }
      lock.lock();
      continue;
    }
    deadline_cv_.wait_until(lock, next);
  }
}

std::optional<std::pair<db::Job, bool>> Pipeline::claim() {
  const std::int64_t now = now_ms();
  const std::size_t limit = running_.size() + options_.workers + 1;
  due_but_running_ = false;
  for (auto& job : jobs_.due(now, limit)) {
    if (running_.insert(job.recording_sid).second) return std::pair{std::move(job), true};
    due_but_running_ = true;
  }
  for (auto& job : jobs_.followups_due(now, limit)) {
    if (running_.insert(job.recording_sid).second) return std::pair{std::move(job), false};
    due_but_running_ = true;
  }
  return std::nullopt;
}

void Pipeline::store_failed(std::string_view evt, const std::string& sid,
                            const std::string& reason) {
  std::chrono::milliseconds delay;
  {
    std::lock_guard lock(mutex_);
    delay = store_backoff_.failed();
    paused_until_ = std::max(paused_until_, std::chrono::steady_clock::now() + delay);
  }
  boost::json::object fields{{"retry_in_ms", delay.count()}};
  if (!sid.empty()) fields["RecordingSid"] = sid;
  errors_.error(evt, reason, std::move(fields));
}

void Pipeline::worker_loop() {
  while (true) {
    std::unique_lock lock(mutex_);
    if (stopping_) return;
    if (std::chrono::steady_clock::now() < paused_until_) {
      work_cv_.wait_until(lock, paused_until_, [this] { return stopping_; });
      continue;
    }
    std::optional<std::pair<db::Job, bool>> claimed;
    try {
      claimed = claim();
    } catch (const std::exception& e) {
      lock.unlock();
      store_failed("recordings.store_error", {}, e.what());
      continue;
    }
    if (!claimed && due_but_running_) {
      // What is due is another worker's now: wait for one to finish, not a few milliseconds.
      work_cv_.wait_for(lock, std::chrono::milliseconds(kIdlePollMs));
      continue;
    }
    if (!claimed) {
      std::optional<std::int64_t> next;
      try {
        next = jobs_.next_due_ms();
        const auto followup = jobs_.next_followup_ms();
        if (followup && (!next || *followup < *next)) next = followup;
      } catch (const std::exception&) {
      }
      const auto wait = std::chrono::milliseconds(
          next ? std::clamp<std::int64_t>(*next - now_ms(), 5, kIdlePollMs) : kIdlePollMs);
      work_cv_.wait_for(lock, wait);
      continue;
    }
    lock.unlock();
    auto& [job, copy] = *claimed;
    const std::string sid = job.recording_sid;
    bool ok = true;
    try {
      if (copy) {
        process(std::move(job));
      } else {
        run_followups(job);
      }
    } catch (const std::exception& e) {
      ok = false;
      store_failed("recordings.worker_error", sid, e.what());
    }
    {
      std::lock_guard relock(mutex_);
      running_.erase(sid);
      if (ok) store_backoff_.succeeded();
    }
    work_cv_.notify_all();
    finish(sid);
  }
}

void Pipeline::run_followups(const db::Job& job) {
  unsigned owed = job.followups;
  if (owed == 0) return;
  if (!options_.run_followup) return jobs_.followups_done(job.recording_sid, owed, now_ms());
  std::string errors;
  for (unsigned step = 1; step != 0 && step <= owed; step <<= 1) {
    if ((owed & step) == 0) continue;
    const auto result = options_.run_followup(step, job);
    if (result.done) {
      jobs_.followups_done(job.recording_sid, step, now_ms());
      owed &= ~step;
      continue;
    }
    if (!errors.empty()) errors += "; ";
    errors += result.error;
  }
  if (owed == 0) return;
  const std::int64_t now = now_ms();
  const auto max_age_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(options_.max_age).count();
  // A dead job finished when its max age ran out.
  const std::int64_t finished_ms =
      job.state == db::JobState::kStored ? job.stored_ms : job.first_seen_ms + max_age_ms;
  if (now - finished_ms > max_age_ms) {
    jobs_.followups_done(job.recording_sid, owed, now);
    log_.error("followups.abandoned", {{"RecordingSid", job.recording_sid},
                                       {"steps", owed},
                                       {"attempts", job.followup_attempts + 1},
                                       {"reason", errors}});
    return;
  }
  const auto delay = backoff_delay(static_cast<unsigned>(job.followup_attempts), options_.retry_min,
                                   options_.retry_max, jitter01());
  jobs_.followups_retry(job.recording_sid, job.followup_attempts + 1, now + delay.count(), errors,
                        now);
  log_.warn("followups.retry", {{"RecordingSid", job.recording_sid},
                                {"steps", owed},
                                {"reason", errors},
                                {"attempt", job.followup_attempts + 1},
                                {"retry_in_ms", delay.count()}});
}

void Pipeline::process(db::Job job) {
  const std::int64_t now = now_ms();
  const auto max_age_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(options_.max_age).count();
  if (now - job.first_seen_ms > max_age_ms) {
    const std::string reason = "not stored within RECORDING_MAX_AGE after " +
                               std::to_string(job.attempts) +
                               " attempts; last error: " + job.last_error;
    jobs_.mark_dead(job.recording_sid, reason, now, options_.followups_dead);
    log_.error("recording.dead",
               {{"RecordingSid", job.recording_sid}, {"key", job.key}, {"reason", reason}});
    if (options_.metrics) options_.metrics->recording_dead();
    if (auto row = jobs_.get(job.recording_sid)) run_followups(*row);
    return;
  }

  const auto retry = [&](const std::string& error) {
    const int attempts = job.attempts + 1;
    const auto delay = backoff_delay(static_cast<unsigned>(job.attempts), options_.retry_min,
                                     options_.retry_max, jitter01());
    jobs_.mark_retry(job.recording_sid, attempts, now_ms() + delay.count(), error, now_ms());
    if (options_.metrics) options_.metrics->recording_attempt_failed();
    return delay.count();
  };

  // A job stored before and queued again (`recordings retry`): if storage still holds the same
  // bytes there is nothing to copy, and Twilio may no longer have the media anyway.
  if (job.bytes > 0) {
    const auto head = storage_.head(job.key);
    if (head.ok && head.exists && head.size == job.bytes) {
      jobs_.mark_stored(job.recording_sid, storage_.location(job.key), job.bytes, job.sha256,
                        now_ms(), options_.followups_stored);
      log_.info("recording.duplicate", {{"RecordingSid", job.recording_sid},
                                        {"key", job.key},
                                        {"reason", "already in storage with the recorded size"}});
      if (auto row = jobs_.get(job.recording_sid)) run_followups(*row);
      return;
    }
  }

  const fs::path spool = options_.spool_dir / (job.recording_sid + "." + options_.format + ".part");
  struct SpoolGuard {
    fs::path path;
    ~SpoolGuard() {
      std::error_code ec;
      fs::remove(path, ec);
    }
  } guard{spool};

  storage::Object object;
  object.file = spool;
  object.content_type = content_type();
  object.metadata = {{"recording-sid", job.recording_sid},
                     {"duration", job.duration},
                     {"conference-sid", job.conference_sid},
                     {"start-time", job.start_time}};

  // A large recording goes up in parts while it is still being fetched (storage decides from the
  // Content-Length whether it uploads in parts). Declared after the spool guard: an unfinished
  // upload is aborted before the file goes.
  std::unique_ptr<storage::PartUpload> upload;
  auto put_start = std::chrono::steady_clock::now();
  const auto begin_upload = [&](std::optional<std::uint64_t> size) {
    if (!size) return;
    storage::Object expected = object;
    expected.size = *size;
    try {
      upload = storage_.begin_upload(job.key, expected);
    } catch (const std::exception& e) {
      // No thread to be had, say: the whole file goes up once it is here, as for small ones.
      log_.warn("s3.put.stream_unavailable",
                {{"RecordingSid", job.recording_sid}, {"key", job.key}, {"reason", e.what()}});
    }
    if (!upload) return;
    put_start = std::chrono::steady_clock::now();
    log_.info("s3.put.begin", {{"RecordingSid", job.recording_sid},
                               {"key", job.key},
                               {"bytes", *size},
                               {"while_fetching", true}});
  };

  const auto fetch_start = std::chrono::steady_clock::now();
  auto media = twilio::fetch_media({.url = job.recording_url + "." + options_.format,
                                    .username = options_.account_sid,
                                    .password = options_.auth_token.reveal(),
                                    .spool = spool,
                                    .allow_http = options_.allow_http_media,
                                    .digest_plan =
                                        [&](std::optional<std::uint64_t> size) {
                                          begin_upload(size);
                                          return storage_.digest_plan(size);
                                        },
                                    .on_part =
                                        [&](const util::PartDigest& part) {
                                          if (upload) upload->part_ready(part);
                                        }});
  if (media.kind != twilio::MediaResult::Kind::kOk) {
    upload.reset();  // stops sending parts and aborts what went up
    const std::string reason = media.kind == twilio::MediaResult::Kind::kNotReady
                                   ? "media not ready yet (HTTP 404)"
                                   : media.error;
    const auto retry_in = retry(reason);
    log_.warn("recording.fetch.error", {{"RecordingSid", job.recording_sid},
                                        {"status", media.http_status},
                                        {"reason", reason},
                                        {"attempt", job.attempts + 1},
                                        {"retry_in_ms", retry_in}});
    return;
  }
  log_.info("recording.fetch.ok", {{"RecordingSid", job.recording_sid},
                                   {"bytes", media.bytes},
                                   {"ms", elapsed_ms(fetch_start)}});

  object.size = media.bytes;
  object.md5_hex = media.md5_hex;
  object.sha256_hex = media.sha256_hex;
  object.part_size = media.part_size;
  object.parts = std::move(media.parts);

  storage::PutResult put;
  if (upload) {
    put = upload->finish(object);
  } else {
    put_start = std::chrono::steady_clock::now();
    log_.info("s3.put.begin",
              {{"RecordingSid", job.recording_sid}, {"key", job.key}, {"bytes", media.bytes}});
    put = storage_.put_if_absent(job.key, object);
  }
  if (!put.ok) {
    const auto retry_in = retry(put.error);
    log_.warn("s3.put.error", {{"RecordingSid", job.recording_sid},
                               {"key", job.key},
                               {"status", put.http_status},
                               {"reason", put.error},
                               {"attempt", job.attempts + 1},
                               {"retry_in_ms", retry_in}});
    return;
  }
  const std::string location = storage_.location(job.key);
  if (put.outcome == storage::PutOutcome::kAlreadyExists) {
    log_.info("recording.duplicate", {{"RecordingSid", job.recording_sid},
                                      {"key", job.key},
                                      {"reason", "already in storage; not written again"}});
  } else {
    log_.info("s3.put.ok", {{"RecordingSid", job.recording_sid},
                            {"key", job.key},
                            {"bytes", media.bytes},
                            {"ms", elapsed_ms(put_start)},
                            {"location", location}});
  }
  jobs_.mark_stored(job.recording_sid, location, media.bytes, media.sha256_hex, now_ms(),
                    options_.followups_stored);
  log_.info("recording.stored", {{"RecordingSid", job.recording_sid},
                                 {"key", job.key},
                                 {"location", location},
                                 {"latency_ms", now_ms() - job.first_seen_ms}});
  if (options_.metrics) {
    options_.metrics->recording_stored(media.bytes,
                                       std::chrono::milliseconds(elapsed_ms(fetch_start)));
  }
  if (auto row = jobs_.get(job.recording_sid)) run_followups(*row);
}

}  // namespace partyline::recordings
