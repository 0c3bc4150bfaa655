#pragma once
// A directory as the object store (local mode and tests): root/<key>, published create-only with
// link(2) so that a second writer of the same key never replaces the first copy.
#include <filesystem>
#include <optional>
#include <string>

#include "storage/object_store.hpp"

namespace partyline::storage {

class LocalStore : public ObjectStore {
 public:
  explicit LocalStore(std::filesystem::path root);

  util::Result<PutOutcome> put_if_absent(const std::string& key, const Object& object) override;
  util::Result<Head> head(const std::string& key) override;
  util::Result<std::string> read_small(const std::string& key) override;
  util::Result<void> remove(const std::string& key) override;
  std::string location(const std::string& key) const override;
  std::string_view name() const override { return "local"; }
  std::optional<std::filesystem::path> local_file(const std::string& key) const override {
    return path_for(key);
  }
  // Deletes the temp files that writes cut short by a crash left under root (".<name>.tmp-<hex>");
  // returns how many. For start-up only: a write in progress would lose its temp file.
  std::size_t remove_temp_files();
  std::size_t remove_leftovers() override { return remove_temp_files(); }
  // Only the SHA-256 that the job records: a local copy has no Content-MD5 to send.
  util::DigestPlan digest_plan(std::optional<std::uint64_t>) const override {
    return {.whole_md5 = false, .part_size = 0};
  }

 private:
  // root/<key>, or nullopt for a key that could escape root ("..", absolute, empty segments).
  std::optional<std::filesystem::path> path_for(const std::string& key) const;

  std::filesystem::path root_;  // absolute
};

// ".<name>.tmp-<16 hex digits>": the name put_if_absent gives a temp file.
bool is_temp_file_name(const std::string& name);

// Keys are relative paths of non-empty segments other than "." and "..", without NUL bytes.
bool is_safe_key(const std::string& key);

}  // namespace partyline::storage
