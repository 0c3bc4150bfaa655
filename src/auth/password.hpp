#pragma once
// Console passwords: Argon2id strings (libsodium's crypto_pwhash_str, "interactive" cost: about
// 0.1 s and 64 MiB per call). The string holds its own salt and parameters. Every function is
// safe to call from several threads at once; each call is slow on purpose, so keep it off I/O
// threads.
#include <cstddef>
#include <string>
#include <string_view>

namespace partyline::auth {

// Longer passwords are refused (by the command line and by sign-in): a bound on what a request
// makes the server hash, far above any passphrase.
inline constexpr std::size_t kMaxPasswordBytes = 1024;

// Throws std::runtime_error when libsodium cannot start or the memory cannot be had.
std::string hash_password(std::string_view password);

// False for a wrong password and for a string that is not a hash.
bool verify_password(const std::string& hash, std::string_view password);

// A hash of random bytes, made on the first call (which is slow) and the same afterwards: verifying
// against it costs what verifying a real user's password costs, so a name with no user answers
// in the same time as a wrong password. No password matches it.
const std::string& dummy_hash();

}  // namespace partyline::auth
