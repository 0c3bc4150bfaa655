#pragma once
// The console's live streams (Server-Sent Events): who watches which room, and a thread that sends
// each of them the room's state after every change, plus a comment line every heartbeat so that
// proxies keep the connection and a dead one is found. A room's state is made once per change,
// however many consoles watch it; a change arriving while one is being sent is coalesced.
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "http/message.hpp"

namespace partyline::live {

struct HubOptions {
  std::chrono::milliseconds heartbeat{std::chrono::seconds(15)};
  std::size_t max_streams = 64;      // all rooms together
  std::size_t max_per_session = 16;  // so that one signed-in browser cannot take them all
};

class Hub {
 public:
  // state(room): the JSON of the room as the API shows it, or nothing when there is no such room
  // any more. valid(token): whether the session a stream was opened with still holds (asked at
  // each heartbeat; a stream whose session ended is closed).
  using State = std::function<std::optional<std::string>(const std::string& room)>;
  using Valid = std::function<bool(const std::string& token)>;

  Hub(State state, Valid valid, HubOptions options = {});
  ~Hub();  // closes every stream
  Hub(const Hub&) = delete;
  Hub& operator=(const Hub&) = delete;

  // The stream gets the room's state at once, then after every change. False (nothing kept) when
  // max_streams are open, or max_per_session of this session's.
  bool subscribe(const std::string& room, std::shared_ptr<http::StreamSink> sink,
                 std::string token);
  // Whether subscribe would take one more stream of this session now.
  bool has_room_for(const std::string& token) const;
  // From any thread: the room's watchers get its new state.
  void changed(const std::string& room);
  void changed_all();
  // A session signed out: its streams close now.
  void close_session(const std::string& token);
  std::size_t streams() const;

  // "event: room\ndata: <json>\n\n"; JSON has no raw newline, so one data line.
  static std::string event(const std::string& json);

 private:
  struct Watcher {
    std::string room;
    std::shared_ptr<http::StreamSink> sink;
    std::string token;
  };
  void loop();
  bool has_room_locked(const std::string& token) const;  // under mutex_
  State state_;
  Valid valid_;
  HubOptions options_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<Watcher> watchers_;
  std::set<std::string> dirty_;
  bool all_dirty_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace partyline::live
