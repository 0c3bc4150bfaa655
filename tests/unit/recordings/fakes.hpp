#pragma once
// Stand-ins for what the pipeline does I/O with: a media source and an object store, both in
// memory, scripted to fail and counting what they are asked.
#include <deque>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "recordings/media_source.hpp"
#include "storage/object_store.hpp"
#include "util/digest.hpp"

namespace partyline::recordings::testing {

// Serves one body (the same for every recording) unless told to fail the next fetches.
class FakeMedia : public MediaSource {
 public:
  enum class Next {
    kFail,         // refused before a byte arrives
    kCutHalfWay,   // half the body arrives, then the connection drops
    kUnannounced,  // the whole body, without a Content-Length
  };

  explicit FakeMedia(std::string body = std::string(1000, 'a')) : body_(std::move(body)) {}

  void then(Next next, int times = 1) {
    std::lock_guard lock(mutex_);
    for (int i = 0; i < times; ++i)
      script_.push_back(next);
  }
  int fetches() {
    std::lock_guard lock(mutex_);
    return fetches_;
  }
  const std::string& body() const { return body_; }

  util::Result<Media> fetch(const MediaFetch& request) override {
    std::optional<Next> next;
    {
      std::lock_guard lock(mutex_);
      ++fetches_;
      if (!script_.empty()) {
        next = script_.front();
        script_.pop_front();
      }
    }
    if (next == Next::kFail) return util::Failure::soon("HTTP 503", 503);
    const bool announce = next != Next::kUnannounced;
    const std::optional<std::uint64_t> announced =
        announce ? std::optional<std::uint64_t>(body_.size()) : std::nullopt;
    const auto plan = request.digest_plan ? request.digest_plan(announced) : util::DigestPlan{};
    const std::string sent = next == Next::kCutHalfWay ? body_.substr(0, body_.size() / 2) : body_;
    std::ofstream(request.spool, std::ios::binary | std::ios::trunc) << sent;
    util::StreamDigest digest(plan);
    digest.update(sent.data(), sent.size());
    if (request.on_part) {
      for (const auto& part : digest.parts())
        request.on_part(part);
    }
    if (next == Next::kCutHalfWay) {
      return util::Failure::soon("connection dropped after " + std::to_string(sent.size()) +
                                 " bytes");
    }
    return Media{digest.finish(), announced};
  }

 private:
  const std::string body_;
  std::mutex mutex_;
  std::deque<Next> script_;
  int fetches_ = 0;
};

// Create-only objects in memory; the next puts can be made to fail.
class FakeStorage : public storage::ObjectStore {
 public:
  explicit FakeStorage(std::string name = "fake") : name_(std::move(name)) {}

  storage::PutResult put_if_absent(const std::string& key, const storage::Object& o) override {
    std::lock_guard lock(mutex_);
    ++puts_;
    storage::PutResult r;
    if (failing_puts_ > 0) {
      --failing_puts_;
      r.error = "HTTP 503";
      r.http_status = 503;
      return r;
    }
    r.ok = true;
    if (objects_.count(key)) {
      r.outcome = storage::PutOutcome::kAlreadyExists;
      return r;
    }
    std::ifstream in(o.file, std::ios::binary);
    objects_[key] = std::string(std::istreambuf_iterator<char>(in), {});
    last_put_ = o;
    return r;
  }
  storage::HeadResult head(const std::string& key) override {
    std::lock_guard lock(mutex_);
    ++heads_;
    storage::HeadResult r;
    r.ok = true;
    if (auto it = objects_.find(key); it != objects_.end()) {
      r.exists = true;
      r.size = it->second.size();
    }
    return r;
  }
  storage::ReadResult read_small(const std::string&) override { return {}; }
  storage::RemoveResult remove(const std::string&) override { return {}; }
  std::string location(const std::string& key) const override { return "fake://" + key; }
  std::string_view name() const override { return name_; }

  void fail_puts(int n) {
    std::lock_guard lock(mutex_);
    failing_puts_ = n;
  }
  void add(const std::string& key, std::string body) {
    std::lock_guard lock(mutex_);
    objects_[key] = std::move(body);
  }
  std::optional<std::string> object(const std::string& key) {
    std::lock_guard lock(mutex_);
    auto it = objects_.find(key);
    if (it == objects_.end()) return std::nullopt;
    return it->second;
  }
  std::size_t objects() {
    std::lock_guard lock(mutex_);
    return objects_.size();
  }
  // What the last successful put was told about the object.
  storage::Object last_put() {
    std::lock_guard lock(mutex_);
    return last_put_;
  }
  int heads() {
    std::lock_guard lock(mutex_);
    return heads_;
  }
  int puts() {
    std::lock_guard lock(mutex_);
    return puts_;
  }

 private:
  const std::string name_;
  std::mutex mutex_;
  std::map<std::string, std::string> objects_;
  storage::Object last_put_;
  int failing_puts_ = 0;
  int heads_ = 0, puts_ = 0;
};

// A source of "random" bytes that always draws the middle of the jitter range (0.5).
inline std::string half_jitter(std::size_t n) {
  std::string bytes(n, '\0');
  if (n > 0) bytes[0] = '\x80';
  return bytes;
}

}  // namespace partyline::recordings::testing
