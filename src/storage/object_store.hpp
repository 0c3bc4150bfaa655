#pragma once
// Where finished recordings go: a create-only object store (S3 or a local directory). A recording
// is written once under a key derived from its RecordingSid, so a retry after a crash or a
// duplicate callback must find the earlier copy instead of overwriting it.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/digest.hpp"
#include "util/result.hpp"

namespace partyline::storage {

struct Object {
  std::filesystem::path file;  // the complete recording on local disk (spool file)
  std::uint64_t size = 0;
  std::string md5_hex;     // of the whole file; may be "" (the store then hashes if it needs it)
  std::string sha256_hex;  // of the whole file
  // Digests of consecutive part_size ranges covering the file, as asked for by digest_plan();
  // a store that sends the object in other parts (or none given) hashes the file itself.
  std::uint64_t part_size = 0;
  std::vector<util::PartDigest> parts;
  std::string content_type;  // "audio/mpeg" or "audio/wav"
  // Names WITHOUT "x-amz-meta-", e.g. {"recording-sid", "RE…"}.
  std::vector<std::pair<std::string, std::string>> metadata;
};

enum class PutOutcome { kStored, kAlreadyExists };

// What head() found under a key.
struct Head {
  bool exists = false;
  std::uint64_t size = 0;  // when it exists
};

// An upload that runs while its file is still being written (a recording being fetched): each
// part goes up as soon as it has been written and hashed, so the fetch and the upload overlap
// instead of taking turns. Create-only like put_if_absent: nothing is visible under the key
// before finish() succeeds.
class PartUpload {
 public:
  // Without a successful finish(): stops sending, waits for the parts in flight and aborts the
  // upload, so a failed fetch leaves nothing behind.
  virtual ~PartUpload() = default;
  // Bytes [part.offset, part.offset + part.size) of the file are written and `part` holds their
  // digests. Parts come in order; thread-safe; never waits for the network.
  virtual void part_ready(const util::PartDigest& part) = 0;
  // The file is complete and `object` describes it (size and every part's digests, as in
  // put_if_absent): sends what is left and completes the upload. Blocks; may be called once.
  virtual util::Result<PutOutcome> finish(const Object& object) = 0;
};

// Failures are values (util::Failure): kSoon when the store's server failed or did not answer
// (the store has already repeated what it safely could), kLater for the rest (a refusal, an object
// of another size under the key, the local disk). A job retries either with its own backoff.
class ObjectStore {
 public:
  virtual ~ObjectStore() = default;
  // Create-only write: never overwrites an existing object.
  // An existing object of the same size is kAlreadyExists (keys are deterministic per
  // RecordingSid); of another size, a failure.
  virtual util::Result<PutOutcome> put_if_absent(const std::string& key, const Object& object) = 0;
  virtual util::Result<Head> head(const std::string& key) = 0;
  // For `partyline check`'s probe: small objects only (the first 1 MiB).
  virtual util::Result<std::string> read_small(const std::string& key) = 0;
  virtual util::Result<void> remove(const std::string& key) = 0;
  virtual std::string location(const std::string& key) const = 0;  // "s3://bucket/key" or a path
  // A link a browser can GET the object from for `expires` (S3: a presigned URL whose answer
  // carries this Content-Type, and this Content-Disposition unless ""); nullopt when the store
  // has none (a local directory: the service serves local_file() itself). Made on demand, offline.
  virtual std::optional<std::string> link(const std::string& key, std::chrono::seconds expires,
                                          const std::string& content_type,
                                          const std::string& disposition) const {
    (void)key, (void)expires, (void)content_type, (void)disposition;
    return std::nullopt;
  }
  // The file that holds the object in a local directory store; nullopt for other stores and
  // invalid keys (the file may not exist).
  virtual std::optional<std::filesystem::path> local_file(const std::string& key) const {
    (void)key;
    return std::nullopt;
  }
  // "s3" or "local": names this store in log events (s3.put.ok, local.put.ok).
  virtual std::string_view name() const = 0;
  // At start, before any write: removes what writes cut short by a crash left behind (a local
  // directory's temp files); returns how many. S3 keeps nothing visible before a write completes.
  virtual std::size_t remove_leftovers() { return 0; }
  // What to hash while the file is written, for an object of `size` bytes (unknown: nullopt), so
  // that put_if_absent finds every digest it sends in the Object and never hashes the file again.
  virtual util::DigestPlan digest_plan(std::optional<std::uint64_t> size) const {
    (void)size;
    return {};
  }
  // Starts an upload of `object.size` bytes that object.file will hold once it is written (its
  // content_type and metadata set; digests not yet). nullptr when this store does not upload an
  // object of that size in parts: the caller then calls put_if_absent once the file is complete.
  virtual std::unique_ptr<PartUpload> begin_upload(const std::string& key, const Object& object) {
    (void)key;
    (void)object;
    return nullptr;
  }
};

}  // namespace partyline::storage
