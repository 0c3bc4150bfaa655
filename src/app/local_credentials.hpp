#pragma once
// Local mode's Twilio stand-in: a random account SID and auth token kept in
// DATA_DIR/local-credentials.json (mode 0600). Webhooks are checked against them, so only
// someone who can read that file (e.g. `partyline simulate`) can drive a local service.
#include <filesystem>
#include <string>

namespace partyline::app {

struct LocalCredentials {
  std::string account_sid;
  std::string auth_token;
  std::string public_base_url;
  // The first console user's ("admin") password, made at the first start with a console; kept
  // here, readable by the owner only, so that the person who started the service can sign in.
  std::string console_password{};
};

inline constexpr const char* kLocalCredentialsFile = "local-credentials.json";

// Reads the file, or creates it with fresh random values. Throws std::runtime_error.
LocalCredentials load_or_create_local_credentials(const std::filesystem::path& data_dir);

// Rewrites the file (atomically, mode 0600) with the current public URL.
void save_local_credentials(const std::filesystem::path& data_dir, const LocalCredentials& creds);

// Reads the file only (for tools). Throws std::runtime_error when missing or malformed.
LocalCredentials read_local_credentials(const std::filesystem::path& data_dir);

}  // namespace partyline::app
