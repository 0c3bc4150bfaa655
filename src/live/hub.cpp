#include "live/hub.hpp"

#include <algorithm>

namespace partyline::live {

Hub::Hub(State state, Valid valid, HubOptions options)
    : state_(std::move(state)), valid_(std::move(valid)), options_(options) {
  thread_ = std::thread([this] { loop(); });
}

Hub::~Hub() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
  for (auto& w : watchers_)
    w.sink->close();
}

std::string Hub::event(const std::string& json) {
  return "event: room\ndata: " + json + "\n\n";
}

bool Hub::has_room_locked(const std::string& token) const {
  if (watchers_.size() >= options_.max_streams) return false;
  const auto mine = std::count_if(watchers_.begin(), watchers_.end(),
                                  [&](const Watcher& w) { return w.token == token; });
  return static_cast<std::size_t>(mine) < options_.max_per_session;
}

bool Hub::has_room_for(const std::string& token) const {
  std::lock_guard lock(mutex_);
  return has_room_locked(token);
}

bool Hub::subscribe(const std::string& room, std::shared_ptr<http::StreamSink> sink,
                    std::string token) {
  {
    std::lock_guard lock(mutex_);
    if (!has_room_locked(token)) return false;
    watchers_.push_back({room, std::move(sink), std::move(token)});
    dirty_.insert(room);
  }
  cv_.notify_all();
  return true;
}

void Hub::changed(const std::string& room) {
  {
    std::lock_guard lock(mutex_);
    dirty_.insert(room);
  }
  cv_.notify_all();
}

void Hub::changed_all() {
  {
    std::lock_guard lock(mutex_);
    all_dirty_ = true;
  }
  cv_.notify_all();
}

void Hub::close_session(const std::string& token) {
  std::vector<std::shared_ptr<http::StreamSink>> closing;
  {
    std::lock_guard lock(mutex_);
    for (auto it = watchers_.begin(); it != watchers_.end();) {
      if (it->token == token) {
        closing.push_back(std::move(it->sink));
        it = watchers_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& s : closing)
    s->close();
}

std::size_t Hub::streams() const {
  std::lock_guard lock(mutex_);
  return watchers_.size();
}

void Hub::loop() {
  auto next_beat = std::chrono::steady_clock::now() + options_.heartbeat;
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    cv_.wait_until(lock, next_beat, [this] { return stopping_ || all_dirty_ || !dirty_.empty(); });
    if (stopping_) return;
    const bool beat = std::chrono::steady_clock::now() >= next_beat;
    std::set<std::string> rooms;
    if (all_dirty_) {
      for (const auto& w : watchers_)
        rooms.insert(w.room);
    }
    rooms.merge(dirty_);
    dirty_.clear();
    all_dirty_ = false;
    std::vector<Watcher> watchers = watchers_;  // sinks are shared: sent to outside the lock
    lock.unlock();

    std::set<const http::StreamSink*> gone;
    // A session that ended (signed out, expired, its user removed) gets nothing more: asked
    // before each send, once per session and pass.
    std::map<std::string, bool> valid;
    const auto still_valid = [&](const std::string& token) {
      auto [it, added] = valid.emplace(token, false);
      if (added) it->second = valid_(token);
      return it->second;
    };
    for (const auto& room : rooms) {
      // Rooms nobody watches cost nothing.
      if (std::none_of(watchers.begin(), watchers.end(),
                       [&](const Watcher& w) { return w.room == room; }))
        continue;
      const auto json = state_(room);
      for (const auto& w : watchers) {
        if (w.room != room) continue;
        if (!json || !still_valid(w.token) || !w.sink->send(event(*json))) {
          gone.insert(w.sink.get());
        }
      }
    }
    if (beat) {
      for (const auto& w : watchers) {
        if (!still_valid(w.token) || !w.sink->send(": keep-alive\n\n")) {
          gone.insert(w.sink.get());
        }
      }
    }
    for (const auto& w : watchers) {
      if (!w.sink->open()) gone.insert(w.sink.get());
    }

    lock.lock();
    if (beat) next_beat = std::chrono::steady_clock::now() + options_.heartbeat;
    if (gone.empty()) continue;
    std::vector<std::shared_ptr<http::StreamSink>> closing;
    for (auto it = watchers_.begin(); it != watchers_.end();) {
      if (gone.count(it->sink.get()) != 0) {
        closing.push_back(std::move(it->sink));
        it = watchers_.erase(it);
      } else {
        ++it;
      }
    }
    lock.unlock();
    for (auto& s : closing)
      s->close();
    lock.lock();
  }
}

}  // namespace partyline::live
