#pragma once
// Counters for GET /metrics (Prometheus text format 0.0.4). Lock-free on the request path:
// routes are a fixed list and statuses an array, so a request costs a few atomic increments.
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace partyline::metrics {

class Metrics {
 public:
  static constexpr std::array<std::string_view, 11> kRoutes = {"/health",
                                                               "/voice",
                                                               "/consent",
                                                               "/check-pin",
                                                               "/conf-status",
                                                               "/silence",
                                                               "/recording-callback",
                                                               "/token",
                                                               "/metrics",
                                                               "other",
                                                               "rejected"};
  static constexpr std::array<double, 12> kBuckets = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                                      0.01,   0.025,   0.05,   0.1,   1.0,    15.0};

  // route: the request path (unknown paths count as "other").
  void observe_request(std::string_view route, int status, std::chrono::microseconds took);
  void signature_rejected() { signature_rejections_.fetch_add(1, std::memory_order_relaxed); }
  void wrong_pin() { wrong_pins_.fetch_add(1, std::memory_order_relaxed); }
  void pin_lockout() { pin_lockouts_.fetch_add(1, std::memory_order_relaxed); }
  void recording_queued() { queued_.fetch_add(1, std::memory_order_relaxed); }
  void recording_stored(std::uint64_t bytes, std::chrono::milliseconds took);
  void recording_attempt_failed() { failed_.fetch_add(1, std::memory_order_relaxed); }
  void recording_dead() { dead_.fetch_add(1, std::memory_order_relaxed); }

  // Values read at scrape time (from the stores).
  struct Gauges {
    std::size_t queue_depth = 0;
    double oldest_pending_age_seconds = 0;
    int participants_now = 0;
    // Per room of the set in force, in its order (room names are letters, digits, '-', '_').
    std::vector<std::pair<std::string, int>> room_participants{};
    std::uint64_t connections_refused = 0;  // from the HTTP server's counters
    std::uint64_t connections_evicted = 0;
  };
  std::string render(const Gauges& gauges) const;

 private:
  static constexpr int kMinStatus = 100, kMaxStatus = 599;
  static std::size_t route_index(std::string_view route);

  std::array<std::array<std::atomic<std::uint64_t>, kMaxStatus - kMinStatus + 1>, kRoutes.size()>
      requests_{};
  std::array<std::array<std::atomic<std::uint64_t>, kBuckets.size() + 1>, kRoutes.size()>
      latency_buckets_{};
  std::array<std::atomic<std::uint64_t>, kRoutes.size()> latency_sum_us_{};
  std::atomic<std::uint64_t> wrong_pins_{0}, pin_lockouts_{0};
  std::atomic<std::uint64_t> signature_rejections_{0}, queued_{0}, stored_{0}, failed_{0}, dead_{0};
  std::atomic<std::uint64_t> copy_bytes_{0}, copy_ms_sum_{0};
};

}  // namespace partyline::metrics
