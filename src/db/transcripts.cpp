#include "db/transcripts.hpp"

#include <cctype>

#include "db/sqlite.hpp"

namespace partyline::db {
namespace {

using Stmt = sqlite::Statement;

constexpr const char* kSchema = R"sql(
BEGIN;
CREATE TABLE IF NOT EXISTS transcripts (
  recording_sid TEXT PRIMARY KEY,
  language      TEXT NOT NULL,
  duration      REAL NOT NULL
) WITHOUT ROWID;
CREATE VIRTUAL TABLE IF NOT EXISTS transcript_lines USING fts5 (
  text, speaker UNINDEXED, recording_sid UNINDEXED, start UNINDEXED, end UNINDEXED,
  tokenize = 'unicode61'
);
CREATE TABLE IF NOT EXISTS summaries (
  recording_sid TEXT PRIMARY KEY,
  text          TEXT NOT NULL
) WITHOUT ROWID;
COMMIT;
)sql";

double real(const Stmt& s, int i) {
  return sqlite3_column_double(s.handle(), i);
}

}  // namespace

std::string fts_query(const std::string& words) {
  std::string out, word;
  const auto flush = [&] {
    if (word.empty()) return;
    if (!out.empty()) out += ' ';
    out += '"' + word + "\"*";
    word.clear();
  };
  for (const unsigned char c : words) {
    // ASCII letters and digits, and every byte of a multi-byte UTF-8 character, make words.
    if (std::isalnum(c) || c >= 0x80) {
      word.push_back(static_cast<char>(std::tolower(c)));
    } else {
      flush();
    }
  }
  flush();
  return out;
}

TranscriptStore::TranscriptStore(const std::filesystem::path& file)
    : db_(sqlite::open(file, "FULL")) {
  try {
    sqlite::exec(db_, kSchema);
  } catch (...) {
    sqlite3_close(db_);
    throw;
  }
}

TranscriptStore::~TranscriptStore() {
  sqlite3_close(db_);
}

void TranscriptStore::save(const std::string& sid, const StoredTranscript& t) {
  std::lock_guard lock(mutex_);
  sqlite::exec(db_, "BEGIN IMMEDIATE");
  try {
    Stmt del(db_, "DELETE FROM transcript_lines WHERE recording_sid = ?");
    del.bind(1, sid);
    del.step();
    Stmt head(db_,
              "INSERT OR REPLACE INTO transcripts (recording_sid, language, duration) VALUES "
              "(?, ?, ?)");
    head.bind(1, sid).bind(2, t.language);
    sqlite3_bind_double(head.handle(), 3, t.duration);
    head.step();
    Stmt ins(db_,
             "INSERT INTO transcript_lines (text, speaker, recording_sid, start, end) VALUES "
             "(?, ?, ?, ?, ?)");
    for (const auto& line : t.lines) {
      ins.reset();
      ins.bind(1, line.text).bind(2, line.speaker).bind(3, sid);
      sqlite3_bind_double(ins.handle(), 4, line.start);
      sqlite3_bind_double(ins.handle(), 5, line.end);
      ins.step();
    }
    sqlite::exec(db_, "COMMIT");
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

std::optional<StoredTranscript> TranscriptStore::get(const std::string& sid) {
  std::lock_guard lock(mutex_);
  Stmt head(db_, "SELECT language, duration FROM transcripts WHERE recording_sid = ?");
  head.bind(1, sid);
  if (!head.step()) return std::nullopt;
  StoredTranscript t;
  t.language = head.text(0);
  t.duration = real(head, 1);
  Stmt lines(db_,
             "SELECT start, end, speaker, text FROM transcript_lines WHERE recording_sid = ? "
             "ORDER BY start, rowid");
  lines.bind(1, sid);
  while (lines.step())
    t.lines.push_back({real(lines, 0), real(lines, 1), lines.text(2), lines.text(3)});
  return t;
}

void TranscriptStore::save_summary(const std::string& sid, const std::string& text) {
  std::lock_guard lock(mutex_);
  Stmt up(db_, "INSERT OR REPLACE INTO summaries (recording_sid, text) VALUES (?, ?)");
  up.bind(1, sid).bind(2, text);
  up.step();
}

std::optional<std::string> TranscriptStore::summary(const std::string& sid) {
  std::lock_guard lock(mutex_);
  Stmt s(db_, "SELECT text FROM summaries WHERE recording_sid = ?");
  s.bind(1, sid);
  if (!s.step()) return std::nullopt;
  return s.text(0);
}

void TranscriptStore::remove(const std::string& sid) {
  std::lock_guard lock(mutex_);
  sqlite::exec(db_, "BEGIN IMMEDIATE");
  try {
    for (const char* sql : {"DELETE FROM transcript_lines WHERE recording_sid = ?",
                            "DELETE FROM transcripts WHERE recording_sid = ?",
                            "DELETE FROM summaries WHERE recording_sid = ?"}) {
      Stmt s(db_, sql);
      s.bind(1, sid);
      s.step();
    }
    sqlite::exec(db_, "COMMIT");
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

std::vector<SearchHit> TranscriptStore::search(const std::string& words, std::size_t limit) {
  const std::string query = fts_query(words);
  if (query.empty()) return {};
  std::lock_guard lock(mutex_);
  Stmt s(db_,
         "SELECT recording_sid, start, speaker, text FROM transcript_lines WHERE "
         "transcript_lines MATCH ? ORDER BY rank LIMIT ?");
  s.bind(1, query).bind(2, static_cast<std::int64_t>(limit));
  std::vector<SearchHit> out;
  while (s.step())
    out.push_back({s.text(0), real(s, 1), s.text(2), s.text(3)});
  return out;
}

}  // namespace partyline::db
