#pragma once
// Console sign-in: checks a name and password against the users table, throttles guessing, and
// issues and resolves session tokens. The HTTP layer maps the outcome to 204 / 401 / 429 and the
// token to a cookie; nothing here knows about HTTP.
//
// Thread-safety: every method may be called from several threads at once. sign_in verifies an
// Argon2id hash (about 0.1 s of CPU and 64 MiB): run it on a worker thread, never on an I/O thread.
// session and sign_out are quick (one indexed SQLite read; a write at most once a minute per
// session) and may run on an I/O thread.
#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "auth/sign_in_limiter.hpp"
#include "db/sessions.hpp"
#include "db/users.hpp"
#include "util/clock.hpp"

namespace partyline::auth {

// The console's database, in DATA_DIR: users and sessions.
inline constexpr const char* kConsoleDatabaseFile = "console.db";

struct Principal {
  std::string user;
  db::Role role = db::Role::kProducer;
};

struct SignedIn {  // 204 with the token in a cookie
  std::string token;
  Principal principal;
};
struct WrongCredentials {};  // 401: the same for an unknown name and a wrong password
struct Throttled {           // 429 with Retry-After
  std::chrono::seconds retry_after;
};
using SignInResult = std::variant<SignedIn, WrongCredentials, Throttled>;

struct AuthenticatorOptions {
  db::SessionLimits sessions;
  SignInLimits sign_in;
};

class Authenticator {
 public:
  // Opens (creating) the database file. Throws std::runtime_error.
  explicit Authenticator(const std::filesystem::path& database,
                         util::Clock clock = util::system_clock(),
                         AuthenticatorOptions options = {});

  // An unknown name and a wrong password take the same work (one Argon2id verify) and give the
  // same result. A refused attempt (Throttled) verifies nothing. `client_address` is the peer's
  // address as the server sees it.
  SignInResult sign_in(std::string_view username, std::string_view password,
                       std::string_view client_address);
  std::optional<Principal> session(const std::string& token);
  void sign_out(const std::string& token);

  // For the service's start (is there a user yet? local mode's first user).
  db::UserStore& users() { return users_; }

 private:
  db::UserStore users_;
  db::SessionStore sessions_;
  SignInLimiter limiter_;
};

}  // namespace partyline::auth
