#pragma once
// Streaming SHA-256 and MD5 (OpenSSL EVP) over data too large to hold in memory: recordings on
// their way from Twilio to S3. SHA-256 is what we record and sign with; MD5 is S3's Content-MD5
// and ETag of a single-part upload.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace partyline::util {

// Feeds every update to both hashes at once, so a stream is read a single time. The first call to
// any getter finalizes; further update() calls throw std::logic_error (a hash of a prefix returned
// as the hash of the whole would be silent corruption).
class Digest {
 public:
  Digest();  // throws std::runtime_error if OpenSSL cannot set up a context
  ~Digest();
  Digest(Digest&&) noexcept;
  Digest& operator=(Digest&&) noexcept;
  Digest(const Digest&) = delete;
  Digest& operator=(const Digest&) = delete;

  void update(const void* data, std::size_t size);

  std::string sha256_hex();
  std::string md5_hex();
  std::string md5_base64();  // the Content-MD5 header's form

 private:
  void finalize();

  struct Contexts;
  std::unique_ptr<Contexts> contexts_;
  std::string sha256_;  // raw bytes, set by finalize()
  std::string md5_;
};

// What one streaming pass over an object must compute so that its upload never reads the file
// again just to hash it: the whole object's SHA-256 always (it is recorded); its MD5 only when it
// goes up in one request (Content-MD5); and, with part_size > 0, the SHA-256 and MD5 of every
// part_size bytes (each part's payload hash and Content-MD5 in a multipart upload).
struct DigestPlan {
  bool whole_md5 = true;
  std::uint64_t part_size = 0;
};

struct PartDigest {
  std::uint64_t offset = 0;
  std::uint64_t size = 0;
  std::string sha256_hex;
  std::string md5_base64;
};

struct StreamDigests {
  std::uint64_t size = 0;
  std::string sha256_hex;
  std::string md5_hex;  // "" unless the plan asked for it
  std::uint64_t part_size = 0;
  std::vector<PartDigest> parts;  // empty unless the plan asked for them
};

// Digest, per DigestPlan. finish() may be called once; update() after it throws std::logic_error.
class StreamDigest {
 public:
  explicit StreamDigest(DigestPlan plan);  // throws std::runtime_error like Digest()
  ~StreamDigest();
  StreamDigest(StreamDigest&&) noexcept;
  StreamDigest& operator=(StreamDigest&&) noexcept;
  StreamDigest(const StreamDigest&) = delete;
  StreamDigest& operator=(const StreamDigest&) = delete;

  void update(const void* data, std::size_t size);
  // The parts hashed so far: every complete part_size range; a last, shorter part is added by
  // finish(). Lets a caller send each part while the rest of the stream is still arriving.
  const std::vector<PartDigest>& parts() const { return result_.parts; }
  StreamDigests finish();

 private:
  void close_part();

  struct Contexts;
  std::unique_ptr<Contexts> contexts_;
  DigestPlan plan_;
  StreamDigests result_;
  std::uint64_t part_filled_ = 0;  // bytes of the current part hashed so far
};

struct FileDigest {
  std::uint64_t size = 0;
  std::string sha256_hex, md5_hex;
};

// Reads the whole file once with a 64 KiB buffer. Throws std::system_error if it cannot be opened
// or read.
FileDigest digest_file(const std::filesystem::path& path);

// SHA-256 of bytes [offset, offset + length): the payload hash of one multipart-upload part.
// Throws std::system_error on I/O errors and std::out_of_range if the file ends before the range.
std::string sha256_hex_of_range(const std::filesystem::path& path, std::uint64_t offset,
                                std::uint64_t length);

}  // namespace partyline::util
