#include "log/logger.hpp"

#include <unistd.h>

#include <array>
#include <boost/json/serializer.hpp>
#include <boost/json/value.hpp>
#include <cerrno>

namespace partyline::log {
namespace {

const char* level_name(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

bool looks_like_phone(std::string_view v) {
  if (!v.empty() && v.front() == '+') v.remove_prefix(1);
  if (v.size() < 7 || v.size() > 15) return false;
  return std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; });
}

void redact_value(boost::json::value& v, bool phone_key) {
  if (v.is_string()) {
    std::string_view s = v.get_string();
    if (phone_key || looks_like_phone(s)) v = redact_phone(s);
  } else if (v.is_object()) {
    redact(v.get_object());
  } else if (v.is_array()) {
    for (auto& item : v.get_array())
      redact_value(item, phone_key);
  }
}

}  // namespace

Logger::Logger(int fd, LogLevel min_level, util::Clock clock, Mode mode)
    : fd_(fd), min_level_(min_level), clock_(std::move(clock)), mode_(mode) {
  if (mode_ == Mode::kBuffered) writer_ = std::thread([this] { writer_loop(); });
}

Logger::~Logger() {
  if (writer_.joinable()) {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_one();
    writer_.join();
  }
  flush();
}

namespace {

// One serializer per thread: its buffers are reused from line to line.
void append_json(std::string& out, const boost::json::value& v) {
  thread_local boost::json::serializer sr;
  char buf[512];
  sr.reset(&v);
  while (!sr.done())
    out.append(sr.read(buf));
}

void append_json_string(std::string& out, std::string_view s) {
  thread_local boost::json::serializer sr;
  char buf[256];
  sr.reset(s);
  while (!sr.done())
    out.append(sr.read(buf));
}

// "2025-10-25T19:17:43.123Z"; the date and time up to the second are cached per thread.
void append_timestamp(std::string& out, std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  thread_local std::int64_t cached_second = -1;
  thread_local std::string cached;  // "2025-10-25T19:17:43."
  const auto ms = duration_cast<milliseconds>(t.time_since_epoch()).count();
  const std::int64_t second = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
  if (second != cached_second) {
    cached = util::iso8601_millis(t);
    cached.resize(cached.size() - 4);  // drop "123Z"
    cached_second = second;
  }
  const int milli = static_cast<int>(ms - second * 1000);
  out += cached;
  out += static_cast<char>('0' + milli / 100);
  out += static_cast<char>('0' + milli / 10 % 10);
  out += static_cast<char>('0' + milli % 10);
  out += 'Z';
}

}  // namespace

void Logger::append_head(std::string& out, LogLevel level, std::string_view evt) const {
  out += R"({"ts":")";
  append_timestamp(out, clock_());
  out += R"(","level":")";
  out += level_name(level);
  out += R"(","evt":)";
  append_json_string(out, evt);
}

void Logger::format_into(std::string& out, LogLevel level, std::string_view evt,
                         boost::json::object& fields) const {
  redact(fields);
  append_head(out, level, evt);
  for (const auto& [k, v] : fields) {
    if (k == "ts" || k == "level" || k == "evt") continue;
    out += ',';
    append_json_string(out, k);
    out += ':';
    append_json(out, v);
  }
  out += '}';
}

// The same rules as the json::object path: names ts/level/evt are left out, a name seen twice
// keeps its first value (as boost::json::object does), phone fields and phone-shaped strings are
// redacted, and numbers are written by the same serializer.
void Logger::format_into(std::string& out, LogLevel level, std::string_view evt,
                         Fields fields) const {
  append_head(out, level, evt);
  for (auto it = fields.begin(); it != fields.end(); ++it) {
    const std::string_view k = it->name();
    if (it->kind() == Field::Kind::kAbsent || k == "ts" || k == "level" || k == "evt") continue;
    if (std::any_of(fields.begin(), it, [&](const Field& f) {
          return f.name() == k && f.kind() != Field::Kind::kAbsent;
        }))
      continue;
    out += ',';
    append_json_string(out, k);
    out += ':';
    switch (it->kind()) {
      case Field::Kind::kString: {
        const std::string_view v = it->string();
        if (is_phone_field(k) || looks_like_phone(v)) {
          append_json_string(out, redact_phone(v));
        } else {
          append_json_string(out, v);
        }
        break;
      }
      case Field::Kind::kSigned:
        append_json(out, boost::json::value(it->signed_value()));
        break;
      case Field::Kind::kUnsigned:
        append_json(out, boost::json::value(it->unsigned_value()));
        break;
      case Field::Kind::kBool:
        out += it->bool_value() ? "true" : "false";
        break;
      case Field::Kind::kDouble:
        append_json(out, boost::json::value(it->double_value()));
        break;
      case Field::Kind::kAbsent:
        break;  // skipped above
    }
  }
  out += '}';
}

std::string Logger::format(LogLevel level, std::string_view evt, Fields fields) const {
  std::string out;
  format_into(out, level, evt, fields);
  return out;
}

std::string Logger::format(LogLevel level, std::string_view evt, boost::json::object fields) const {
  std::string out;
  format_into(out, level, evt, fields);
  return out;
}

// Formats into a per-thread buffer (its capacity stays) and hands the line on.
template <typename FieldList>
void Logger::write_line(LogLevel level, std::string_view evt, FieldList& fields) {
  if (!enabled(level)) return;
  thread_local std::string line;
  line.clear();
  format_into(line, level, evt, fields);
  line += '\n';
  emit(level, line);
}

void Logger::write(LogLevel level, std::string_view evt, boost::json::object fields) {
  write_line(level, evt, fields);
}

void Logger::write(LogLevel level, std::string_view evt, Fields fields) {
  write_line(level, evt, fields);
}

void Logger::emit(LogLevel level, std::string& line) {
  if (mode_ == Mode::kDirect || level >= LogLevel::kWarn) {
    std::lock_guard out(write_mutex_);
    if (mode_ == Mode::kBuffered) {
      std::lock_guard lock(mutex_);
      if (!pending_.empty()) {
        pending_ += line;  // keep the order: what waited goes first, in the same write(2)
        line.swap(pending_);
        pending_.clear();
        room_.notify_all();
      }
    }
    write_out(line);
    // `line` is a thread's own buffer: after taking the pending lines it holds their (possibly
    // large) buffer, which that thread need not keep.
    if (line.capacity() > kLineKeep) line = std::string();
    return;
  }
  std::unique_lock lock(mutex_);
  room_.wait(lock, [this] { return pending_.size() < kMaxPending || stopping_; });
  pending_ += line;
  if (writer_idle_) {
    writer_idle_ = false;  // one wake-up is enough
    lock.unlock();
    wake_.notify_one();
  }
}

void Logger::writer_loop() {
  // The two buffers trade places at every write: sized once for a busy 5 ms (about 300 lines),
  // so that neither grows through reallocations (and large-chunk malloc work) on each swap.
  std::string batch;
  batch.reserve(kBufferReserve);
  std::unique_lock lock(mutex_);
  pending_.reserve(kBufferReserve);
  while (true) {
    // A wake-up may find nothing: a warning wrote out what was pending in the meantime.
    while (!stopping_ && pending_.empty()) {
      writer_idle_ = true;
      wake_.wait(lock);
    }
    writer_idle_ = false;
    if (stopping_) return;  // the destructor flushes
    // Let a busy second's lines gather: one write(2) for many of them.
    wake_.wait_for(lock, kLinger, [this] { return stopping_; });
    lock.unlock();
    {
      std::lock_guard out(write_mutex_);
      {
        std::lock_guard again(mutex_);
        batch.swap(pending_);
        room_.notify_all();
      }
      write_out(batch);
      batch.clear();
      if (batch.capacity() > 4 * kBufferReserve) {
        batch = std::string();  // after a burst: give the memory back, keep the usual size
        batch.reserve(kBufferReserve);
      }
    }
    lock.lock();
  }
}

void Logger::flush() {
  std::lock_guard out(write_mutex_);
  std::string batch;
  {
    std::lock_guard lock(mutex_);
    batch.swap(pending_);
    room_.notify_all();
  }
  write_out(batch);
}

void Logger::write_out(const std::string& text) {
  const char* p = text.data();
  std::size_t left = text.size();
  while (left > 0) {
    const ssize_t n = ::write(fd_, p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // nowhere to log to: never take the service down for it
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

std::string redact_phone(std::string_view value) {
  std::string digits;
  for (char c : value) {
    if (c >= '0' && c <= '9') digits += c;
  }
  if (digits.size() < 4) return "***";
  return "***" + digits.substr(digits.size() - 4);
}

bool is_phone_field(std::string_view key) {
  static constexpr std::array<std::string_view, 10> kKeys = {
      "From",      "To",       "Caller", "Called", "ForwardedFrom",
      "CalledVia", "CallerId", "phone",  "from",   "to"};
  return std::find(kKeys.begin(), kKeys.end(), key) != kKeys.end();
}

void redact(boost::json::object& fields) {
  for (auto& [k, v] : fields)
    redact_value(v, is_phone_field(k));
}

}  // namespace partyline::log
