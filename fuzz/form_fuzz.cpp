// libFuzzer target: a webhook's form body into the form decoder. Beyond "no crash, no sanitizer
// report", a body that decodes must survive form_encode() and decode to the same fields.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "http/form.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace partyline::http;
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  const FormResult parsed = parse_form(body);
  if (!parsed.params) return 0;
  const Params& params = *parsed.params;
  if (!params.empty() && find_param(params, params.front().first) != &params.front().second)
    std::abort();
  const FormResult again = parse_form(form_encode(params));
  if (!again.params || *again.params != params) std::abort();
  return 0;
}
