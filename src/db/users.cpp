#include "db/users.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>

#include "db/sqlite.hpp"

namespace partyline::db {
namespace {
using Stmt = sqlite::Statement;

std::int64_t millis(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

Role role_from_column(const std::string& text) {
  // The CHECK constraint admits nothing else.
  return text == "admin" ? Role::kAdmin : Role::kProducer;
}

}  // namespace

std::string_view role_name(Role role) {
  return role == Role::kAdmin ? "admin" : "producer";
}

std::optional<Role> parse_role(std::string_view name) {
  if (name == "admin") return Role::kAdmin;
  if (name == "producer") return Role::kProducer;
  return std::nullopt;
}

bool valid_user_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (const char c : name) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

void create_users_table(sqlite3* db) {
  sqlite::exec(db,
               "CREATE TABLE IF NOT EXISTS users (name TEXT PRIMARY KEY, hash TEXT NOT NULL, "
               "role TEXT NOT NULL CHECK (role IN ('admin', 'producer')), "
               "created_ms INTEGER NOT NULL) WITHOUT ROWID");
}

sqlite3* open_console_database(const std::filesystem::path& file, const char* synchronous) {
  // Created here first: SQLite would make it (and its -wal and -shm, which copy its mode)
  // readable by everyone under the usual umask. Only when it is not there yet: closing a
  // descriptor of a file drops every POSIX lock this process holds on it, SQLite's included, and
  // another process would then take itself for the last user of the WAL and delete it.
  const int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0) {
    ::close(fd);
  } else if (errno != EEXIST) {
    throw std::runtime_error("cannot open " + file.string() + ": " + std::strerror(errno));
  }
  return sqlite::open(file, synchronous);
}

// Users change by hand and rarely: every write is synced (FULL).
UserStore::UserStore(const std::filesystem::path& file, util::Clock clock)
    : db_(open_console_database(file, "FULL")), clock_(std::move(clock)) {
  try {
    create_users_table(db_);
  } catch (...) {
    sqlite3_close(db_);
    throw;
  }
}

UserStore::~UserStore() {
  sqlite3_close(db_);
}

bool UserStore::add(const std::string& name, const std::string& hash, Role role) {
  if (!valid_user_name(name)) {
    throw std::invalid_argument("a user name is " + std::string(kUserNameRule));
  }
  std::lock_guard lock(mutex_);
  Stmt s(db_,
         "INSERT INTO users (name, hash, role, created_ms) VALUES (?, ?, ?, ?) "
         "ON CONFLICT(name) DO NOTHING");
  s.bind(1, name).bind(2, hash).bind(3, std::string(role_name(role))).bind(4, millis(clock_()));
  s.step();
  return sqlite3_changes(db_) > 0;
}

bool UserStore::set_hash(const std::string& name, const std::string& hash) {
  std::lock_guard lock(mutex_);
  Stmt s(db_, "UPDATE users SET hash = ? WHERE name = ?");
  s.bind(1, hash).bind(2, name);
  s.step();
  return sqlite3_changes(db_) > 0;
}

bool UserStore::remove(const std::string& name) {
  std::lock_guard lock(mutex_);
  Stmt s(db_, "DELETE FROM users WHERE name = ?");
  s.bind(1, name);
  s.step();
  return sqlite3_changes(db_) > 0;
}

std::optional<UserCredentials> UserStore::find(const std::string& name) {
  std::lock_guard lock(mutex_);
  Stmt s(db_, "SELECT name, hash, role FROM users WHERE name = ?");
  s.bind(1, name);
  if (!s.step()) return std::nullopt;
  return UserCredentials{s.text(0), s.text(1), role_from_column(s.text(2))};
}

std::vector<User> UserStore::list() {
  std::lock_guard lock(mutex_);
  std::vector<User> out;
  Stmt s(db_, "SELECT name, role, created_ms FROM users ORDER BY name");
  while (s.step())
    out.push_back(User{s.text(0), role_from_column(s.text(1)), s.integer(2)});
  return out;
}

std::size_t UserStore::count() {
  std::lock_guard lock(mutex_);
  Stmt s(db_, "SELECT count(*) FROM users");
  return s.step() ? static_cast<std::size_t>(s.integer(0)) : 0;
}

}  // namespace partyline::db
