#pragma once
// Console users: name, Argon2id hash (auth/password.hpp), role, when added. A table in the
// console's database file (the service uses DATA_DIR/console.db), written by `partyline users`
// and read at every sign-in. Every method is safe to call from several threads at once.
#include <sqlite3.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/clock.hpp"

namespace partyline::db {

enum class Role { kAdmin, kProducer };
std::string_view role_name(Role role);  // "admin", "producer"
std::optional<Role> parse_role(std::string_view name);

// 1 to 64 of [A-Za-z0-9._-]: safe in a log line, a URL and a terminal as they are.
bool valid_user_name(std::string_view name);
inline constexpr const char* kUserNameRule = "1 to 64 characters among A-Z a-z 0-9 . _ -";

struct User {
  std::string name;
  Role role = Role::kProducer;
  std::int64_t created_ms = 0;
};

struct UserCredentials {
  std::string name;
  std::string hash;
  Role role = Role::kProducer;
};

// Creates the users table when it is absent (the sessions store joins it).
void create_users_table(sqlite3* db);

// Opens `file` for the console's tables, created with mode 0600 when absent (it holds password
// hashes and session digests). Throws std::runtime_error.
sqlite3* open_console_database(const std::filesystem::path& file, const char* synchronous);

class UserStore {
 public:
  // Throws std::runtime_error when the file cannot be opened.
  explicit UserStore(const std::filesystem::path& file, util::Clock clock = util::system_clock());
  ~UserStore();
  UserStore(const UserStore&) = delete;
  UserStore& operator=(const UserStore&) = delete;

  // False when the name is taken. Throws std::invalid_argument for a name valid_user_name refuses.
  bool add(const std::string& name, const std::string& hash, Role role);
  // False when there is no such user.
  bool set_hash(const std::string& name, const std::string& hash);
  bool remove(const std::string& name);
  std::optional<UserCredentials> find(const std::string& name);
  std::vector<User> list();  // by name
  std::size_t count();

 private:
  std::mutex mutex_;
  sqlite3* db_ = nullptr;
  util::Clock clock_;
};

}  // namespace partyline::db
