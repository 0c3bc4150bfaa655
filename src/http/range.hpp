#pragma once
// The Range header of a GET for a file of known size (RFC 9110 §14): one byte range, as an audio
// element asks for it when it seeks. Several ranges in one header are answered with the whole
// file (a server may ignore Range), so no multipart/byteranges answer is ever built.
#include <cstdint>
#include <string_view>

namespace partyline::http {

struct ByteRange {
  enum class Kind {
    kWhole,          // no usable Range: 200 with the whole file
    kPart,           // 206: bytes first..last (inclusive)
    kUnsatisfiable,  // 416 with Content-Range: bytes */size
  } kind = Kind::kWhole;
  std::uint64_t first = 0, last = 0;

  std::uint64_t length() const { return last - first + 1; }
};

// "bytes=0-", "bytes=100-199", "bytes=-500" (the last 500); anything malformed or of another unit
// is kWhole, as the RFC asks.
ByteRange parse_range(std::string_view header, std::uint64_t size);

}  // namespace partyline::http
