// libFuzzer target: a transcription server's answer into the transcript parser. Beyond "no
// crash", a transcript it accepts must be well formed and survive its own stored JSON.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "transcribe/transcript.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace partyline::transcribe;
  const auto parsed = parse(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!parsed) return 0;
  for (const auto& s : parsed->segments) {
    if (!std::isfinite(s.start) || !std::isfinite(s.end) || s.start < 0 || s.end < s.start)
      std::abort();
  }
  const auto again = parse(to_json(*parsed));
  if (!again || again->segments.size() != parsed->segments.size()) std::abort();
  (void)to_webvtt(*parsed);
  return 0;
}
