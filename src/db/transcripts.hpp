#pragma once
// Transcripts and summaries, in SQLite (the jobs' file, a connection of its own): each
// recording's timed lines, searchable with FTS5, and the session's summary. What is stored beside
// the audio (`.transcript.json`, `.vtt`, `.summary.md`) is written from here; the library reads
// and searches here without fetching anything.
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

struct sqlite3;

namespace partyline::db {

struct TranscriptLine {
  double start = 0, end = 0;  // seconds from the start of the recording
  std::string speaker;        // "" when unknown
  std::string text;
};

struct StoredTranscript {
  std::string language;
  double duration = 0;
  std::vector<TranscriptLine> lines;  // in order of start
};

struct SearchHit {
  std::string recording_sid;
  double start = 0;
  std::string speaker, text;
};

class TranscriptStore {
 public:
  explicit TranscriptStore(const std::filesystem::path& file);
  ~TranscriptStore();
  TranscriptStore(const TranscriptStore&) = delete;
  TranscriptStore& operator=(const TranscriptStore&) = delete;

  // Replaces the recording's transcript (one transaction, its search entries with it).
  void save(const std::string& recording_sid, const StoredTranscript& transcript);
  std::optional<StoredTranscript> get(const std::string& recording_sid);
  void save_summary(const std::string& recording_sid, const std::string& text);
  std::optional<std::string> summary(const std::string& recording_sid);
  // The transcript, its search entries and the summary go (a deleted recording).
  void remove(const std::string& recording_sid);
  // Lines holding every word of `words` (each a prefix of a word of the line, any case), best
  // first; at most `limit`. Words are letters and digits: anything else separates them, so no
  // text is ever read as FTS5 syntax.
  std::vector<SearchHit> search(const std::string& words, std::size_t limit);

 private:
  sqlite3* db_ = nullptr;
  std::mutex mutex_;
};

// "the Quick, brown" -> "\"the\"* \"quick\"* \"brown\"*"; "" when no word is left.
std::string fts_query(const std::string& words);

}  // namespace partyline::db
