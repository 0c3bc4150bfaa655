#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "../db/test_dir.hpp"
#include "storage/local_store.hpp"

namespace partyline::storage {
namespace {

namespace fs = std::filesystem;

TEST(LocalStoreLeftovers, TempFileNames) {
  const std::pair<const char*, bool> cases[] = {
      {".x.mp3.tmp-0123456789abcdef", true},
      {".2025-10-25T19-17-43Z-RE1.json.tmp-fedcba9876543210", true},
      {"x.mp3.tmp-0123456789abcdef", false},   // not hidden: not ours
      {".x.mp3.tmp-0123456789ABCDEF", false},  // we write lower case
      {".x.mp3.tmp-0123456789abcde", false},   // 15 digits
      {".x.mp3.tmp-0123456789abcdefa", false},
      {".x.mp3", false},
      {".tmp-0123456789abcdef", false},  // no name before
      {"", false},
  };
  for (const auto& [name, temp] : cases) {
    SCOPED_TRACE(name);
    EXPECT_EQ(is_temp_file_name(name), temp);
  }
}

TEST(LocalStoreLeftovers, StartUpRemovesOnlyTheTempFilesOfCutShortWrites) {
  db::testing::TestDir dir;
  const fs::path root = dir.path() / "recordings";
  fs::create_directories(root / "partyline");
  const auto touch = [](const fs::path& p) { std::ofstream(p) << "x"; };
  const fs::path keep[] = {root / "partyline" / "a.mp3", root / "partyline" / "a.json",
                           root / "partyline" / ".notes", root / "b.tmp-0123456789abcdef"};
  const fs::path gone[] = {root / "partyline" / ".a.mp3.tmp-0123456789abcdef",
                           root / ".c.json.tmp-00000000000000ff"};
  for (const auto& p : keep)
    touch(p);
  for (const auto& p : gone)
    touch(p);
  LocalStore store(root);
  EXPECT_EQ(store.remove_temp_files(), 2u);
  for (const auto& p : keep)
    EXPECT_TRUE(fs::exists(p)) << p;
  for (const auto& p : gone)
    EXPECT_FALSE(fs::exists(p)) << p;
  EXPECT_EQ(store.remove_temp_files(), 0u);
  EXPECT_EQ(LocalStore(dir.path() / "absent").remove_temp_files(), 0u);
}

}  // namespace
}  // namespace partyline::storage
