#include "db/sqlite.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

namespace partyline::db::sqlite {
namespace {

namespace fs = std::filesystem;

// sqlite::open() turns off SQLite's page-cache preallocation: by default every connection takes 20
// pages (about 87 KiB) at its first transaction, which open() runs (PRAGMA journal_mode=WAL).
// What this test measures: well under 48 KiB with the setting, 106 KiB without (checked).
TEST(SqliteTest, AConnectionDoesNotPreallocateItsPageCache) {
  const fs::path dir =
      fs::temp_directory_path() / ("partyline-sqlite-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const sqlite3_int64 before = sqlite3_memory_used();
  sqlite3* db = open(dir / "a.db", "NORMAL");
  exec(db, "CREATE TABLE t (k INTEGER PRIMARY KEY); INSERT INTO t VALUES (1)");
  const sqlite3_int64 grown = sqlite3_memory_used() - before;
  {
    Statement count(db, "SELECT count(*) FROM t");
    ASSERT_TRUE(count.step());
    EXPECT_EQ(count.integer(0), 1);
  }
  EXPECT_GT(grown, 0);
  EXPECT_LT(grown, 48 * 1024) << "bytes SQLite holds for one fresh connection";
  EXPECT_EQ(sqlite3_close(db), SQLITE_OK);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace partyline::db::sqlite
