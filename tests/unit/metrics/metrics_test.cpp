#include <gtest/gtest.h>

#include "metrics/metrics.hpp"

namespace partyline::metrics {
namespace {

TEST(Metrics, CountsRequestsByRouteAndStatus) {
  Metrics m;
  m.observe_request("/voice", 200, std::chrono::microseconds(300));
  m.observe_request("/voice", 200, std::chrono::microseconds(3000));
  m.observe_request("/voice", 403, std::chrono::microseconds(50));
  m.observe_request("/secret-admin", 404, std::chrono::microseconds(10));
  m.signature_rejected();
  m.recording_queued();
  m.recording_stored(1000, std::chrono::milliseconds(1500));
  const auto text = m.render({3, 12.5, 2});
  EXPECT_NE(text.find("partyline_http_requests_total{route=\"/voice\",status=\"200\"} 2\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("partyline_http_requests_total{route=\"/voice\",status=\"403\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("route=\"other\",status=\"404\"} 1\n"), std::string::npos);
  EXPECT_EQ(text.find("secret-admin"), std::string::npos);  // unknown paths never become labels
  EXPECT_NE(
      text.find(
          "partyline_http_request_duration_seconds_bucket{route=\"/voice\",le=\"0.0005\"} 2\n"),
      std::string::npos);
  EXPECT_NE(
      text.find("partyline_http_request_duration_seconds_bucket{route=\"/voice\",le=\"+Inf\"} 3\n"),
      std::string::npos);
  EXPECT_NE(text.find("partyline_signature_rejections_total 1\n"), std::string::npos);
  EXPECT_NE(text.find("partyline_recordings_stored_total 1\n"), std::string::npos);
  EXPECT_NE(text.find("partyline_recording_copy_bytes_total 1000\n"), std::string::npos);
  EXPECT_NE(text.find("partyline_recordings_queue_depth 3\n"), std::string::npos);
  EXPECT_NE(text.find("partyline_recordings_oldest_pending_age_seconds 12.5\n"), std::string::npos);
  EXPECT_NE(text.find("partyline_conference_participants 2\n"), std::string::npos);
}

}  // namespace
}  // namespace partyline::metrics
