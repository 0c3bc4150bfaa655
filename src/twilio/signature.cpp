#include "twilio/signature.hpp"

#include <algorithm>

#include "util/crypto.hpp"

namespace partyline::twilio {

namespace {

// The sorted name+value pairs that follow the URL in the signed text. Values of a repeated name
// are sorted and de-duplicated, as twilio-node does.
std::string signed_params(const http::Params& params) {
  std::vector<std::pair<std::string_view, std::string_view>> sorted(params.begin(), params.end());
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  std::size_t size = 0;
  for (const auto& [name, value] : sorted)
    size += name.size() + value.size();
  std::string data;
  data.reserve(size);
  for (const auto& [name, value] : sorted) {
    data += name;
    data += value;
  }
  return data;
}

}  // namespace

std::string compute_signature(std::string_view auth_token, std::string_view url,
                              const http::Params& params) {
  return util::base64(util::hmac_sha1(auth_token, std::string(url) + signed_params(params)));
}

std::vector<std::string> url_variants(std::string_view url) {
  std::vector<std::string> out{std::string(url)};
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return out;
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
  const std::string before(url.substr(0, host_begin + hostport_begin));
  const std::string rest(url.substr(host_end));
  if (has_port) {
    out.push_back(before + std::string(hostport.substr(0, colon)) + rest);
  } else if (scheme == "https" || scheme == "http") {
    out.push_back(before + std::string(hostport) + (scheme == "https" ? ":443" : ":80") + rest);
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
  const std::string tail = signed_params(params);
  bool ok = false;
  std::string data;
  for (const auto& candidate : url_variants(url)) {
    data.assign(candidate);
    data += tail;
    // No early exit: every variant costs the same whether or not an earlier one matched.
    ok |= util::constant_time_equal(util::base64(hmac_.sign(data)), signature);
  }
  return ok;
}

}  // namespace partyline::twilio
