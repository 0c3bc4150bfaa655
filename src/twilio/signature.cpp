#include "twilio/signature.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <optional>
#include <vector>

#include "util/crypto.hpp"

namespace partyline::twilio {

namespace {

// The sorted name+value pairs that follow the URL in the signed text, appended to `data`. Values
// of a repeated name are sorted and de-duplicated, as twilio-node does.
void append_signed_params(std::string& data, const http::Params& params) {
  thread_local std::vector<std::pair<std::string_view, std::string_view>> sorted;
  sorted.assign(params.begin(), params.end());
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  std::size_t size = data.size();
  for (const auto& [name, value] : sorted)
    size += name.size() + value.size();
  data.reserve(size);
  for (const auto& [name, value] : sorted) {
    data += name;
    data += value;
  }
}

std::string signed_params(const http::Params& params) {
  std::string data;
  append_signed_params(data, params);
  return data;
}

// The URL as received and, when it can be spelled another way, that other spelling: pieces of the
// URL (and a port to add) so that a caller can assemble it without building strings.
struct UrlVariant {
  std::string_view before, hostport, added_port, rest;
};

std::optional<UrlVariant> other_spelling(std::string_view url) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return std::nullopt;
  const std::string_view scheme = url.substr(0, scheme_end);
  const std::size_t host_begin = scheme_end + 3;
  std::size_t host_end = url.find_first_of("/?#", host_begin);
  if (host_end == std::string_view::npos) host_end = url.size();
  std::string_view authority = url.substr(host_begin, host_end - host_begin);
  const auto at = authority.rfind('@');
  const std::size_t hostport_begin = at == std::string_view::npos ? 0 : at + 1;
  const std::string_view hostport = authority.substr(hostport_begin);
  // The port is what follows the last ':' outside IPv6 brackets.
  const auto colon = hostport.rfind(':');
  const bool has_port =
      colon != std::string_view::npos && hostport.find(']', colon) == std::string_view::npos;
  const std::string_view before = url.substr(0, host_begin + hostport_begin);
  const std::string_view rest = url.substr(host_end);
  if (has_port) return UrlVariant{before, hostport.substr(0, colon), {}, rest};
  if (scheme == "https") return UrlVariant{before, hostport, ":443", rest};
  if (scheme == "http") return UrlVariant{before, hostport, ":80", rest};
  return std::nullopt;
}

}  // namespace

std::string compute_signature(std::string_view auth_token, std::string_view url,
                              const http::Params& params) {
  return util::base64(util::hmac_sha1(auth_token, std::string(url) + signed_params(params)));
}

std::vector<std::string> url_variants(std::string_view url) {
  std::vector<std::string> out{std::string(url)};
  if (const auto v = other_spelling(url)) {
    std::string other(v->before);
    other.append(v->hostport).append(v->added_port).append(v->rest);
    out.push_back(std::move(other));
  }
  return out;
}

bool validate_signature(std::string_view auth_token, std::string_view signature,
                        std::string_view url, const http::Params& params) {
  if (signature.empty() || auth_token.empty()) return false;
  return SignatureValidator(auth_token).valid(signature, url, params);
}

SignatureValidator::SignatureValidator(std::string_view auth_token)
    : empty_token_(auth_token.empty()), hmac_(util::Hmac::Digest::kSha1, auth_token) {}

bool SignatureValidator::valid(std::string_view signature, std::string_view url,
                               const http::Params& params) const {
  if (signature.empty() || empty_token_) return false;
  // Per-thread buffers: a webhook's signature check allocates nothing once they have grown.
  thread_local std::string tail, data, expected;
  tail.clear();
  append_signed_params(tail, params);
  const auto check = [&](std::string_view signed_url) {
    data.assign(signed_url);
    data += tail;
    unsigned char mac[EVP_MAX_MD_SIZE];
    const std::size_t len = hmac_.sign(data, mac);
    expected.clear();
    util::append_base64(expected, std::string_view(reinterpret_cast<const char*>(mac), len));
    return util::constant_time_equal(expected, signature);
  };
  bool ok = check(url);
  if (const auto v = other_spelling(url)) {
    thread_local std::string other;
    other.assign(v->before);
    other.append(v->hostport).append(v->added_port).append(v->rest);
    // No early exit: every variant costs the same whether or not an earlier one matched.
    ok |= check(other);
  }
  return ok;
}

}  // namespace partyline::twilio
