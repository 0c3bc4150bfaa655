#include "s3/multipart.hpp"

#include <unistd.h>

#include <algorithm>
#include <system_error>

#include "s3/xml.hpp"
#include "util/crypto.hpp"

namespace partyline::s3 {

util::Result<std::string> create_multipart_upload(const Client& client, const std::string& key,
                                                  const Pairs& headers) {
  HttpRequest create;
  create.method = "POST";
  create.key = key;
  create.query = {{"uploads", ""}};
  create.headers = headers;
  create.body = std::string();  // POST needs an explicit zero length
  create.op = "POST uploads";
  auto created = client.send(create);
  if (!created) return created.error();
  std::string upload_id = xml::upload_id(created->body);
  if (upload_id.empty()) return util::Failure::later("POST uploads 200 without an UploadId", 200);
  // In place: a Failure could be built from a string as well.
  return util::Result<std::string>(boost::system::in_place_value, std::move(upload_id));
}

util::Result<std::string> upload_part(const Client& client, const std::string& key,
                                      const std::string& upload_id, std::uint64_t number, int fd,
                                      const util::PartDigest& part) {
  HttpRequest put;
  put.method = "PUT";
  put.key = key;
  put.query = {{"partNumber", std::to_string(number)}, {"uploadId", upload_id}};
  put.headers = {{"content-md5", part.md5_base64}};
  put.payload_sha256 = part.sha256_hex;
  put.body = FileRange{.fd = fd, .offset = part.offset, .length = part.size};
  put.idempotent = true;
  put.op = "PUT part " + std::to_string(number);
  auto uploaded = client.send(put);
  if (!uploaded) return uploaded.error();
  std::string etag = uploaded->header("etag");
  if (etag.empty()) return util::Failure::later(put.op + " 200 without an ETag", uploaded->status);
  return util::Result<std::string>(boost::system::in_place_value, std::move(etag));
}

util::Result<HttpResponse> complete_multipart_upload(const Client& client, const std::string& key,
                                                     const std::string& upload_id,
                                                     const std::vector<std::string>& etags,
                                                     Pairs headers, std::vector<int> answers) {
  HttpRequest complete;
  complete.method = "POST";
  complete.key = key;
  complete.query = {{"uploadId", upload_id}};
  complete.headers = std::move(headers);
  std::string body = xml::complete_multipart_upload(etags);
  complete.payload_sha256 = util::sha256_hex(body);
  complete.body = std::move(body);
  complete.answers = std::move(answers);
  complete.op = "POST complete";
  auto completed = client.send(complete);
  if (!completed || completed->status >= 300) return completed;  // a failure, or one of answers
  // S3 may answer 200 and report the failure in the body (the response streams while it works).
  const xml::CompleteAnswer answer = xml::complete_answer(completed->body);
  if (answer.completed) return completed;
  const std::string& code = answer.error_code;
  return util::Failure::soon(
      "POST complete 200 with " +
          (code.empty() ? std::string("an unexpected body") : "error " + code),
      completed->status);
}

void abort_multipart_upload(const Client& client, const std::string& key,
                            const std::string& upload_id) {
  HttpRequest abort;
  abort.method = "DELETE";
  abort.key = key;
  abort.query = {{"uploadId", upload_id}};
  abort.idempotent = true;
  abort.answers = {404};  // gone already
  abort.op = "DELETE uploadId";
  const auto aborted = client.send(abort);
  if (aborted) return;
  client.logger().warn(
      "s3.abort_failed",
      {{"bucket", client.options().bucket}, {"key", key}, {"reason", aborted.error().reason}});
}

MultipartUpload::MultipartUpload(const Client& client, MultipartOptions options, int fd)
    : client_(client),
      options_(std::move(options)),
      fd_(fd),
      etags_((options_.size + options_.part_size - 1) / options_.part_size) {
  ready_.reserve(etags_.size());
  driver_ = std::thread([this] { run(); });
}

MultipartUpload::~MultipartUpload() {
  stop_and_join();
  if (!finished_ && !upload_id_.empty()) abort_multipart_upload(client_, options_.key, upload_id_);
  ::close(fd_);
}

std::uint64_t MultipartUpload::expected_size(std::size_t i) const {
  return std::min(options_.part_size, options_.size - i * options_.part_size);
}

void MultipartUpload::part_ready(const util::PartDigest& part) {
  {
    std::lock_guard lock(mutex_);
    if (ready_.size() >= etags_.size() || part.offset != ready_.size() * options_.part_size ||
        part.size != expected_size(ready_.size()))
      return;
    ready_.push_back(part);
  }
  cv_.notify_all();
}

util::Result<SentParts> MultipartUpload::finish(std::uint64_t size, std::uint64_t part_size,
                                                const std::vector<util::PartDigest>& parts) {
  std::string mismatch;
  if (size != options_.size) {
    mismatch = "the file has " + std::to_string(size) + " bytes, the upload expected " +
               std::to_string(options_.size);
  } else if (part_size != options_.part_size || parts.size() != etags_.size()) {
    mismatch = "the file's part digests do not match the upload's parts";
  }
  {
    std::lock_guard lock(mutex_);
    for (std::size_t i = ready_.size(); mismatch.empty() && i < etags_.size(); ++i) {
      const auto& part = parts[i];
      if (part.offset != i * options_.part_size || part.size != expected_size(i)) {
        mismatch = "the file's part digests do not match the upload's parts";
      } else {
        ready_.push_back(part);
      }
    }
    if (!mismatch.empty()) stop_ = true;
  }
  cv_.notify_all();
  if (driver_.joinable()) driver_.join();
  finished_ = true;  // from here on, this function settles the upload
  if (!mismatch.empty() || failed_) {
    if (!upload_id_.empty()) abort_multipart_upload(client_, options_.key, upload_id_);
    if (!mismatch.empty()) return util::Failure::later(std::move(mismatch));
    return failure_;
  }
  if (declined_) return SentParts{};
  return SentParts{upload_id_, etags_};
}

void MultipartUpload::stop_and_join() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  cv_.notify_all();
  if (driver_.joinable()) driver_.join();
}

void MultipartUpload::fail(util::Failure failure) {
  {
    std::lock_guard lock(mutex_);
    if (!failed_) failure_ = std::move(failure);
    failed_ = stop_ = true;
  }
  cv_.notify_all();
}

bool MultipartUpload::stopped() {
  std::lock_guard lock(mutex_);
  return stop_;
}

void MultipartUpload::run() {
  try {
    if (options_.proceed && !options_.proceed()) {
      declined_ = true;
      return;
    }
    if (stopped()) return;  // the fetch failed already: nothing to create
    auto created = create_multipart_upload(client_, options_.key, options_.headers);
    if (!created) return fail(created.error());
    upload_id_ = std::move(*created);
    std::vector<std::jthread> helpers;
    const std::uint64_t lanes =
        std::clamp<std::uint64_t>(options_.parts_in_flight, 1, etags_.size());
    for (std::uint64_t i = 1; i < lanes; ++i) {
      try {
        helpers.emplace_back([this] { lane(); });
      } catch (const std::system_error&) {
        break;  // no thread to be had: fewer lanes
      }
    }
    lane();
  } catch (const std::exception& e) {
    fail(util::Failure::later(std::string("multipart upload: ") + e.what()));
  }
}

void MultipartUpload::lane() {
  for (;;) {
    const std::uint64_t i = next_.fetch_add(1);
    if (i >= etags_.size()) return;
    util::PartDigest part;
    {
      std::unique_lock lock(mutex_);
      cv_.wait(lock, [&] { return stop_ || ready_.size() > i; });
      if (stop_) return;
      part = ready_[i];
    }
    try {
      auto etag = upload_part(client_, options_.key, upload_id_, i + 1, fd_, part);
      if (!etag) return fail(etag.error());
      etags_[i] = std::move(*etag);
    } catch (const std::exception& e) {
      return fail(util::Failure::later("PUT part " + std::to_string(i + 1) + ": " + e.what()));
    }
  }
}

}  // namespace partyline::s3
