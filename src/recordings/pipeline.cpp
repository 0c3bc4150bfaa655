#include "recordings/pipeline.hpp"

#include <algorithm>
#include <fstream>
#include <memory>
#include <optional>
#include <unordered_set>
#include <vector>

#include "recordings/naming.hpp"

namespace partyline::recordings {
namespace {
// The follow-ups the copy's workers run.
constexpr unsigned kQuickSteps = db::followup::kAll & ~db::followup::kSlow;
}  // namespace
namespace fs = std::filesystem;

namespace {

// Idle workers look at the table this often: jobs queued by another process (`partyline
// reconcile`, `recordings retry`) start within this time. One indexed SELECT each.
constexpr std::int64_t kIdlePollMs = 2'000;

// The whole file read through the digests of `plan`; nullopt if it cannot be read.
std::optional<util::StreamDigests> digest_spool(const fs::path& file, util::DigestPlan plan) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return std::nullopt;
  util::StreamDigest digest(plan);
  std::vector<char> buffer(64 * 1024);
  while (in.read(buffer.data(), static_cast<std::streamsize>(buffer.size())) || in.gcount() > 0)
    digest.update(buffer.data(), static_cast<std::size_t>(in.gcount()));
  if (in.bad()) return std::nullopt;
  return digest.finish();
}

std::int64_t elapsed_ms(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               since)
      .count();
}

}  // namespace

Pipeline::Pipeline(PipelineOptions options, db::JobStore& jobs, std::unique_ptr<MediaSource> media,
                   storage::ObjectStore& storage, log::Logger& log, util::Clock clock,
                   util::RandomBytes random)
    : options_(std::move(options)),
      jobs_(jobs),
      media_(std::move(media)),
      storage_(storage),
      log_(log),
      clock_(std::move(clock)),
      random_(std::move(random)),
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

// Uniform in [0, 1): the top 53 bits of 8 random bytes.
double Pipeline::jitter01() const {
  std::uint64_t bits = 0;
  for (const unsigned char byte : random_(8))
    bits = (bits << 8) | byte;
  return static_cast<double>(bits >> 11) * 0x1.0p-53;
}

std::string Pipeline::put_event(std::string_view what) const {
  return std::string(storage_.name()) + ".put." + std::string(what);
}

fs::path Pipeline::spool_path(const std::string& recording_sid) const {
  return options_.spool_dir / (recording_sid + "." + options_.format + ".part");
}

// A spool file is a partial or unverified copy (fetched again), except one that a pending job's
// row says is complete and verified: that one is uploaded by the job's next attempt.
std::size_t Pipeline::remove_spool_leftovers() {
  std::unordered_set<std::string> kept;
  for (const auto& sid : jobs_.kept_spools())
    kept.insert(spool_path(sid).filename().string());
  std::error_code ec;
  std::size_t removed = 0;
  for (const auto& entry : fs::directory_iterator(options_.spool_dir, ec)) {
    if (!entry.is_regular_file() || kept.count(entry.path().filename().string())) continue;
    removed += fs::remove(entry.path(), ec) ? 1 : 0;
  }
  return removed;
}

std::string Pipeline::key_for(const RecordingCallback& cb,
                              util::Clock::result_type first_seen) const {
  std::string prefix = options_.prefix_for ? options_.prefix_for(cb) : std::string();
  if (prefix.empty()) prefix = options_.prefix;
  if (!cb.track.empty()) {
    // Beside the session's mix, named by the session and the caller's place in it: no digits of
    // a phone number in a key.
    const auto session = parse_twilio_time(cb.session_start);
    if (session && !cb.conference_sid.empty()) {
      return recording_key(prefix, *session, cb.conference_sid + "-" + cb.track, options_.format);
    }
    const auto start = parse_twilio_time(cb.start_time).value_or(first_seen);
    return recording_key(prefix, start, cb.recording_sid + "-" + cb.track, options_.format);
  }
  const auto start = parse_twilio_time(cb.start_time).value_or(first_seen);
  return recording_key(prefix, start, cb.recording_sid, options_.format);
}

void Pipeline::start() {
  std::error_code ec;
  fs::create_directories(options_.spool_dir, ec);
  const std::size_t removed = remove_spool_leftovers();
  // A temp file in storage is a write that a crash cut short: its job is still pending.
  const std::size_t storage_removed = storage_.remove_leftovers();
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

void Pipeline::wake() {
  work_cv_.notify_all();
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
  job.kind = cb.track.empty() ? "mix" : "track";
  job.first_seen_ms = job.next_attempt_ms = job.updated_ms = ms;
  auto [row, inserted] = jobs_.insert_or_get(job);
  if (inserted && options_.metrics) options_.metrics->recording_queued();
  if (row.state == db::JobState::kDead && !row.deleted()) {
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
  for (auto& job : jobs_.followups_due(now, limit, kQuickSteps)) {
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
        const auto followup = jobs_.next_followup_ms(kQuickSteps);
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
  // The slow steps (a transcription) are a thread's of their own (recordings::Transcriber).
  unsigned owed = job.followups & kQuickSteps;
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
  // A dead job finished when its max age ran out; a deleted one, when it was deleted.
  const std::int64_t finished_ms = job.deleted() ? job.deleted_ms
                                   : job.state == db::JobState::kStored
                                       ? job.stored_ms
                                       : job.first_seen_ms + max_age_ms;
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

// ---- The copy of one job, step by step -----------------------------------------------------

// One attempt at a job's copy: its spool file, the object it becomes and, for a large recording,
// the upload that runs while the fetch is still going. The spool file goes with the attempt unless
// the row now says it is kept for the next one.
struct Pipeline::Attempt {
  enum class Step { kFetch, kUpload };

  Attempt(db::Job job_, fs::path spool_) : job(std::move(job_)), spool(std::move(spool_)) {}
  ~Attempt() {
    if (!spool_kept) discard_spool();
  }
  void discard_spool() {
    upload.reset();  // stops sending parts and aborts what went up, before the file goes
    std::error_code ec;
    fs::remove(spool, ec);
  }
  Attempt(const Attempt&) = delete;
  Attempt& operator=(const Attempt&) = delete;

  db::Job job;
  fs::path spool;
  bool spool_kept = false;
  Step step = Step::kFetch;
  db::KeptSpool verified;  // the media is all in the spool file: kept if the upload fails
  storage::Object object;
  std::unique_ptr<storage::PartUpload> upload;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point put_started = started;
};

struct Pipeline::Copied {
  std::uint64_t bytes = 0;
  std::string sha256_hex;
  storage::PutOutcome outcome = storage::PutOutcome::kStored;
};

void Pipeline::process(db::Job job) {
  if (expired(job)) return dead_letter(job);
  if (already_stored(job)) return;
  auto spool = spool_path(job.recording_sid);
  Attempt attempt(std::move(job), std::move(spool));
  auto copied = copy_once(attempt);
  if (!copied) return schedule_retry(attempt, copied.error());
  stored(attempt, *copied);
}

bool Pipeline::expired(const db::Job& job) const {
  const auto max_age_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(options_.max_age).count();
  return now_ms() - job.first_seen_ms > max_age_ms;
}

void Pipeline::dead_letter(const db::Job& job) {
  const std::string reason = "not stored within RECORDING_MAX_AGE after " +
                             std::to_string(job.attempts) +
                             " attempts; last error: " + job.last_error;
  jobs_.mark_dead(job.recording_sid, reason, now_ms(), options_.followups_dead);
  std::error_code ec;
  fs::remove(spool_path(job.recording_sid), ec);  // a kept one, if any
  log_.error("recording.dead",
             {{"RecordingSid", job.recording_sid}, {"key", job.key}, {"reason", reason}});
  if (options_.metrics) options_.metrics->recording_dead();
  if (auto row = jobs_.get(job.recording_sid)) run_followups(*row);
}

// A job stored before and queued again (`recordings retry`): if storage still holds the same
// bytes there is nothing to copy, and Twilio may no longer have the media anyway.
bool Pipeline::already_stored(const db::Job& job) {
  if (job.bytes == 0) return false;
  const auto head = storage_.head(job.key);
  if (!head || !head->exists || head->size != job.bytes) return false;
  log_.info("recording.duplicate", {{"RecordingSid", job.recording_sid},
                                    {"key", job.key},
                                    {"reason", "already in storage with the recorded size"}});
  jobs_.mark_stored(job.recording_sid, storage_.location(job.key), job.bytes, job.sha256, now_ms(),
                    options_.followups_stored);
  std::error_code ec;
  fs::remove(spool_path(job.recording_sid), ec);
  if (auto row = jobs_.get(job.recording_sid)) run_followups(*row);
  return true;
}

// The media comes from the spool file an earlier attempt kept, else from the media source; then
// it goes to the store.
util::Result<Pipeline::Copied> Pipeline::copy_once(Attempt& attempt) {
  const auto& job = attempt.job;
  attempt.object.file = attempt.spool;
  attempt.object.content_type = content_type();
  attempt.object.metadata = {{"recording-sid", job.recording_sid},
                             {"duration", job.duration},
                             {"conference-sid", job.conference_sid},
                             {"start-time", job.start_time}};
  auto media = reuse_kept_spool(attempt);
  if (!media) {
    auto fetched = fetch(attempt);
    if (!fetched) return fetched.error();
    media = std::move(*fetched);
  }
  if (media->verified()) {
    attempt.verified = {media->digests.size, media->digests.sha256_hex, media->digests.md5_hex};
  }
  auto outcome = upload(attempt, *media);
  if (!outcome) return outcome.error();
  return Copied{media->digests.size, media->digests.sha256_hex, *outcome};
}

// A kept spool file is checked again before it goes up (read whole: cheap next to a download),
// since it was written without fsync and may have been cut short by a crash of the machine.
std::optional<Media> Pipeline::reuse_kept_spool(Attempt& attempt) {
  const auto& kept = attempt.job.spool;
  if (!kept.kept()) return std::nullopt;
  auto digests = digest_spool(attempt.spool, storage_.digest_plan(kept.bytes));
  const bool same = digests && digests->size == kept.bytes && digests->sha256_hex == kept.sha256 &&
                    (kept.md5.empty() || digests->md5_hex.empty() || digests->md5_hex == kept.md5);
  if (!same) {
    std::error_code ec;
    fs::remove(attempt.spool, ec);
    log_.warn("recording.spool.discarded",
              {{"RecordingSid", attempt.job.recording_sid},
               {"reason", digests ? "its size or SHA-256 changed" : "cannot be read"}});
    return std::nullopt;
  }
  log_.info("recording.fetch.reused",
            {{"RecordingSid", attempt.job.recording_sid}, {"bytes", digests->size}});
  return Media{std::move(*digests), kept.bytes};
}

util::Result<Media> Pipeline::fetch(Attempt& attempt) {
  attempt.step = Attempt::Step::kFetch;
  const auto started = std::chrono::steady_clock::now();
  auto media = media_->fetch({.recording_url = attempt.job.recording_url,
                              .spool = attempt.spool,
                              .digest_plan =
                                  [&](std::optional<std::uint64_t> size) {
                                    begin_streamed_upload(attempt, size);
                                    return storage_.digest_plan(size);
                                  },
                              .on_part =
                                  [&](const util::PartDigest& part) {
                                    if (attempt.upload) attempt.upload->part_ready(part);
                                  }});
  if (!media) {
    attempt.upload.reset();
    return media;
  }
  log_.info("recording.fetch.ok", {{"RecordingSid", attempt.job.recording_sid},
                                   {"bytes", media->digests.size},
                                   {"ms", elapsed_ms(started)}});
  return media;
}

// A large recording goes up in parts while it is still being fetched (the store decides from the
// Content-Length whether it uploads in parts).
void Pipeline::begin_streamed_upload(Attempt& attempt, std::optional<std::uint64_t> size) {
  if (!size) return;
  const auto& job = attempt.job;
  storage::Object expected = attempt.object;
  expected.size = *size;
  try {
    attempt.upload = storage_.begin_upload(job.key, expected);
  } catch (const std::exception& e) {
    // No thread to be had, say: the whole file goes up once it is here, as for small ones.
    log_.warn(put_event("stream_unavailable"),
              {{"RecordingSid", job.recording_sid}, {"key", job.key}, {"reason", e.what()}});
  }
  if (!attempt.upload) return;
  attempt.put_started = std::chrono::steady_clock::now();
  log_.info(put_event("begin"), {{"RecordingSid", job.recording_sid},
                                 {"key", job.key},
                                 {"bytes", *size},
                                 {"while_fetching", true}});
}

util::Result<storage::PutOutcome> Pipeline::upload(Attempt& attempt, const Media& media) {
  attempt.step = Attempt::Step::kUpload;
  const auto& job = attempt.job;
  auto& object = attempt.object;
  object.size = media.digests.size;
  object.md5_hex = media.digests.md5_hex;
  object.sha256_hex = media.digests.sha256_hex;
  object.part_size = media.digests.part_size;
  object.parts = media.digests.parts;
  if (attempt.upload) return attempt.upload->finish(object);
  attempt.put_started = std::chrono::steady_clock::now();
  log_.info(put_event("begin"),
            {{"RecordingSid", job.recording_sid}, {"key", job.key}, {"bytes", object.size}});
  return storage_.put_if_absent(job.key, object);
}

// The job stays pending and is due again after the backoff. A verified spool file whose upload
// failed stays too, noted in the row, so the next attempt does not fetch it again.
void Pipeline::schedule_retry(Attempt& attempt, const util::Failure& failure) {
  const auto& job = attempt.job;
  const bool keep = attempt.step == Attempt::Step::kUpload && attempt.verified.kept();
  const auto delay = backoff_delay(static_cast<unsigned>(job.attempts), options_.retry_min,
                                   options_.retry_max, jitter01());
  // What is not kept goes first: whoever sees the retry in the row finds no spool file.
  if (!keep) attempt.discard_spool();
  const std::int64_t now = now_ms();
  jobs_.mark_retry(job.recording_sid, job.attempts + 1, now + delay.count(), failure.reason, now,
                   keep ? attempt.verified : db::KeptSpool{});
  attempt.spool_kept = keep;
  if (options_.metrics) options_.metrics->recording_attempt_failed();
  boost::json::object fields{{"RecordingSid", job.recording_sid}};
  if (attempt.step == Attempt::Step::kUpload) fields["key"] = job.key;
  fields["status"] = failure.http_status;
  fields["reason"] = failure.reason;
  fields["attempt"] = job.attempts + 1;
  fields["retry_in_ms"] = delay.count();
  if (attempt.step == Attempt::Step::kFetch) {
    log_.warn("recording.fetch.error", std::move(fields));
  } else {
    log_.warn(put_event("error"), std::move(fields));
  }
}

// The lines and the counters come before the row: whoever sees the job stored (a waiter, a
// redelivered callback answered 200) finds them too.
void Pipeline::stored(Attempt& attempt, const Copied& copied) {
  const auto& job = attempt.job;
  const std::string location = storage_.location(job.key);
  if (copied.outcome == storage::PutOutcome::kAlreadyExists) {
    log_.info("recording.duplicate", {{"RecordingSid", job.recording_sid},
                                      {"key", job.key},
                                      {"reason", "already in storage; not written again"}});
  } else {
    log_.info(put_event("ok"), {{"RecordingSid", job.recording_sid},
                                {"key", job.key},
                                {"bytes", copied.bytes},
                                {"ms", elapsed_ms(attempt.put_started)},
                                {"location", location}});
  }
  const std::int64_t now = now_ms();
  log_.info("recording.stored", {{"RecordingSid", job.recording_sid},
                                 {"key", job.key},
                                 {"location", location},
                                 {"latency_ms", now - job.first_seen_ms}});
  if (options_.metrics) {
    options_.metrics->recording_stored(copied.bytes,
                                       std::chrono::milliseconds(elapsed_ms(attempt.started)));
  }
  jobs_.mark_stored(job.recording_sid, location, copied.bytes, copied.sha256_hex, now,
                    options_.followups_stored);
  attempt.discard_spool();
  if (auto row = jobs_.get(job.recording_sid)) run_followups(*row);
}

}  // namespace partyline::recordings
