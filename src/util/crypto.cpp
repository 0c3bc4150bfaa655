#include "util/crypto.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <atomic>
#include <cstdio>
#include <memory>
#include <stdexcept>

namespace partyline::util {
namespace {

std::string hmac(const EVP_MD* md, std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!HMAC(md, key.data(), static_cast<int>(key.size()),
            reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len)) {
    throw std::runtime_error("HMAC failed");
  }
  return std::string(reinterpret_cast<const char*>(out), len);
}

void encode64(std::string& out, std::string_view bytes, const char* alphabet, bool pad) {
  out.reserve(out.size() + (bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  auto at = [&](std::size_t k) { return static_cast<unsigned char>(bytes[k]); };
  for (; i + 2 < bytes.size(); i += 3) {
    std::uint32_t v = (at(i) << 16) | (at(i + 1) << 8) | at(i + 2);
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    out += alphabet[v & 63];
  }
  const std::size_t rest = bytes.size() - i;
  if (rest == 1) {
    std::uint32_t v = at(i) << 16;
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    if (pad) out += "==";
  } else if (rest == 2) {
    std::uint32_t v = (at(i) << 16) | (at(i + 1) << 8);
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    if (pad) out += '=';
  }
}

constexpr const char* kBase64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

}  // namespace

std::string sha256(std::string_view data) {
  unsigned char out[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), out);
  return std::string(reinterpret_cast<const char*>(out), sizeof out);
}

std::string sha256_hex(std::string_view data) {
  return hex_lower(sha256(data));
}

std::string hmac_sha1(std::string_view key, std::string_view data) {
  return hmac(EVP_sha1(), key, data);
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  return hmac(EVP_sha256(), key, data);
}

namespace {
std::atomic<std::uint64_t> next_hmac_id{1};
}  // namespace

Hmac::Hmac(Digest digest, std::string_view key) : id_(next_hmac_id.fetch_add(1)) {
  EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  if (mac == nullptr) throw std::runtime_error("HMAC unavailable");
  ctx_ = EVP_MAC_CTX_new(mac);
  EVP_MAC_free(mac);  // the context keeps its own reference
  if (ctx_ == nullptr) throw std::runtime_error("EVP_MAC_CTX_new failed");
  char name[8];
  std::snprintf(name, sizeof name, "%s", digest == Digest::kSha1 ? "SHA1" : "SHA256");
  const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, name, 0),
                               OSSL_PARAM_construct_end()};
  if (EVP_MAC_init(ctx_, reinterpret_cast<const unsigned char*>(key.data()), key.size(), params) !=
      1) {
    EVP_MAC_CTX_free(ctx_);
    throw std::runtime_error("EVP_MAC_init failed");
  }
}

Hmac::~Hmac() {
  EVP_MAC_CTX_free(ctx_);
}

std::string Hmac::sign(std::string_view data) const {
  unsigned char out[EVP_MAX_MD_SIZE];
  const std::size_t len = sign(data, out);
  return std::string(reinterpret_cast<const char*>(out), len);
}

std::size_t Hmac::sign(std::string_view data, unsigned char* out) const {
  struct Cached {
    std::uint64_t id = 0;
    EVP_MAC_CTX* ctx = nullptr;
    ~Cached() { EVP_MAC_CTX_free(ctx); }
  };
  thread_local Cached cached;
  if (cached.id != id_) {
    EVP_MAC_CTX_free(cached.ctx);
    cached.id = 0;
    cached.ctx = EVP_MAC_CTX_dup(ctx_);
    if (cached.ctx == nullptr) throw std::runtime_error("EVP_MAC_CTX_dup failed");
    cached.id = id_;
  } else if (EVP_MAC_init(cached.ctx, nullptr, 0, nullptr) != 1) {  // the same key, afresh
    throw std::runtime_error("EVP_MAC_init failed");
  }
  std::size_t len = 0;
  if (EVP_MAC_update(cached.ctx, reinterpret_cast<const unsigned char*>(data.data()),
                     data.size()) != 1 ||
      EVP_MAC_final(cached.ctx, out, &len, EVP_MAX_MD_SIZE) != 1) {
    throw std::runtime_error("HMAC failed");
  }
  return len;
}

std::string hex_lower(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

std::string base64(std::string_view bytes) {
  std::string out;
  encode64(out, bytes, kBase64, true);
  return out;
}

void append_base64(std::string& out, std::string_view bytes) {
  encode64(out, bytes, kBase64, true);
}

std::string base64url(std::string_view bytes) {
  std::string out;
  encode64(out, bytes, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", false);
  return out;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string scrub_secret(std::string text, std::string_view secret) {
  if (secret.empty()) return text;
  for (auto at = text.find(secret); at != std::string::npos; at = text.find(secret, at)) {
    text.replace(at, secret.size(), "***");
  }
  return text;
}

std::string random_bytes(std::size_t n) {
  std::string out(n, '\0');
  if (n > 0 && RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    throw std::runtime_error("RAND_bytes failed");
  }
  return out;
}

}  // namespace partyline::util
