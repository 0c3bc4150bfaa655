#pragma once
// One account, one public URL, and webhooks signed as Twilio signs them, for the App's tests.
#include <string>

#include "http/form.hpp"
#include "http/message.hpp"
#include "twilio/signature.hpp"

namespace partyline::app::testing {

inline const std::string kAc = "AC" + std::string(32, 'a');
inline const std::string kToken = "0123456789abcdef0123456789abcdef";
inline const std::string kBase = "https://calls.example.com";
inline const std::string kCa = "CA" + std::string(32, '3');
inline const std::string kCf = "CF" + std::string(32, '1');
inline const std::string kRe = "RE" + std::string(32, '2');

// POST `target` with `params` as a form, signed with `token` for kBase + target.
inline http::Request signed_post(const std::string& target, const http::Params& params,
                                 const std::string& token = kToken) {
  http::Request r;
  r.method = "POST";
  r.target = target;
  r.body = http::form_encode(params);
  r.headers = {{"Content-Type", "application/x-www-form-urlencoded"},
               {"X-Twilio-Signature", twilio::compute_signature(token, kBase + target, params)}};
  return r;
}

}  // namespace partyline::app::testing
