#include "tools/rooms.hpp"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>

#include "db/calls.hpp"
#include "db/room_locks.hpp"
#include "rooms/rooms.hpp"
#include "rooms/status.hpp"

namespace partyline::tools {
namespace {

constexpr int kExitConfig = 2;

std::string joined(const std::vector<std::string>& items) {
  if (items.empty()) return "-";
  std::string out;
  for (const auto& i : items)
    out += (out.empty() ? "" : ",") + i;
  return out;
}

void print_list(const std::vector<rooms::RoomStatus>& list) {
  std::size_t name_w = 4, numbers_w = 7;
  for (const auto& r : list) {
    name_w = std::max(name_w, r.name.size());
    numbers_w = std::max(numbers_w, joined(r.numbers).size());
  }
  const int nw = static_cast<int>(name_w), mw = static_cast<int>(numbers_w);
  std::printf("%-*s  %-*s  %5s  %7s  %8s  %12s  %s\n", nw, "NAME", mw, "NUMBERS", "HOSTS",
              "SPEAKERS", "PRODUCERS", "PARTICIPANTS", "LOCKED");
  for (const auto& r : list) {
    std::printf("%-*s  %-*s  %5zu  %7zu  %8zu  %12d  %s\n", nw, r.name.c_str(), mw,
                joined(r.numbers).c_str(), r.host_pins, r.speaker_pins, r.producer_pins,
                r.participants, r.locked ? "yes" : "no");
  }
}

}  // namespace

int rooms(const config::Config& config, const std::string& action, const std::string& name) {
  std::optional<rooms::Rooms> set;
  try {
    set = rooms::load(config);
  } catch (const config::ConfigError& e) {
    std::fprintf(stderr, "partyline rooms: configuration error: %s\n", e.what());
    return kExitConfig;
  }
  try {
    std::filesystem::create_directories(config.data_dir);
    const auto file = config.data_dir / "partyline.db";
    db::RoomLocks locks(config.data_dir / "rooms.db");
    if (action == "list") {
      db::CallStore calls(file);
      print_list(rooms::status(*set, calls, locks));
      return 0;
    }
    const bool lock = action == "lock";
    const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    const auto changed = rooms::set_locked(*set, locks, name, lock, now);
    if (!changed) {
      std::fprintf(stderr, "partyline rooms %s: %s\n", action.c_str(),
                   changed.error().reason.c_str());
      return 1;
    }
    std::printf("%s %s%s\n", name.c_str(), *changed ? "" : "was already ",
                lock ? "locked" : "unlocked");
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "partyline rooms: %s\n", e.what());
    return 1;
  }
}

}  // namespace partyline::tools
