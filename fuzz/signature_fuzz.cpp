// libFuzzer target: the X-Twilio-Signature check. The input is split at its first two newlines
// into the URL, the signature header and the form body (a missing part is empty), as the service
// gets them from one request. Beyond "no crash": the signature computed for a URL and its
// parameters must validate, for the URL as given and for each of its other spellings.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "http/form.hpp"
#include "twilio/signature.hpp"

namespace {

std::string_view next_part(std::string_view& rest) {
  const std::size_t newline = rest.find('\n');
  const std::string_view part = rest.substr(0, newline);
  rest = newline == std::string_view::npos ? std::string_view() : rest.substr(newline + 1);
  return part;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace partyline;
  static const std::string_view kToken = "12345";
  static const twilio::SignatureValidator validator(kToken);

  std::string_view rest(reinterpret_cast<const char*>(data), size);
  const std::string_view url = next_part(rest);
  const std::string_view signature = next_part(rest);
  const std::string_view body = rest;

  const http::FormResult form = http::parse_form(body);
  const http::Params params = form.params ? *form.params : http::Params{};

  const bool valid = validator.valid(signature, url, params);
  if (valid != twilio::validate_signature(kToken, signature, url, params)) std::abort();

  for (const std::string& variant : twilio::url_variants(url)) {
    const std::string expected = twilio::compute_signature(kToken, variant, params);
    if (!validator.valid(expected, url, params)) std::abort();
  }
  return 0;
}
