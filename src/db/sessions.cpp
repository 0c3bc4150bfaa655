#include "db/sessions.hpp"

#include <sodium.h>

#include <cstdint>
#include <stdexcept>

#include "db/sqlite.hpp"
#include "util/crypto.hpp"

namespace partyline::db {
namespace {
using Stmt = sqlite::Statement;

constexpr std::size_t kTokenBytes = 32;
constexpr std::size_t kTokenChars = 43;  // base64url of 32 bytes, no padding

std::int64_t millis(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

// What the table keys a session by: a plain hash suffices, the token being 256 random bits.
std::string digest(const std::string& token) {
  return util::sha256_hex(token);
}

}  // namespace

// Losing the last second of sign-ins to a power cut costs a sign-in, not data: NORMAL (no fsync
// per commit), which keeps the once-a-minute last-seen writes cheap.
SessionStore::SessionStore(const std::filesystem::path& file, util::Clock clock,
                           SessionLimits limits)
    : db_(open_console_database(file, "NORMAL")), clock_(std::move(clock)), limits_(limits) {
  try {
    if (sodium_init() < 0) throw std::runtime_error("libsodium could not start");
    create_users_table(db_);
    sqlite::exec(db_,
                 "CREATE TABLE IF NOT EXISTS sessions (digest TEXT PRIMARY KEY, "
                 "user TEXT NOT NULL, created_ms INTEGER NOT NULL, last_seen_ms INTEGER NOT NULL);"
                 "CREATE INDEX IF NOT EXISTS sessions_by_user ON sessions (user, last_seen_ms)");
  } catch (...) {
    sqlite3_close(db_);
    throw;
  }
}

SessionStore::~SessionStore() {
  sqlite3_close(db_);
}

std::string SessionStore::create(const std::string& user) {
  unsigned char bytes[kTokenBytes];
  randombytes_buf(bytes, sizeof bytes);
  std::string token =
      util::base64url(std::string_view(reinterpret_cast<char*>(bytes), kTokenBytes));
  sodium_memzero(bytes, sizeof bytes);

  std::lock_guard lock(mutex_);
  const std::int64_t now = millis(clock_());
  sqlite::exec(db_, "BEGIN IMMEDIATE");
  try {
    Stmt expired(db_, "DELETE FROM sessions WHERE last_seen_ms <= ?");
    expired.bind(1, now - limits_.idle.count());
    expired.step();
    Stmt insert(
        db_, "INSERT INTO sessions (digest, user, created_ms, last_seen_ms) VALUES (?, ?, ?, ?)");
    insert.bind(1, digest(token)).bind(2, user).bind(3, now).bind(4, now);
    insert.step();
    Stmt beyond(db_,
                "DELETE FROM sessions WHERE rowid IN (SELECT rowid FROM sessions WHERE user = ? "
                "ORDER BY last_seen_ms DESC, rowid DESC LIMIT -1 OFFSET ?)");
    beyond.bind(1, user).bind(2, static_cast<std::int64_t>(limits_.per_user));
    beyond.step();
    sqlite::exec(db_, "COMMIT");
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
  return token;
}

std::optional<SessionUser> SessionStore::find(const std::string& token) {
  if (token.size() != kTokenChars) return std::nullopt;
  const std::string key = digest(token);
  std::lock_guard lock(mutex_);
  const std::int64_t now = millis(clock_());
  Stmt s(db_,
         "SELECT s.user, u.role, s.last_seen_ms FROM sessions s JOIN users u ON u.name = s.user "
         "WHERE s.digest = ?");
  s.bind(1, key);
  if (!s.step()) return std::nullopt;
  SessionUser found{s.text(0), parse_role(s.text(1)).value_or(Role::kProducer)};
  const std::int64_t last_seen = s.integer(2);
  s.reset();
  if (now - last_seen >= limits_.idle.count()) {
    Stmt end(db_, "DELETE FROM sessions WHERE digest = ?");
    end.bind(1, key);
    end.step();
    return std::nullopt;
  }
  if (now - last_seen >= limits_.touch_every.count()) {
    Stmt touch(db_, "UPDATE sessions SET last_seen_ms = ? WHERE digest = ?");
    touch.bind(1, now).bind(2, key);
    touch.step();
  }
  return found;
}

bool SessionStore::remove(const std::string& token) {
  const std::string key = digest(token);
  std::lock_guard lock(mutex_);
  Stmt s(db_, "DELETE FROM sessions WHERE digest = ?");
  s.bind(1, key);
  s.step();
  return sqlite3_changes(db_) > 0;
}

std::size_t SessionStore::remove_user(const std::string& user) {
  std::lock_guard lock(mutex_);
  Stmt s(db_, "DELETE FROM sessions WHERE user = ?");
  s.bind(1, user);
  s.step();
  return static_cast<std::size_t>(sqlite3_changes(db_));
}

}  // namespace partyline::db
