#include "tools/simulate.hpp"

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdio>
#include <thread>

#include "app/local_credentials.hpp"
#include "db/jobs.hpp"
#include "http/form.hpp"
#include "net/http_client.hpp"
#include "twilio/signature.hpp"
#include "util/backoff.hpp"
#include "util/crypto.hpp"

namespace partyline::tools {
namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

std::string sid(const char* prefix) {
  return prefix + util::hex_lower(util::random_bytes(16));
}

// A few hundred KiB that start like an MP3 file (ID3 tag), so players recognise the type.
std::string synthetic_recording() {
  std::string body = "ID3\x04";
  body.resize(10, '\0');
  body += util::random_bytes(300 * 1024);
  return body;
}

// Serves one recording at `path` to requests carrying `authorization`, until stopped.
class MediaServer {
 public:
  MediaServer(std::string path, std::string authorization, std::string body)
      : path_(std::move(path)),
        authorization_(std::move(authorization)),
        body_(std::move(body)),
        acceptor_(ioc_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    thread_ = std::thread([this] { serve(); });
  }
  ~MediaServer() {
    stop_ = true;
    // A blocking accept() is not woken by close() from another thread: connect to it instead.
    boost::system::error_code ec;
    tcp::socket wake(ioc_);
    wake.connect(acceptor_.local_endpoint(), ec);
    thread_.join();
  }
  unsigned short port() const { return acceptor_.local_endpoint().port(); }
  int served() const { return served_; }

 private:
  void serve() {
    while (!stop_) {
      boost::system::error_code ec;
      tcp::socket socket(ioc_);
      acceptor_.accept(socket, ec);
      if (ec || stop_) return;
      beast::flat_buffer buffer;
      bhttp::request<bhttp::string_body> req;
      bhttp::read(socket, buffer, req, ec);
      if (ec) continue;
      bhttp::response<bhttp::string_body> res;
      res.version(11);
      if (req.target() != path_) {
        res.result(bhttp::status::not_found);
      } else if (req[bhttp::field::authorization] != authorization_) {
        res.result(bhttp::status::unauthorized);
      } else {
        res.result(bhttp::status::ok);
        res.set(bhttp::field::content_type, "audio/mpeg");
        res.body() = body_;
        ++served_;
      }
      res.keep_alive(false);
      res.prepare_payload();
      bhttp::write(socket, res, ec);
      socket.shutdown(tcp::socket::shutdown_both, ec);
    }
  }

  std::string path_, authorization_, body_;
  asio::io_context ioc_;
  tcp::acceptor acceptor_;
  std::atomic<bool> stop_{false};
  std::atomic<int> served_{0};
  std::thread thread_;
};

struct Poster {
  std::string base, token;

  // POSTs a signed form to the service; returns the HTTP status (0: unreachable).
  long post(const std::string& path, const http::Params& params) const {
    net::HttpRequest request;
    request.method = "POST";
    request.url = base + path;
    request.body = http::form_encode(params);
    request.headers = {
        "X-Twilio-Signature: " + twilio::compute_signature(token, request.url, params),
        "Content-Type: application/x-www-form-urlencoded"};
    request.allow_http = true;  // the local service this tool drives
    request.total_timeout = std::chrono::seconds(20);
    const auto response = net::perform(request);
    return response ? response->status : 0;
  }
};

// The service may be restarting: a request it does not answer (status 0) or answers 503 is sent
// again after a pause that doubles from 100 ms to 2 s, for at most `patience` in all. Sending a
// webhook twice is what Twilio does too: the service ignores the repeat.
constexpr auto kPatience = std::chrono::seconds(10);

util::Backoff patient_backoff() {
  return util::Backoff(std::chrono::milliseconds(100), std::chrono::seconds(2));
}

// Sleeps the next pause of `backoff` unless that would pass `deadline`; false: give up.
bool pause_before_retry(util::Backoff& backoff, std::chrono::steady_clock::time_point deadline,
                        const std::string& path, long status) {
  const auto delay = backoff.failed();
  if (std::chrono::steady_clock::now() + delay > deadline) return false;
  std::printf("  %-34s POST %-20s -> %ld; again in %lld ms\n", "(service not answering)",
              path.c_str(), status, static_cast<long long>(delay.count()));
  std::this_thread::sleep_for(delay);
  return true;
}

long post_patiently(const Poster& poster, const std::string& path, const http::Params& params) {
  auto backoff = patient_backoff();
  const auto deadline = std::chrono::steady_clock::now() + kPatience;
  while (true) {
    const long status = poster.post(path, params);
    if (status != 0 && status != 503) return status;
    if (!pause_before_retry(backoff, deadline, path, status)) return status;
  }
}

}  // namespace

int simulate(const config::Config& config) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  app::LocalCredentials creds;
  try {
    creds = app::read_local_credentials(config.data_dir);
  } catch (const std::exception& e) {
    std::fprintf(
        stderr,
        "simulate: %s\nStart the service first (./scripts/run.sh) with the same DATA_DIR.\n",
        e.what());
    return 1;
  }
  if (!config.local_mode) {
    std::fprintf(stderr, "simulate: works against a local-mode service (no TWILIO_* variables)\n");
    return 2;
  }
  const Poster poster{creds.public_base_url, creds.auth_token};
  if (post_patiently(poster, "/silence", {{"AccountSid", creds.account_sid}}) != 200) {
    std::fprintf(stderr, "simulate: no Partyline service answers at %s\n",
                 creds.public_base_url.c_str());
    return 1;
  }
  std::printf("simulate: service at %s (local mode)\n", creds.public_base_url.c_str());

  const std::string conference = sid("CF");
  const std::string recording = sid("RE");
  const std::string callers[] = {sid("CA"), sid("CA")};
  const char* numbers[] = {"+15550101234", "+15550105678"};
  auto step = [&](const char* what, const std::string& path, const http::Params& params,
                  long want) {
    const long status = post_patiently(poster, path, params);
    std::printf("  %-34s POST %-20s -> %ld\n", what, path.c_str(), status);
    return status == want;
  };

  for (int i = 0; i < 2; ++i) {
    const http::Params call{{"AccountSid", creds.account_sid},
                            {"CallSid", callers[i]},
                            {"From", numbers[i]},
                            {"To", "+18005550100"},
                            {"CallStatus", "in-progress"},
                            {"Direction", "inbound"}};
    if (!step(i == 0 ? "caller 1 dials in" : "caller 2 dials in", "/voice", call, 200)) return 1;
    if (config.consent_mode == config::ConsentMode::kPress1) {
      auto c = call;
      c.emplace_back("Digits", "1");
      if (!step("presses 1 to consent", "/consent", c, 200)) return 1;
    }
    if (config.pin_gate()) {
      // Caller 1 joins as producer and caller 2 as speaker, where those PINs exist.
      const auto& first = config.pin_producer.empty() ? config.pin_speaker : config.pin_producer;
      const auto& second = config.pin_speaker.empty() ? config.pin_producer : config.pin_speaker;
      auto c = call;
      c.emplace_back("Digits", (i == 0 ? first : second).reveal());
      if (!step("enters a PIN", "/check-pin", c, 200)) return 1;
    }
  }
  int seq = 0;
  auto event = [&](const char* name, const std::string& call) {
    http::Params p{{"AccountSid", creds.account_sid},
                   {"ConferenceSid", conference},
                   {"FriendlyName", "partyline"},
                   {"StatusCallbackEvent", name},
                   {"SequenceNumber", std::to_string(++seq)}};
    if (!call.empty()) p.emplace_back("CallSid", call);
    return step(name, "/conf-status", p, 204);
  };
  if (!step("waiting music (silence)", "/silence", {{"AccountSid", creds.account_sid}}, 200))
    return 1;
  if (!event("participant-join", callers[0]) || !event("conference-start", "") ||
      !event("participant-join", callers[1]) || !event("participant-leave", callers[1]) ||
      !event("participant-leave", callers[0]) || !event("conference-end", "")) {
    return 1;
  }

  const std::string media_path = "/2010-04-01/Accounts/" + creds.account_sid + "/Recordings/" +
                                 recording + "." + config.recording_format;
  const std::string body = synthetic_recording();
  MediaServer media(media_path, "Basic " + util::base64(creds.account_sid + ":" + creds.auth_token),
                    body);
  const std::string url = "http://127.0.0.1:" + std::to_string(media.port()) +
                          "/2010-04-01/Accounts/" + creds.account_sid + "/Recordings/" + recording;
  const http::Params callback{{"AccountSid", creds.account_sid}, {"ConferenceSid", conference},
                              {"RecordingSid", recording},       {"RecordingUrl", url},
                              {"RecordingStatus", "completed"},  {"RecordingDuration", "42"},
                              {"RecordingChannels", "1"},        {"RecordingSource", "Conference"}};
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  long status = 0;
  auto backoff = patient_backoff();
  while (true) {
    status = poster.post("/recording-callback", callback);
    std::printf("  %-34s POST %-20s -> %ld\n", "recording ready", "/recording-callback", status);
    if (status == 200 || (status != 503 && status != 0)) break;
    if (!pause_before_retry(backoff, deadline, "/recording-callback", status)) break;
  }
  if (status != 200) {
    std::fprintf(stderr,
                 "simulate: the recording was not stored (last answer %ld); see the service log\n",
                 status);
    return 1;
  }
  std::string location;
  try {
    db::JobStore jobs(config.data_dir / "partyline.db");
    if (auto job = jobs.get(recording)) location = job->location;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "simulate: %s\n", e.what());
  }
  std::printf("simulate: recording %s (%zu bytes) stored at %s\n", recording.c_str(), body.size(),
              location.c_str());
  return location.empty() ? 1 : 0;
}

}  // namespace partyline::tools
