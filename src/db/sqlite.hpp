#pragma once
// The little of SQLite's C API the stores use: open a WAL database, run SQL, prepared statements
// that finalize themselves. Errors are std::runtime_error with SQLite's message.
#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <string>

namespace partyline::db::sqlite {

// Opens (creating) the file in WAL mode with a busy timeout; `synchronous` is "FULL" or "NORMAL".
sqlite3* open(const std::filesystem::path& file, const char* synchronous);
void exec(sqlite3* db, const char* sql);

class Statement {
 public:
  Statement(sqlite3* db, const std::string& sql);
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  Statement& bind(int i, const std::string& v);
  Statement& bind(int i, std::int64_t v);
  bool step();  // true: a row is ready; false: done
  // Ready to bind and step again (for statements kept prepared).
  void reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  std::string text(int i) const;
  std::int64_t integer(int i) const { return sqlite3_column_int64(stmt_, i); }
  bool is_null(int i) const { return sqlite3_column_type(stmt_, i) == SQLITE_NULL; }
  // For what the wrapper does not cover (doubles).
  sqlite3_stmt* handle() const { return stmt_; }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
};

}  // namespace partyline::db::sqlite
