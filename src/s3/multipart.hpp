#pragma once
// S3 multipart uploads: the requests one by one, and an upload whose parts go up while the file
// is still being written (a recording being fetched), on a few connections at once. Create-only
// completion is the caller's (storage/s3_store.cpp): here an upload is created, filled and, when
// it fails, aborted.
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "s3/client.hpp"
#include "util/digest.hpp"
#include "util/result.hpp"

namespace partyline::s3 {

// S3 allows at most 10,000 parts per upload.
inline constexpr std::uint64_t kMaxParts = 10000;

// CreateMultipartUpload with `headers` (content type, metadata, encryption): the upload's id.
// Not repeated: a second attempt would leave the first upload behind.
util::Result<std::string> create_multipart_upload(const Client& client, const std::string& key,
                                                  const Pairs& headers);

// UploadPart `number` (from 1): the file's bytes that `part` names, with its digests. The part's
// ETag. Repeated after a transient failure (the same part again replaces it).
util::Result<std::string> upload_part(const Client& client, const std::string& key,
                                      const std::string& upload_id, std::uint64_t number, int fd,
                                      const util::PartDigest& part);

// CompleteMultipartUpload of parts 1..etags.size(), with `headers` (If-None-Match) and `answers`
// as in HttpRequest. A 200 whose body reports an error (S3 answers while it works) is a failure.
// Not repeated: the caller decides what a failed completion means.
util::Result<HttpResponse> complete_multipart_upload(const Client& client, const std::string& key,
                                                     const std::string& upload_id,
                                                     const std::vector<std::string>& etags,
                                                     Pairs headers, std::vector<int> answers);

// AbortMultipartUpload; a failure is logged (s3.abort_failed): a leftover upload costs storage
// until the bucket's AbortIncompleteMultipartUpload rule removes it, and nothing else can be done.
void abort_multipart_upload(const Client& client, const std::string& key,
                            const std::string& upload_id);

struct MultipartOptions {
  std::string key = {};
  std::uint64_t size = 0;  // of the whole object
  std::uint64_t part_size = 16ull << 20;
  // Parts sent at once, each on its own connection: the server works on one part while the next
  // one is on the wire (Swift's proxy and object server take turns on a single stream).
  unsigned parts_in_flight = 2;
  Pairs headers = {};  // CreateMultipartUpload's
  // Runs on the upload's thread before CreateMultipartUpload; false: nothing is created and
  // finish() reports an empty upload id (the caller already has its answer).
  std::function<bool()> proceed = {};
};

struct SentParts {
  std::string upload_id;           // "" when proceed() said no
  std::vector<std::string> etags;  // etags[i] is part i + 1's
};

// The parts of a file still being written. A driver thread creates the upload, then sends parts
// on parts_in_flight lanes; each lane waits for its next part to be written and hashed. finish()
// hands over the parts not yet ready and waits for every part; an upload dropped before a
// successful finish() stops its lanes and is aborted.
class MultipartUpload {
 public:
  // Owns fd (the file, opened for reading).
  MultipartUpload(const Client& client, MultipartOptions options, int fd);
  ~MultipartUpload();
  MultipartUpload(const MultipartUpload&) = delete;
  MultipartUpload& operator=(const MultipartUpload&) = delete;

  // Bytes [part.offset, part.offset + part.size) of the file are written and `part` holds their
  // digests. Parts come in order, each once; one that does not fit the upload's layout is
  // ignored (finish() then checks the whole). Thread-safe; never waits for the network.
  void part_ready(const util::PartDigest& part);

  // The file is complete: `size` bytes, in parts of `part_size` described by `parts`. Sends what
  // is left and waits. On success the caller completes the upload (or aborts it); on failure the
  // upload has been aborted. May be called once.
  util::Result<SentParts> finish(std::uint64_t size, std::uint64_t part_size,
                                 const std::vector<util::PartDigest>& parts);

 private:
  std::uint64_t expected_size(std::size_t i) const;
  void stop_and_join();
  void fail(util::Failure failure);
  bool stopped();
  void run();
  void lane();

  const Client& client_;
  const MultipartOptions options_;
  const int fd_;
  std::vector<std::string> etags_;  // one per part, each written by the lane that sends it
  std::atomic<std::uint64_t> next_{0};
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<util::PartDigest> ready_;  // guarded by mutex_
  bool stop_ = false;                    // guarded by mutex_
  bool failed_ = false;                  // guarded by mutex_; read after the join
  util::Failure failure_;                // likewise
  // Set by the driver, read after it is joined:
  std::string upload_id_;
  bool declined_ = false;  // proceed() said no
  bool finished_ = false;  // finish() ran: nothing left for the destructor
  std::thread driver_;     // last: starts once the members above exist
};

}  // namespace partyline::s3
