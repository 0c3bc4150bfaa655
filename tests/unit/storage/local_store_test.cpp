#include "storage/local_store.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace partyline::storage {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "local-store-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

Object spool(const fs::path& dir, const std::string& name, const std::string& content) {
  Object object;
  object.file = dir / name;
  std::ofstream(object.file, std::ios::binary) << content;
  object.size = content.size();
  object.content_type = "audio/mpeg";
  return object;
}

std::string read_all(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(LocalStore, StoresUnderRootCreatingParentDirectories) {
  TempDir tmp;
  LocalStore store(tmp.path() / "root");
  const Object object = spool(tmp.path(), "a.spool", "recording bytes");
  const auto result = store.put_if_absent("partyline/2025/RE1.mp3", object);
  ASSERT_TRUE(result.has_value()) << result.error().reason;
  EXPECT_EQ(result.value(), PutOutcome::kStored);
  const fs::path stored = tmp.path() / "root/partyline/2025/RE1.mp3";
  EXPECT_EQ(read_all(stored), "recording bytes");
  EXPECT_EQ(store.location("partyline/2025/RE1.mp3"), stored.string());
  EXPECT_TRUE(fs::path(store.location("k")).is_absolute());
  // No temp file is left next to the object.
  EXPECT_EQ(std::distance(fs::directory_iterator(stored.parent_path()), fs::directory_iterator()),
            1);
}

TEST(LocalStore, HeadReportsExistenceAndSize) {
  TempDir tmp;
  LocalStore store(tmp.path());
  auto head = store.head("x/missing.mp3");
  ASSERT_TRUE(head.has_value()) << head.error().reason;
  EXPECT_FALSE(head->exists);
  ASSERT_TRUE(store.put_if_absent("x/y.mp3", spool(tmp.path(), "s", "12345")).has_value());
  head = store.head("x/y.mp3");
  ASSERT_TRUE(head.has_value());
  EXPECT_TRUE(head->exists);
  EXPECT_EQ(head->size, 5u);
}

TEST(LocalStore, SameSizeAgainIsAlreadyExistsAndKeepsTheFirstCopy) {
  TempDir tmp;
  LocalStore store(tmp.path() / "root");
  ASSERT_TRUE(store.put_if_absent("k.mp3", spool(tmp.path(), "a", "first")).has_value());
  const auto again = store.put_if_absent("k.mp3", spool(tmp.path(), "b", "other"));
  ASSERT_TRUE(again.has_value()) << again.error().reason;
  EXPECT_EQ(again.value(), PutOutcome::kAlreadyExists);
  EXPECT_EQ(read_all(tmp.path() / "root/k.mp3"), "first");
}

TEST(LocalStore, DifferentSizeIsAnErrorAndNeverOverwrites) {
  TempDir tmp;
  LocalStore store(tmp.path() / "root");
  ASSERT_TRUE(store.put_if_absent("k.mp3", spool(tmp.path(), "a", "first")).has_value());
  const auto again = store.put_if_absent("k.mp3", spool(tmp.path(), "b", "longer content"));
  EXPECT_FALSE(again.has_value());
  EXPECT_NE(again.error().reason.find("size"), std::string::npos) << again.error().reason;
  EXPECT_EQ(read_all(tmp.path() / "root/k.mp3"), "first");
}

TEST(LocalStore, RejectsKeysThatCouldEscapeTheRoot) {
  TempDir tmp;
  LocalStore store(tmp.path() / "root");
  const Object object = spool(tmp.path(), "a", "data");
  for (const std::string& key :
       std::vector<std::string>{"", "/etc/passwd", "../x", "a/../../x", "a//b", "a/", "./a", "a/.",
                                std::string("a\0b", 3)}) {
    SCOPED_TRACE(key);
    const auto result = store.put_if_absent(key, object);
    EXPECT_FALSE(result.has_value());
    EXPECT_FALSE(result.error().reason.empty());
    EXPECT_FALSE(store.head(key).has_value());
  }
  EXPECT_FALSE(fs::exists(tmp.path() / "x"));
  EXPECT_TRUE(is_safe_key("partyline/2025-10-25T19-54-05Z-RE0123.mp3"));
  EXPECT_TRUE(is_safe_key("a..b/c"));
}

TEST(LocalStore, SpoolFileOfTheWrongSizeIsAnError) {
  TempDir tmp;
  LocalStore store(tmp.path() / "root");
  Object object = spool(tmp.path(), "a", "data");
  object.size = 10;
  EXPECT_FALSE(store.put_if_absent("k", object).has_value());
  EXPECT_FALSE(fs::exists(tmp.path() / "root/k"));
  EXPECT_TRUE(fs::is_empty(tmp.path() / "root"));
  object.file = tmp.path() / "missing";
  EXPECT_FALSE(store.put_if_absent("k", object).has_value());
}

}  // namespace
}  // namespace partyline::storage
