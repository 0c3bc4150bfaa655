#pragma once
// Which rooms are locked: a table in a database file of its own (DATA_DIR/rooms.db), so a lock
// survives a restart and a command (`partyline rooms lock`) sets it for the running service.
// Each caller is checked against a copy in memory. A lock set through this object (the service's
// own, as the console will) is in that copy at once; one set by another process is noticed at the
// first caller after `recheck` (SQLite's data_version, which changes only when another connection
// commits to the file): a webhook does not touch the file.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "db/sqlite.hpp"
#include "util/clock.hpp"

namespace partyline::db {

class RoomLocks {
 public:
  static constexpr std::chrono::milliseconds kRecheck{250};
  // Throws std::runtime_error when the file cannot be opened.
  explicit RoomLocks(const std::filesystem::path& file, util::Clock clock = util::system_clock(),
                     std::chrono::milliseconds recheck = kRecheck);
  ~RoomLocks();
  RoomLocks(const RoomLocks&) = delete;
  RoomLocks& operator=(const RoomLocks&) = delete;

  // Both idempotent; false when nothing changed (already so).
  bool lock(const std::string& room, std::int64_t now_ms);
  bool unlock(const std::string& room);
  bool locked(const std::string& room);
  // Every locked room and when it was locked, read from the file.
  std::map<std::string, std::int64_t> all();

 private:
  // Under mutex_: reads the table again when another connection wrote to the file.
  void refresh();
  std::mutex mutex_;
  sqlite3* db_ = nullptr;
  util::Clock clock_;
  std::chrono::milliseconds recheck_;
  std::unique_ptr<sqlite::Statement> version_;
  std::int64_t data_version_ = -1;
  std::chrono::system_clock::time_point checked_at_{};
  std::map<std::string, std::int64_t> locked_;
};

}  // namespace partyline::db
