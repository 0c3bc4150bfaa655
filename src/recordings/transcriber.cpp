#include "recordings/transcriber.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "net/http_client.hpp"
#include "recordings/naming.hpp"
#include "util/crypto.hpp"

namespace partyline::recordings {
namespace fs = std::filesystem;

const char* const kSummaryPrompt =
    "You summarise a recorded call-in show or meeting for the people who ran it. From the "
    "transcript (one line per utterance: [time] speaker: text), write in Markdown: a one-line "
    "title, a short paragraph on what it was about, the main points as a bullet list with the "
    "time each was made, and any decisions or follow-ups. Use only what the transcript says.";

namespace {

db::StoredTranscript to_stored(const transcribe::Transcript& t) {
  db::StoredTranscript out;
  out.language = t.language;
  out.duration = t.duration;
  for (const auto& s : t.segments)
    out.lines.push_back({s.start, s.end, s.speaker, s.text});
  return out;
}

transcribe::Transcript from_stored(const db::StoredTranscript& t) {
  transcribe::Transcript out;
  out.language = t.language;
  out.duration = t.duration;
  for (const auto& l : t.lines)
    out.segments.push_back({l.start, l.end, l.text, l.speaker});
  return out;
}

double seconds_between(const std::string& from_iso, const std::string& to_iso) {
  const auto a = parse_twilio_time(from_iso), b = parse_twilio_time(to_iso);
  if (!a || !b) return 0;
  return std::chrono::duration<double>(*b - *a).count();
}

}  // namespace

Transcriber::Transcriber(TranscriberOptions options, db::JobStore& jobs, db::CallStore& calls,
                         db::TranscriptStore& transcripts, storage::ObjectStore& storage,
                         log::Logger& log, util::Clock clock)
    : options_(std::move(options)),
      jobs_(jobs),
      calls_(calls),
      transcripts_(transcripts),
      storage_(storage),
      log_(log),
      clock_(std::move(clock)),
      client_(options_.transcription) {
  if (options_.summary) summarizer_.emplace(*options_.summary);
}

Transcriber::~Transcriber() {
  stop();
}

void Transcriber::start() {
  if (thread_.joinable()) return;
  std::error_code ec;
  fs::create_directories(options_.spool_dir, ec);
  thread_ = std::thread([this] { loop(); });
}

void Transcriber::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Transcriber::wake() {
  {
    std::lock_guard lock(mutex_);
    woken_ = true;
  }
  cv_.notify_all();
}

std::int64_t Transcriber::now_ms() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock_().time_since_epoch()).count();
}

void Transcriber::loop() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    lock.unlock();
    std::optional<std::int64_t> next;
    try {
      for (const auto& job : jobs_.transcriptions_due(now_ms(), 4)) {
        handle(job);
        std::lock_guard stop(mutex_);
        if (stopping_) break;
      }
      next = jobs_.next_transcription_ms();
    } catch (const std::exception& e) {
      log_.error("transcript.worker_error", {{"reason", e.what()}});
    }
    lock.lock();
    // Until the next one is due, or a poll: `partyline transcribe` writes from another process.
    auto wait = options_.poll;
    if (next)
      wait = std::clamp(std::chrono::milliseconds(*next - now_ms()), std::chrono::milliseconds(0),
                        options_.poll);
    cv_.wait_for(lock, wait, [this] { return stopping_ || woken_; });
    woken_ = false;
  }
}

void Transcriber::handle(const db::Job& job) {
  TranscribeOutcome outcome;
  try {
    outcome = run(job);
  } catch (const std::exception& e) {
    outcome = {TranscribeOutcome::Kind::kFailed, e.what(), std::nullopt};
  }
  const std::int64_t now = now_ms();
  switch (outcome.kind) {
    case TranscribeOutcome::Kind::kDone:
      jobs_.followups_done(job.recording_sid, db::followup::kTranscribe, now);
      return;
    case TranscribeOutcome::Kind::kWaiting:
      jobs_.transcribe_retry(job.recording_sid, job.transcribe_attempts,
                             now + options_.wait_for_tracks.count(), outcome.error);
      return;
    case TranscribeOutcome::Kind::kFailed:
      break;
  }
  if (now - job.stored_ms > options_.max_age.count()) {
    jobs_.followups_done(job.recording_sid, db::followup::kTranscribe, now);
    log_.error("transcript.dead", {{"RecordingSid", job.recording_sid},
                                   {"attempts", job.transcribe_attempts + 1},
                                   {"reason", outcome.error}});
    return;
  }
  std::chrono::milliseconds delay =
      backoff_delay(static_cast<unsigned>(job.transcribe_attempts), options_.retry_min,
                    options_.retry_max, 0.5 + 0.5 * (static_cast<double>(now % 1000) / 1000.0));
  if (outcome.retry_after) delay = std::max<std::chrono::milliseconds>(delay, *outcome.retry_after);
  jobs_.transcribe_retry(job.recording_sid, job.transcribe_attempts + 1, now + delay.count(),
                         outcome.error);
  log_.warn("transcript.retry", {{"RecordingSid", job.recording_sid},
                                 {"attempt", job.transcribe_attempts + 1},
                                 {"retry_in_ms", delay.count()},
                                 {"reason", outcome.error}});
}

util::Result<fs::path> Transcriber::audio_of(const db::Job& job, bool& downloaded) {
  downloaded = false;
  if (auto local = storage_.local_file(job.key))
    return util::Result<fs::path>(boost::system::in_place_value, *local);
  const auto link = storage_.link(job.key, std::chrono::hours(1), media_type(job.key), "");
  if (!link) return util::Failure::later("the store gives no way to read the recording back");
  const fs::path file = options_.spool_dir / (job.recording_sid + ".transcribe" +
                                              fs::path(job.key).extension().string());
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return util::Failure::later(std::string("spool: ") + std::strerror(errno));
  downloaded = true;
  net::HttpRequest request;
  request.url = *link;
  request.allow_http = link->starts_with("http://");
  request.total_timeout = std::chrono::seconds(600);
  request.stall_timeout = std::chrono::seconds(60);
  bool written = true;
  request.on_body = [fd, &written](std::string_view bytes) {
    written = ::write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size());
    return written;
  };
  const auto response = net::perform(request);
  ::close(fd);
  if (!response)
    return util::Failure{"read back: " + response.error().reason, 0, response.error().retry};
  if (!written) return util::Failure::later("spool: cannot write the recording read back");
  if (response->status != 200) {
    return util::Failure::soon("read back: HTTP " + std::to_string(response->status),
                               response->status);
  }
  return util::Result<fs::path>(boost::system::in_place_value, file);
}

util::Result<void> Transcriber::put_beside(const db::Job& job, const std::string& key,
                                           const std::string& text, const std::string& type) {
  const fs::path file = options_.spool_dir / (job.recording_sid + ".beside.part");
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  const bool ok =
      fd >= 0 && ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  if (fd >= 0) ::close(fd);
  std::error_code ec;
  if (!ok) {
    fs::remove(file, ec);
    return util::Failure::later("spool: cannot write " + key);
  }
  // A transcript made again replaces the one before: the store only ever creates.
  if (auto removed = storage_.remove(key); !removed) {
    fs::remove(file, ec);
    return removed.error();
  }
  storage::Object object;
  object.file = file;
  object.size = text.size();
  object.sha256_hex = util::sha256_hex(text);
  object.content_type = type;
  object.metadata = {{"recording-sid", job.recording_sid}};
  const auto put = storage_.put_if_absent(key, object);
  fs::remove(file, ec);
  if (!put) return put.error();
  return {};
}

TranscribeOutcome Transcriber::run(const db::Job& job) {
  using Kind = TranscribeOutcome::Kind;
  const auto failed = [](const util::Failure& f) {
    return TranscribeOutcome{Kind::kFailed, f.reason, std::nullopt};
  };
  std::optional<db::ConferenceSummary> conference;
  if (!job.conference_sid.empty()) conference = calls_.committed_conference(job.conference_sid);
  const auto speaker_of = [&conference](const std::string& call_sid) {
    if (!conference) return std::string();
    for (const auto& p : conference->participants) {
      if (p.call_sid == call_sid)
        return (p.role.empty() ? std::string("speaker") : p.role) + " " + p.caller;
    }
    return std::string();
  };

  transcribe::Transcript transcript;
  std::vector<db::Job> tracks;
  if (job.kind == "mix" && !job.conference_sid.empty()) {
    for (auto& j : jobs_.of_conferences({job.conference_sid})) {
      if (j.kind == "track" && !j.deleted()) tracks.push_back(std::move(j));
    }
  }
  if (!tracks.empty()) {
    // The session with tracks: their transcripts, each at its place in the mix, by time.
    std::vector<std::pair<std::string, transcribe::Transcript>> speakers;
    for (const auto& t : tracks) {
      const bool owed =
          t.state == db::JobState::kPending ||
          (t.state == db::JobState::kStored && (t.followups & db::followup::kTranscribe));
      const auto stored = transcripts_.get(t.recording_sid);
      if (owed || (t.state == db::JobState::kStored && !stored)) {
        return {Kind::kWaiting, "waiting for the transcript of track " + t.recording_sid,
                std::nullopt};
      }
      if (!stored) continue;  // a track that was never copied (dead): the others tell it
      auto shifted =
          transcribe::shift(from_stored(*stored), seconds_between(job.start_time, t.start_time));
      for (auto& s : shifted.segments) {
        s.start = std::max(0.0, s.start);
        s.end = std::max(s.start, s.end);
      }
      speakers.emplace_back(speaker_of(t.call_sid), std::move(shifted));
    }
    transcript = transcribe::merge(std::move(speakers));
  } else {
    bool downloaded = false;
    const auto audio = audio_of(job, downloaded);
    if (!audio) return failed(audio.error());
    struct Cleanup {
      fs::path file;
      bool on;
      ~Cleanup() {
        std::error_code ec;
        if (on) fs::remove(file, ec);
      }
    } cleanup{*audio, downloaded};
    auto chunk_options = options_.chunks;
    chunk_options.work_dir = options_.spool_dir;
    const auto chunks = transcribe::split(*audio, chunk_options);
    if (!chunks) return failed(chunks.error());
    std::vector<transcribe::Transcript> parts;
    for (const auto& c : chunks->list()) {
      const auto part = client_.transcribe(c.file, media_type(job.key));
      if (!part) return {Kind::kFailed, part.error().reason, part.error().retry_after};
      parts.push_back(transcribe::shift(*part, c.offset));
    }
    transcript = transcribe::stitch(std::move(parts));
    if (job.kind == "track") {
      const std::string who = speaker_of(job.call_sid);
      for (auto& s : transcript.segments)
        s.speaker = who;
    }
  }

  transcripts_.save(job.recording_sid, to_stored(transcript));
  if (auto put = put_beside(job, beside(job.key, ".transcript.json"),
                            transcribe::to_json(transcript), "application/json");
      !put) {
    return failed(put.error());
  }
  if (auto put =
          put_beside(job, beside(job.key, ".vtt"), transcribe::to_webvtt(transcript), "text/vtt");
      !put) {
    return failed(put.error());
  }
  log_.info("transcript.stored", {{"RecordingSid", job.recording_sid},
                                  {"key", beside(job.key, ".transcript.json")},
                                  {"segments", transcript.segments.size()},
                                  {"tracks", tracks.size()}});
  if (summarizer_ && job.kind == "mix" && !transcript.segments.empty()) {
    const auto summary = summarizer_->summarize(
        options_.summary_prompt.empty() ? kSummaryPrompt : options_.summary_prompt,
        transcribe::to_text(transcript));
    if (!summary)
      return {Kind::kFailed, "summary: " + summary.error().reason, summary.error().retry_after};
    transcripts_.save_summary(job.recording_sid, *summary);
    if (auto put = put_beside(job, beside(job.key, ".summary.md"), *summary, "text/markdown");
        !put) {
      return failed(put.error());
    }
    log_.info("summary.stored",
              {{"RecordingSid", job.recording_sid}, {"key", beside(job.key, ".summary.md")}});
  }
  // Deleted while it was being transcribed: what was just stored goes too.
  if (const auto now = jobs_.get(job.recording_sid); now && now->deleted()) {
    transcripts_.remove(job.recording_sid);
    for (const char* suffix : {".transcript.json", ".vtt", ".summary.md"})
      (void)storage_.remove(beside(job.key, suffix));
  }
  return {Kind::kDone, {}, std::nullopt};
}

}  // namespace partyline::recordings
