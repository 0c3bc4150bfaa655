#pragma once
// The transcription of stored recordings (TRANSCRIBE_URL), a durable follow-up of its own
// (db::followup::kTranscribe, written with the stored state): a thread of its own runs it, so a
// transcription that takes minutes never holds up a copy. Each recording's audio is read back
// from the store (the local file, or a presigned GET), cut with ffmpeg when over the endpoint's
// limit, transcribed piece by piece and stitched; a caller's track is labelled with its speaker;
// the mix of a session with tracks waits for its tracks and is their merge, in time order. The
// transcript goes to SQLite (searchable) and beside the audio as `<stem>.transcript.json` and
// `<stem>.vtt`; with SUMMARY_URL the mix's summary as `<stem>.summary.md`. Failures retry with
// backoff (at least what a 429's Retry-After asks) until RECORDING_MAX_AGE, then
// `transcript.dead`; nothing here touches the stored audio.
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "db/calls.hpp"
#include "db/jobs.hpp"
#include "db/transcripts.hpp"
#include "log/logger.hpp"
#include "storage/object_store.hpp"
#include "transcribe/chunks.hpp"
#include "transcribe/client.hpp"
#include "util/clock.hpp"

namespace partyline::recordings {

struct TranscriberOptions {
  transcribe::ClientOptions transcription;
  std::optional<transcribe::ClientOptions> summary;  // SUMMARY_URL
  std::string summary_prompt;
  transcribe::ChunkOptions chunks;
  std::filesystem::path spool_dir;
  std::chrono::milliseconds retry_min{1'000}, retry_max{600'000};
  std::chrono::milliseconds max_age{7ll * 24 * 3600 * 1000};
  std::chrono::milliseconds wait_for_tracks{10'000};  // a mix asks again this often
  std::chrono::milliseconds poll{1'000};              // `partyline transcribe` from another process
};

// What one attempt came to.
struct TranscribeOutcome {
  enum class Kind { kDone, kWaiting, kFailed } kind = Kind::kDone;
  std::string error;
  std::optional<std::chrono::seconds> retry_after;
};

// The default prompt of a session's summary (SUMMARY_PROMPT_FILE replaces it).
extern const char* const kSummaryPrompt;

class Transcriber {
 public:
  Transcriber(TranscriberOptions options, db::JobStore& jobs, db::CallStore& calls,
              db::TranscriptStore& transcripts, storage::ObjectStore& storage, log::Logger& log,
              util::Clock clock);
  ~Transcriber();
  Transcriber(const Transcriber&) = delete;
  Transcriber& operator=(const Transcriber&) = delete;

  void start();
  void stop();
  void wake();
  // One attempt for one stored recording (the thread's step; tests call it directly).
  TranscribeOutcome run(const db::Job& job);

 private:
  void loop();
  void handle(const db::Job& job);
  // The recording's audio as a local file: the store's own, or a download into the spool.
  util::Result<std::filesystem::path> audio_of(const db::Job& job, bool& downloaded);
  util::Result<void> put_beside(const db::Job& job, const std::string& key, const std::string& text,
                                const std::string& type);
  std::int64_t now_ms() const;

  TranscriberOptions options_;
  db::JobStore& jobs_;
  db::CallStore& calls_;
  db::TranscriptStore& transcripts_;
  storage::ObjectStore& storage_;
  log::Logger& log_;
  util::Clock clock_;
  transcribe::Client client_;
  std::optional<transcribe::Client> summarizer_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool woken_ = false;
  std::thread thread_;
};

}  // namespace partyline::recordings
