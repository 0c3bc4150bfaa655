#pragma once
// Console sign-in sessions, kept in the console's database file beside the users (so they survive
// a restart). The browser holds a random token; the table holds only its SHA-256, so a copy of the
// file gives no one a live session. A session ends after `idle` without a request; its last-seen
// time is written at most once per `touch_every`, not at every request. Each user has at most
// `per_user` sessions: a new one ends the least recently seen beyond that.
// Every method is safe to call from several threads at once (one connection behind a mutex; a
// lookup is one indexed read, plus a write once a minute per session).
#include <sqlite3.h>

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>

#include "db/users.hpp"
#include "util/clock.hpp"

namespace partyline::db {

struct SessionLimits {
  std::chrono::milliseconds idle = std::chrono::hours(12);
  std::chrono::milliseconds touch_every = std::chrono::minutes(1);
  std::size_t per_user = 20;
};

struct SessionUser {
  std::string user;
  Role role = Role::kProducer;
};

class SessionStore {
 public:
  // Throws std::runtime_error when the file cannot be opened.
  explicit SessionStore(const std::filesystem::path& file, util::Clock clock = util::system_clock(),
                        SessionLimits limits = {});
  ~SessionStore();
  SessionStore(const SessionStore&) = delete;
  SessionStore& operator=(const SessionStore&) = delete;

  // A new session for `user`: its token, 32 random bytes in base64url without padding (43
  // characters). Sessions idle for too long (anyone's) are deleted on the way.
  std::string create(const std::string& user);
  // The session's user and current role; nullopt for an unknown or expired token (an expired one
  // is deleted) and for a user who no longer exists.
  std::optional<SessionUser> find(const std::string& token);
  bool remove(const std::string& token);
  // Ends every session of `user` (removed, or a new password); returns how many.
  std::size_t remove_user(const std::string& user);

 private:
  std::mutex mutex_;
  sqlite3* db_ = nullptr;
  util::Clock clock_;
  SessionLimits limits_;
};

}  // namespace partyline::db
