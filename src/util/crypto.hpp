#pragma once
// Thin wrappers over OpenSSL: hashes, HMACs, encodings, constant-time compare, randomness.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>

struct evp_mac_ctx_st;  // OpenSSL's EVP_MAC_CTX

namespace partyline::util {

std::string sha256(std::string_view data);  // 32 raw bytes
std::string sha256_hex(std::string_view data);
std::string hmac_sha1(std::string_view key, std::string_view data);    // 20 raw bytes
std::string hmac_sha256(std::string_view key, std::string_view data);  // 32 raw bytes

// An HMAC whose key is set once (e.g. the Twilio auth token): instead of fetching the algorithm
// and keying it for every message (callgrind: that set-up cost as much as hashing a webhook),
// each thread keeps a copy of the keyed context and re-initialises it with the same key.
// sign() is safe to call from several threads at once.
class Hmac {
 public:
  enum class Digest { kSha1, kSha256 };
  Hmac(Digest digest, std::string_view key);
  ~Hmac();
  Hmac(const Hmac&) = delete;
  Hmac& operator=(const Hmac&) = delete;
  std::string sign(std::string_view data) const;  // raw bytes
  // The same into `out` (EVP_MAX_MD_SIZE bytes at least); returns the length. No allocation.
  std::size_t sign(std::string_view data, unsigned char* out) const;

 private:
  ::evp_mac_ctx_st* ctx_ = nullptr;
  std::uint64_t id_;  // never reused: tells a thread whether its cached copy is of this key
};

std::string hex_lower(std::string_view bytes);
std::string base64(std::string_view bytes);                    // standard alphabet, padded
void append_base64(std::string& out, std::string_view bytes);  // the same, appended to out
std::string base64url(std::string_view bytes);                 // URL alphabet, no padding (JWT)

// Length check first, then a data-independent comparison (CRYPTO_memcmp).
bool constant_time_equal(std::string_view a, std::string_view b);

// `text` with every occurrence of `secret` replaced by "***": error texts from libraries (curl,
// Twilio) should never carry a credential, and a URL built with userinfo could make them.
std::string scrub_secret(std::string text, std::string_view secret);

// Cryptographically strong random bytes (RAND_bytes); throws std::runtime_error if the RNG fails.
std::string random_bytes(std::size_t n);

}  // namespace partyline::util
