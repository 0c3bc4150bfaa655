#pragma once
// Which rooms are locked: a table in the service's database, so a lock survives a restart and a
// command (`partyline rooms lock`) sets it for the running service, which reads it for each caller.
#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>

#include "db/sqlite.hpp"

namespace partyline::db {

class RoomLocks {
 public:
  // Throws std::runtime_error when the file cannot be opened.
  explicit RoomLocks(const std::filesystem::path& file);
  ~RoomLocks();
  RoomLocks(const RoomLocks&) = delete;
  RoomLocks& operator=(const RoomLocks&) = delete;

  // Both idempotent; false when nothing changed (already so).
  bool lock(const std::string& room, std::int64_t now_ms);
  bool unlock(const std::string& room);
  bool locked(const std::string& room);
  // Every locked room and when it was locked.
  std::map<std::string, std::int64_t> all();

 private:
  std::mutex mutex_;
  sqlite3* db_ = nullptr;
};

}  // namespace partyline::db
