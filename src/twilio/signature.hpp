#pragma once
// X-Twilio-Signature, computed exactly as Twilio does (reference twilio.md §1): the URL Twilio
// requested followed by each POST parameter's name and value, sorted by name; HMAC-SHA1 keyed
// with the auth token; base64.
#include <string>
#include <string_view>
#include <vector>

#include "http/form.hpp"
#include "util/crypto.hpp"

namespace partyline::twilio {

std::string compute_signature(std::string_view auth_token, std::string_view url,
                              const http::Params& params);

// The URL forms Twilio's own libraries try: as given, without its port, and with the scheme's
// default port added when it has none (Twilio signs some callbacks with ":443", some without).
std::vector<std::string> url_variants(std::string_view url);

// Constant-time comparison against every URL variant. A missing signature never validates.
// One-off: keys a SignatureValidator for this call.
bool validate_signature(std::string_view auth_token, std::string_view signature,
                        std::string_view url, const http::Params& params);

// validate_signature() for one auth token, keyed once (the service's hot path).
class SignatureValidator {
 public:
  explicit SignatureValidator(std::string_view auth_token);
  bool valid(std::string_view signature, std::string_view url, const http::Params& params) const;

 private:
  bool empty_token_;
  util::Hmac hmac_;
};

}  // namespace partyline::twilio
