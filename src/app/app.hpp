#pragma once
// The application: every route, the webhook guard (content type, form, signature) and one log
// line per request. No sockets here: the server hands it a Request and sends what it answers.
#include <string>
#include <variant>

#include "config/config.hpp"
#include "http/form.hpp"
#include "http/message.hpp"
#include "http/router.hpp"
#include "log/logger.hpp"
#include "recordings/pipeline.hpp"
#include "util/clock.hpp"

namespace partyline::app {

// Values known only once the process runs: in local mode the account and token come from
// DATA_DIR and the public URL from the bound port.
struct Runtime {
  std::string public_base_url;
  std::string account_sid;
  config::Secret auth_token;
};

class App {
 public:
  // pipeline: where recording callbacks go; without one (tests of the call flow) a valid
  // completed callback is answered 200 without being copied.
  App(const config::Config& config, Runtime runtime, log::Logger& log, util::Clock clock,
      util::RandomBytes random, recordings::Pipeline* pipeline = nullptr);

  void handle(const http::Request& request, http::Respond respond) const;

  // Webhook bodies larger than this are refused with 413.
  static constexpr std::size_t kMaxWebhookBody = 64 * 1024;

 private:
  using WebhookHandler = std::function<http::Response(const http::Request&, const http::Params&)>;
  using AsyncWebhookHandler = std::function<void(const http::Params&, http::Respond)>;
  void add_webhook(const std::string& path, WebhookHandler handler);
  void add_async_webhook(const std::string& path, AsyncWebhookHandler handler);
  // The form's parameters, or the 4xx answer when the request is not a genuine Twilio webhook.
  std::variant<http::Params, http::Response> guard(const http::Request& request) const;

  http::Response voice(const http::Params& params) const;
  http::Response consent(const http::Params& params) const;
  http::Response check_pin(const http::Params& params) const;
  http::Response conf_status(const http::Params& params) const;
  void recording_callback(const http::Params& params, http::Respond respond) const;
  http::Response token(const http::Request& request) const;

  const config::Config& config_;
  Runtime runtime_;
  log::Logger& log_;
  util::Clock clock_;
  util::RandomBytes random_;
  recordings::Pipeline* pipeline_;
  http::Router router_;
};

}  // namespace partyline::app
