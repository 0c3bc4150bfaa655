#include "util/digest.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <stdexcept>
#include <system_error>
#include <vector>

#include "util/crypto.hpp"

namespace partyline::util {
namespace {

constexpr std::size_t kReadBufferSize = 64 * 1024;

struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;

MdCtx new_context(const EVP_MD* md) {
  MdCtx ctx(EVP_MD_CTX_new());
  if (!ctx || EVP_DigestInit_ex(ctx.get(), md, nullptr) != 1) {
    throw std::runtime_error("EVP_DigestInit_ex failed");
  }
  return ctx;
}

std::string final_bytes(EVP_MD_CTX* ctx) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx, out, &len) != 1)
    throw std::runtime_error("EVP_DigestFinal_ex failed");
  return std::string(reinterpret_cast<const char*>(out), len);
}

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using File = std::unique_ptr<std::FILE, FileCloser>;

[[noreturn]] void throw_io_error(const char* what, const std::filesystem::path& path) {
  throw std::system_error(errno, std::generic_category(), std::string(what) + " " + path.string());
}

File open_for_reading(const std::filesystem::path& path) {
  File file(std::fopen(path.c_str(), "rb"));
  if (!file) throw_io_error("cannot open", path);
  return file;
}

// Feeds up to `limit` bytes from the file's current position to `digest`; returns how many it
// read (fewer only at end of file).
std::uint64_t feed(std::FILE* file, const std::filesystem::path& path, Digest& digest,
                   std::uint64_t limit) {
  std::vector<char> buffer(kReadBufferSize);
  std::uint64_t total = 0;
  while (total < limit) {
    const auto want =
        static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), limit - total));
    const std::size_t got = std::fread(buffer.data(), 1, want, file);
    if (got > 0) {
      digest.update(buffer.data(), got);
      total += got;
    }
    if (got < want) {
      if (std::ferror(file)) throw_io_error("cannot read", path);
      break;  // end of file
    }
  }
  return total;
}

}  // namespace

struct Digest::Contexts {
  MdCtx sha256 = new_context(EVP_sha256());
  MdCtx md5 = new_context(EVP_md5());
};

Digest::Digest() : contexts_(std::make_unique<Contexts>()) {}
Digest::~Digest() = default;
Digest::Digest(Digest&&) noexcept = default;
Digest& Digest::operator=(Digest&&) noexcept = default;

void Digest::update(const void* data, std::size_t size) {
  if (!contexts_) throw std::logic_error("Digest::update after the digest was finalized");
  if (size == 0) return;
  if (EVP_DigestUpdate(contexts_->sha256.get(), data, size) != 1 ||
      EVP_DigestUpdate(contexts_->md5.get(), data, size) != 1) {
    throw std::runtime_error("EVP_DigestUpdate failed");
  }
}

void Digest::finalize() {
  if (!contexts_) return;
  sha256_ = final_bytes(contexts_->sha256.get());
  md5_ = final_bytes(contexts_->md5.get());
  contexts_.reset();  // also marks the digest as finalized
}

std::string Digest::sha256_hex() {
  finalize();
  return hex_lower(sha256_);
}

std::string Digest::md5_hex() {
  finalize();
  return hex_lower(md5_);
}

std::string Digest::md5_base64() {
  finalize();
  return base64(md5_);
}

struct StreamDigest::Contexts {
  MdCtx sha256 = new_context(EVP_sha256());
  MdCtx md5;  // of the whole stream, when the plan wants it
  MdCtx part_sha256;
  MdCtx part_md5;
};

StreamDigest::StreamDigest(DigestPlan plan) : contexts_(std::make_unique<Contexts>()), plan_(plan) {
  if (plan_.whole_md5) contexts_->md5 = new_context(EVP_md5());
  if (plan_.part_size > 0) {
    contexts_->part_sha256 = new_context(EVP_sha256());
    contexts_->part_md5 = new_context(EVP_md5());
  }
  result_.part_size = plan_.part_size;
}
StreamDigest::~StreamDigest() = default;
StreamDigest::StreamDigest(StreamDigest&&) noexcept = default;
StreamDigest& StreamDigest::operator=(StreamDigest&&) noexcept = default;

void StreamDigest::update(const void* data, std::size_t size) {
  if (!contexts_) throw std::logic_error("StreamDigest::update after finish");
  const auto* bytes = static_cast<const unsigned char*>(data);
  if (EVP_DigestUpdate(contexts_->sha256.get(), bytes, size) != 1 ||
      (contexts_->md5 && EVP_DigestUpdate(contexts_->md5.get(), bytes, size) != 1)) {
    throw std::runtime_error("EVP_DigestUpdate failed");
  }
  result_.size += size;
  if (plan_.part_size == 0) return;
  while (size > 0) {
    const auto n =
        static_cast<std::size_t>(std::min<std::uint64_t>(size, plan_.part_size - part_filled_));
    if (EVP_DigestUpdate(contexts_->part_sha256.get(), bytes, n) != 1 ||
        EVP_DigestUpdate(contexts_->part_md5.get(), bytes, n) != 1) {
      throw std::runtime_error("EVP_DigestUpdate failed");
    }
    part_filled_ += n;
    bytes += n;
    size -= n;
    if (part_filled_ == plan_.part_size) close_part();
  }
}

void StreamDigest::close_part() {
  PartDigest part;
  part.offset = result_.parts.empty() ? 0 : result_.parts.back().offset + result_.parts.back().size;
  part.size = part_filled_;
  part.sha256_hex = hex_lower(final_bytes(contexts_->part_sha256.get()));
  part.md5_base64 = base64(final_bytes(contexts_->part_md5.get()));
  result_.parts.push_back(std::move(part));
  part_filled_ = 0;
  if (EVP_DigestInit_ex(contexts_->part_sha256.get(), EVP_sha256(), nullptr) != 1 ||
      EVP_DigestInit_ex(contexts_->part_md5.get(), EVP_md5(), nullptr) != 1) {
    throw std::runtime_error("EVP_DigestInit_ex failed");
  }
}

StreamDigests StreamDigest::finish() {
  if (!contexts_) throw std::logic_error("StreamDigest::finish called twice");
  if (plan_.part_size > 0 && part_filled_ > 0) close_part();
  result_.sha256_hex = hex_lower(final_bytes(contexts_->sha256.get()));
  if (contexts_->md5) result_.md5_hex = hex_lower(final_bytes(contexts_->md5.get()));
  contexts_.reset();
  return std::move(result_);
}

FileDigest digest_file(const std::filesystem::path& path) {
  File file = open_for_reading(path);
  Digest digest;
  FileDigest result;
  result.size = feed(file.get(), path, digest, UINT64_MAX);
  result.sha256_hex = digest.sha256_hex();
  result.md5_hex = digest.md5_hex();
  return result;
}

std::string sha256_hex_of_range(const std::filesystem::path& path, std::uint64_t offset,
                                std::uint64_t length) {
  File file = open_for_reading(path);
  if (offset > static_cast<std::uint64_t>(INT64_MAX)) {
    throw std::out_of_range("offset past any file's end: " + path.string());
  }
  if (fseeko(file.get(), static_cast<off_t>(offset), SEEK_SET) != 0) {
    throw_io_error("cannot seek in", path);
  }
  Digest digest;
  if (feed(file.get(), path, digest, length) != length) {
    throw std::out_of_range("range ends past the end of " + path.string());
  }
  return digest.sha256_hex();
}

}  // namespace partyline::util
