#include "auth/password.hpp"

#include <sodium.h>

#include <stdexcept>

namespace partyline::auth {
namespace {

// sodium_init is itself safe to call again; the static makes the first call happen once.
void ensure_sodium() {
  static const bool ready = sodium_init() >= 0;
  if (!ready) throw std::runtime_error("libsodium could not start");
}

}  // namespace

std::string hash_password(std::string_view password) {
  ensure_sodium();
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str(out, password.data(), password.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                        crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
    throw std::runtime_error("password hashing ran out of memory");
  }
  return out;
}

bool verify_password(const std::string& hash, std::string_view password) {
  ensure_sodium();
  return crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
}

const std::string& dummy_hash() {
  static const std::string hash = [] {
    ensure_sodium();
    unsigned char secret[32];
    randombytes_buf(secret, sizeof secret);
    return hash_password(std::string_view(reinterpret_cast<const char*>(secret), sizeof secret));
  }();
  return hash;
}

}  // namespace partyline::auth
