#include "metrics/metrics.hpp"

#include <cstdio>

namespace partyline::metrics {

std::size_t Metrics::route_index(std::string_view route) {
  for (std::size_t i = 0; i < kRoutes.size(); ++i) {
    if (kRoutes[i] == route) return i;
  }
  return kRoutes.size() - 2;  // "other"
}

void Metrics::observe_request(std::string_view route, int status, std::chrono::microseconds took) {
  const std::size_t r = route_index(route);
  if (status >= kMinStatus && status <= kMaxStatus) {
    requests_[r][static_cast<std::size_t>(status - kMinStatus)].fetch_add(
        1, std::memory_order_relaxed);
  }
  const double seconds = static_cast<double>(took.count()) / 1e6;
  std::size_t b = 0;
  while (b < kBuckets.size() && seconds > kBuckets[b])
    ++b;
  latency_buckets_[r][b].fetch_add(1, std::memory_order_relaxed);
  latency_sum_us_[r].fetch_add(static_cast<std::uint64_t>(took.count()), std::memory_order_relaxed);
}

// The count goes last (release) and render() reads it first (acquire), before the bytes and
// seconds: a scrape that sees a recording counted also sees its bytes and time.
void Metrics::recording_stored(std::uint64_t bytes, std::chrono::milliseconds took) {
  copy_bytes_.fetch_add(bytes, std::memory_order_relaxed);
  copy_ms_sum_.fetch_add(static_cast<std::uint64_t>(took.count()), std::memory_order_relaxed);
  stored_.fetch_add(1, std::memory_order_release);
}

std::string Metrics::render(const Gauges& g) const {
  std::string out;
  char line[256];
  auto add = [&](const char* fmt, auto... args) {
    std::snprintf(line, sizeof line, fmt, args...);
    out += line;
  };
  out += "# HELP partyline_http_requests_total Webhook and API requests by route and status.\n";
  out += "# TYPE partyline_http_requests_total counter\n";
  for (std::size_t r = 0; r < kRoutes.size(); ++r) {
    for (int s = kMinStatus; s <= kMaxStatus; ++s) {
      const auto n =
          requests_[r][static_cast<std::size_t>(s - kMinStatus)].load(std::memory_order_relaxed);
      if (n == 0) continue;
      add("partyline_http_requests_total{route=\"%.*s\",status=\"%d\"} %llu\n",
          static_cast<int>(kRoutes[r].size()), kRoutes[r].data(), s,
          static_cast<unsigned long long>(n));
    }
  }
  out += "# HELP partyline_http_request_duration_seconds Time to answer a request.\n";
  out += "# TYPE partyline_http_request_duration_seconds histogram\n";
  for (std::size_t r = 0; r < kRoutes.size(); ++r) {
    std::uint64_t cumulative = 0;
    std::uint64_t total = 0;
    for (const auto& b : latency_buckets_[r])
      total += b.load(std::memory_order_relaxed);
    if (total == 0) continue;
    const int len = static_cast<int>(kRoutes[r].size());
    for (std::size_t b = 0; b < kBuckets.size(); ++b) {
      cumulative += latency_buckets_[r][b].load(std::memory_order_relaxed);
      add("partyline_http_request_duration_seconds_bucket{route=\"%.*s\",le=\"%g\"} %llu\n", len,
          kRoutes[r].data(), kBuckets[b], static_cast<unsigned long long>(cumulative));
    }
    add("partyline_http_request_duration_seconds_bucket{route=\"%.*s\",le=\"+Inf\"} %llu\n", len,
        kRoutes[r].data(), static_cast<unsigned long long>(total));
    add("partyline_http_request_duration_seconds_sum{route=\"%.*s\"} %.6f\n", len,
        kRoutes[r].data(),
        static_cast<double>(latency_sum_us_[r].load(std::memory_order_relaxed)) / 1e6);
    add("partyline_http_request_duration_seconds_count{route=\"%.*s\"} %llu\n", len,
        kRoutes[r].data(), static_cast<unsigned long long>(total));
  }
  auto counter = [&](const char* name, const char* help, std::uint64_t v) {
    add("# HELP %s %s\n# TYPE %s counter\n%s %llu\n", name, help, name, name,
        static_cast<unsigned long long>(v));
  };
  auto gauge = [&](const char* name, const char* help, double v) {
    add("# HELP %s %s\n# TYPE %s gauge\n%s %g\n", name, help, name, name, v);
  };
  counter("partyline_signature_rejections_total",
          "Webhooks refused for a missing or wrong X-Twilio-Signature.",
          signature_rejections_.load());
  counter("partyline_pin_wrong_total", "Wrong PINs entered (each one counts, re-prompted or not).",
          wrong_pins_.load());
  counter("partyline_pin_lockouts_total",
          "Caller numbers locked out for entering too many wrong PINs.", pin_lockouts_.load());
  counter("partyline_http_connections_refused_total",
          "Connections closed at accept: the connection limit (no idle one to close) or the "
          "per-address limit.",
          g.connections_refused);
  counter("partyline_http_connections_evicted_total",
          "Idle or slow connections closed to make room for a new one at the connection limit.",
          g.connections_evicted);
  counter("partyline_recordings_queued_total", "Recording jobs created.", queued_.load());
  counter("partyline_recordings_stored_total", "Recordings stored (or found already stored).",
          stored_.load(std::memory_order_acquire));
  counter("partyline_recordings_failed_total", "Failed copy attempts (each is retried).",
          failed_.load());
  counter("partyline_recordings_dead_total", "Recordings dead-lettered after RECORDING_MAX_AGE.",
          dead_.load());
  counter("partyline_recording_copy_bytes_total", "Bytes of recordings copied.",
          copy_bytes_.load());
  add("# HELP partyline_recording_copy_seconds_total Time spent copying stored recordings.\n"
      "# TYPE partyline_recording_copy_seconds_total "
      "counter\npartyline_recording_copy_seconds_total %.3f\n",
      static_cast<double>(copy_ms_sum_.load()) / 1000.0);
  gauge("partyline_recordings_queue_depth", "Recording jobs not stored yet.",
        static_cast<double>(g.queue_depth));
  gauge("partyline_recordings_oldest_pending_age_seconds", "Age of the oldest job not stored yet.",
        g.oldest_pending_age_seconds);
  gauge("partyline_conference_participants", "Participants in conferences now.",
        static_cast<double>(g.participants_now));
  if (!g.room_participants.empty()) {
    out +=
        "# HELP partyline_room_participants Participants in each room's conference now.\n"
        "# TYPE partyline_room_participants gauge\n";
    for (const auto& [room, n] : g.room_participants)
      add("partyline_room_participants{room=\"%s\"} %d\n", room.c_str(), n);
  }
  return out;
}

}  // namespace partyline::metrics
