#include "db/room_locks.hpp"

namespace partyline::db {
namespace {
using Stmt = sqlite::Statement;
constexpr const char* kSchema =
    "CREATE TABLE IF NOT EXISTS room_locks (room TEXT PRIMARY KEY, locked_ms INTEGER NOT NULL) "
    "WITHOUT ROWID";
}  // namespace

// A lock is set by hand and read once per caller: every write is synced (FULL).
RoomLocks::RoomLocks(const std::filesystem::path& file, util::Clock clock,
                     std::chrono::milliseconds recheck)
    : db_(sqlite::open(file, "FULL")), clock_(std::move(clock)), recheck_(recheck) {
  try {
    sqlite::exec(db_, kSchema);
    version_ = std::make_unique<Stmt>(db_, "PRAGMA data_version");
  } catch (...) {
    sqlite3_close(db_);
    throw;
  }
}

RoomLocks::~RoomLocks() {
  version_.reset();
  sqlite3_close(db_);
}

void RoomLocks::refresh() {
  // Kept prepared, and reset at once: a stepped statement would hold a read transaction open.
  const std::int64_t now = version_->step() ? version_->integer(0) : -1;
  version_->reset();
  if (now == data_version_ && now != -1) return;
  std::map<std::string, std::int64_t> locked;
  Stmt s(db_, "SELECT room, locked_ms FROM room_locks");
  while (s.step())
    locked.emplace(s.text(0), s.integer(1));
  locked_ = std::move(locked);
  data_version_ = now;
}

bool RoomLocks::lock(const std::string& room, std::int64_t now_ms) {
  std::lock_guard lock(mutex_);
  data_version_ = -1;  // read the table again at the next look (this connection's writes too)
  Stmt s(db_,
         "INSERT INTO room_locks (room, locked_ms) VALUES (?, ?) ON CONFLICT(room) DO NOTHING");
  s.bind(1, room).bind(2, now_ms);
  s.step();
  return sqlite3_changes(db_) > 0;
}

bool RoomLocks::unlock(const std::string& room) {
  std::lock_guard lock(mutex_);
  data_version_ = -1;
  Stmt s(db_, "DELETE FROM room_locks WHERE room = ?");
  s.bind(1, room);
  s.step();
  return sqlite3_changes(db_) > 0;
}

bool RoomLocks::locked(const std::string& room) {
  std::lock_guard lock(mutex_);
  const auto now = clock_();
  // A clock set back counts as due: the copy is never kept longer than recheck_.
  if (data_version_ == -1 || now >= checked_at_ + recheck_ || now < checked_at_) {
    refresh();
    checked_at_ = now;
  }
  return locked_.count(room) != 0;
}

std::map<std::string, std::int64_t> RoomLocks::all() {
  std::lock_guard lock(mutex_);
  refresh();
  return locked_;
}

}  // namespace partyline::db
