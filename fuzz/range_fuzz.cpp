// libFuzzer target: a Range header against a file size. Beyond "no crash", a partial answer
// must lie inside the file and never be empty.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "http/range.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace partyline::http;
  if (size < 8) return 0;
  std::uint64_t file_size = 0;
  std::memcpy(&file_size, data, 8);
  const std::string_view header(reinterpret_cast<const char*>(data + 8), size - 8);
  const ByteRange r = parse_range(header, file_size);
  if (r.kind == ByteRange::Kind::kPart && (r.first > r.last || r.last >= file_size)) std::abort();
  return 0;
}
