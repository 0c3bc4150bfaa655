// partyline: command line and wiring. Everything it calls is a component under src/.

#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <optional>
#include <thread>

#include "app/app.hpp"
#include "app/backend.hpp"
#include "app/local_credentials.hpp"
#include "config/config.hpp"
#include "config/env_file.hpp"
#include "http/server.hpp"
#include "log/logger.hpp"
#include "recordings/naming.hpp"
#include "recordings/pipeline.hpp"
#include "db/jobs.hpp"
#include "tools/check.hpp"
#include "tools/simulate.hpp"

namespace {

using namespace partyline;

constexpr int kExitConfig = 2;

const char* consent_name(config::ConsentMode m) {
  return m == config::ConsentMode::kPress1 ? "press1" : "notice";
}

boost::json::object report_fields(const recordings::ReconcileReport& r) {
  return {{"ok", r.ok},         {"listed", r.listed}, {"candidates", r.candidates},
          {"queued", r.queued}, {"known", r.known},   {"error", r.error}};
}

// Every RECONCILE_INTERVAL, asks Twilio for the recordings of the last 72 h and queues any
// completed conference recording whose callback never arrived.
class Reconciler {
 public:
  Reconciler(const config::Config& config, app::Backend& backend, log::Logger& log)
      : backend_(backend), log_(log), interval_(config.reconcile_interval) {
    if (config.local_mode || interval_.count() == 0) return;
    thread_ = std::thread([this] { loop(); });
  }
  ~Reconciler() { stop(); }
  void stop() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void loop() {
    std::unique_lock lock(mutex_);
    while (!cv_.wait_for(lock, interval_, [this] { return stopping_; })) {
      lock.unlock();
      const auto report =
          backend_.reconcile(std::chrono::system_clock::now() - std::chrono::hours(72));
      log_.write(report.ok ? log::LogLevel::kInfo : log::LogLevel::kWarn, "reconcile.done",
                 report_fields(report));
      lock.lock();
    }
  }
  app::Backend& backend_;
  log::Logger& log_;
  std::chrono::milliseconds interval_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

// The account and token the stores and clients use (local mode: DATA_DIR's).
std::optional<app::Runtime> command_runtime(const config::Config& config) {
  app::Runtime runtime{config.public_base_url, config.twilio_account_sid, config.twilio_auth_token};
  if (!config.local_mode) return runtime;
  try {
    const auto local = app::read_local_credentials(config.data_dir);
    runtime.account_sid = local.account_sid;
    runtime.auth_token = config::Secret(local.auth_token);
    return runtime;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "partyline: %s (has the service run with this DATA_DIR?)\n", e.what());
    return std::nullopt;
  }
}

int reconcile_command(const config::Config& config, const std::string& since_text) {
  const auto since = config::parse_duration(since_text);
  if (!since) {
    std::fprintf(stderr, "partyline reconcile: --since expects a duration such as 72h or 7d\n");
    return kExitConfig;
  }
  auto runtime = command_runtime(config);
  if (!runtime) return 1;
  log::Logger log(1, config.log_level, util::system_clock());
  try {
    app::Backend backend(config, *runtime, log);
    const auto report = backend.reconcile(std::chrono::system_clock::now() - *since);
    log.write(report.ok ? log::LogLevel::kInfo : log::LogLevel::kError, "reconcile.done",
              report_fields(report));
    return report.ok ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "partyline reconcile: %s\n", e.what());
    return 1;
  }
}

std::string when(std::int64_t ms) {
  return ms == 0 ? "-" : recordings::iso8601(recordings::TimePoint(std::chrono::milliseconds(ms)));
}

int recordings_command(const config::Config& config, const std::string& action,
                       const std::string& sid) {
  try {
    db::JobStore jobs(config.data_dir / "partyline.db");
    if (action == "list") {
      std::printf("%-34s  %-7s  %8s  %-20s  %s\n", "RECORDING", "STATE", "ATTEMPTS", "FIRST SEEN",
                  "KEY / LAST ERROR");
      for (const auto& j : jobs.list(1000)) {
        std::printf("%-34s  %-7s  %8d  %-20s  %s\n", j.recording_sid.c_str(),
                    db::state_name(j.state), j.attempts, when(j.first_seen_ms).c_str(),
                    (j.state == db::JobState::kStored
                         ? j.key
                         : j.key + (j.last_error.empty() ? "" : "  (" + j.last_error + ")"))
                        .c_str());
      }
      return 0;
    }
    const auto job = jobs.get(sid);
    if (!job) {
      std::fprintf(stderr, "partyline recordings: no recording %s\n", sid.c_str());
      return 1;
    }
    if (action == "show") {
      std::printf(
          "recording      %s\nstate          %s\nkey            %s\nlocation       %s\n"
          "conference     %s\nduration       %s s\nstarted        %s\nfirst seen     %s\n"
          "stored         %s\nattempts       %d\nnext attempt   %s\nbytes          %llu\n"
          "sha256         %s\nlast error     %s\n",
          job->recording_sid.c_str(), db::state_name(job->state), job->key.c_str(),
          job->location.empty() ? "-" : job->location.c_str(),
          job->conference_sid.empty() ? "-" : job->conference_sid.c_str(), job->duration.c_str(),
          job->start_time.c_str(), when(job->first_seen_ms).c_str(), when(job->stored_ms).c_str(),
          job->attempts,
          job->state == db::JobState::kPending ? when(job->next_attempt_ms).c_str() : "-",
          static_cast<unsigned long long>(job->bytes),
          job->sha256.empty() ? "-" : job->sha256.c_str(),
          job->last_error.empty() ? "-" : job->last_error.c_str());
      return 0;
    }
    // retry: due now; a running service picks it up within a minute (create-only writes make a
    // retry of a stored recording harmless).
    const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    jobs.requeue(sid, now);
    std::printf("recording %s queued again (was %s)\n", sid.c_str(), db::state_name(job->state));
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "partyline recordings: %s\n", e.what());
    return 1;
  }
}

int serve(const config::Config& config) {
  log::Logger log(1, config.log_level, util::system_clock(), log::Logger::Mode::kBuffered);

  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);
  if (ec || !std::filesystem::is_directory(config.data_dir)) {
    std::fprintf(stderr, "partyline: DATA_DIR: cannot create %s: %s\n", config.data_dir.c_str(),
                 ec.message().c_str());
    return kExitConfig;
  }

  app::Runtime runtime{config.public_base_url, config.twilio_account_sid, config.twilio_auth_token};
  app::LocalCredentials local;
  if (config.local_mode) {
    try {
      local = app::load_or_create_local_credentials(config.data_dir);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "partyline: DATA_DIR: %s\n", e.what());
      return kExitConfig;
    }
    runtime.account_sid = local.account_sid;
    runtime.auth_token = config::Secret(local.auth_token);
  }

  // Requests refused before the application saw them are counted where it counts the rest.
  metrics::Metrics* request_metrics = nullptr;
  http::Server server({.host = config.host,
                       .port = config.port,
                       .threads = config.http_threads,
                       .max_connections = config.max_connections,
                       .max_connections_per_address = config.max_connections_per_ip,
                       .body_limit = app::App::kMaxWebhookBody,
                       .request_timeout = config.request_timeout,
                       .on_rejected =
                           [&request_metrics](int status) {
                             if (request_metrics) {
                               request_metrics->observe_request("rejected", status, {});
                             }
                           }},
                      log);
  // GET /metrics on a listener of its own (loopback by default): one thread, a few connections.
  std::optional<http::Server> metrics_server;
  std::uint16_t metrics_port = 0;
  if (config.metrics_port) {
    metrics_server.emplace(http::ServerOptions{.host = config.metrics_host,
                                               .port = *config.metrics_port,
                                               .threads = 1,
                                               .max_connections = 16,
                                               .request_timeout = config.request_timeout},
                           log);
  }
  std::uint16_t port = 0;
  try {
    port = server.listen();
  } catch (const std::exception& e) {
    log.error("http.listen_error",
              {{"host", config.host}, {"port", config.port}, {"reason", e.what()}});
    std::fprintf(stderr, "partyline: PORT: cannot listen on %s:%u: %s\n", config.host.c_str(),
                 config.port, e.what());
    return 1;
  }
  try {
    if (metrics_server) metrics_port = metrics_server->listen();
  } catch (const std::exception& e) {
    log.error(
        "metrics.listen_error",
        {{"host", config.metrics_host}, {"port", *config.metrics_port}, {"reason", e.what()}});
    std::fprintf(stderr, "partyline: METRICS_LISTEN: cannot listen on %s:%u: %s\n",
                 config.metrics_host.c_str(), *config.metrics_port, e.what());
    return 1;
  }
  if (runtime.public_base_url.empty()) {
    const bool any = config.host == "0.0.0.0" || config.host == "::";
    const std::string host =
        any ? "127.0.0.1"
            : (config.host.find(':') != std::string::npos ? "[" + config.host + "]" : config.host);
    runtime.public_base_url = "http://" + host + ":" + std::to_string(port);
  }
  if (config.local_mode) {
    local.public_base_url = runtime.public_base_url;
    try {
      app::save_local_credentials(config.data_dir, local);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "partyline: DATA_DIR: %s\n", e.what());
      return kExitConfig;
    }
  }

  log.info("service.start", {{"version", PARTYLINE_VERSION},
                             {"local_mode", config.local_mode},
                             {"public_base_url", runtime.public_base_url},
                             {"pin_gate", config.pin_gate()},
                             {"consent_mode", consent_name(config.consent_mode)},
                             {"token_endpoint", config.token_enabled()},
                             {"storage", config.s3_bucket.empty() ? "local" : "s3"},
                             {"data_dir", config.data_dir.string()},
                             {"threads", config.http_threads}});
  if (config.local_mode) {
    boost::json::array missing;
    for (const auto& gap : config.production_gaps)
      missing.emplace_back(gap);
    log.warn("config.local_mode",
             {{"message", "running on embedded defaults; webhooks are signed with the token in " +
                              (config.data_dir / app::kLocalCredentialsFile).string()},
              {"missing_for_production", std::move(missing)}});
  } else if (!config.production_gaps.empty()) {
    boost::json::array missing;
    for (const auto& gap : config.production_gaps)
      missing.emplace_back(gap);
    log.warn("config.incomplete", {{"missing_for_production", std::move(missing)}});
  }
  // Every connection is a descriptor: take what the hard limit allows, and say so when that is
  // less than HTTP_MAX_CONNECTIONS needs (the listener would then fail to accept, not make room).
  if (rlimit fds{}; ::getrlimit(RLIMIT_NOFILE, &fds) == 0) {
    if (fds.rlim_cur < fds.rlim_max) {
      fds.rlim_cur = fds.rlim_max;
      ::setrlimit(RLIMIT_NOFILE, &fds);
      ::getrlimit(RLIMIT_NOFILE, &fds);
    }
    if (fds.rlim_cur != RLIM_INFINITY && fds.rlim_cur < config.max_connections + 64) {
      log.warn("config.fd_limit",
               {{"message",
                 "the open-file limit is below HTTP_MAX_CONNECTIONS + 64: lower "
                 "HTTP_MAX_CONNECTIONS or raise the limit (LimitNOFILE in the unit)"},
                {"limit", static_cast<std::uint64_t>(fds.rlim_cur)},
                {"max_connections", config.max_connections}});
    }
  }
  if (!config.validate_signature) {
    log.warn("config.signature_validation_disabled",
             {{"message",
               "TWILIO_VALIDATE_SIGNATURE=false: ANYONE who can reach this port can drive "
               "the webhooks. Never run like this in production."}});
  }

  std::unique_ptr<app::Backend> backend;
  try {
    backend = std::make_unique<app::Backend>(config, runtime, log);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "partyline: DATA_DIR: %s\n", e.what());
    return kExitConfig;
  }
  backend->pipeline->start();
  Reconciler reconciler(config, *backend, log);

  app::Services services = backend->services();
  services.server = &server.counters();
  request_metrics = services.metrics;
  app::App application(config, runtime, log, util::system_clock(), util::system_random(), services);
  std::thread metrics_thread;
  if (metrics_server) {
    log.info("metrics.listen", {{"host", config.metrics_host}, {"port", metrics_port}});
    metrics_thread = std::thread([&] {
      metrics_server->run([&application](const http::Request& r, http::Respond respond) {
        application.handle_metrics_listener(r, std::move(respond));
      });
    });
  }
  log.info("http.listen", {{"host", config.host}, {"port", port}});
  server.run([&application](const http::Request& r, http::Respond respond) {
    application.handle(r, std::move(respond));
  });
  if (metrics_server) {
    metrics_server->stop();
    metrics_thread.join();
  }
  reconciler.stop();
  backend->pipeline->stop();
  log.info("service.stop");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"Partyline: a recorded party line on Twilio, copied to S3 exactly once."};
  cli.set_version_flag("--version", std::string("partyline ") + PARTYLINE_VERSION);
  std::string env_file;
  cli.add_option("--env-file", env_file,
                 "Read variables from this .env file (the environment wins)");
  cli.require_subcommand(0, 1);
  cli.add_subcommand("serve", "Run the service (the default)");
  auto* simulate_cmd = cli.add_subcommand(
      "simulate", "Play Twilio against a running local-mode service: two callers, a recording");
  auto* check_cmd = cli.add_subcommand(
      "check", "Test the configuration for real: Twilio, storage, DATA_DIR, PUBLIC_BASE_URL");
  auto* reconcile_cmd = cli.add_subcommand(
      "reconcile", "Queue every completed conference recording Twilio has that is not stored yet");
  std::string since = "72h";
  reconcile_cmd->add_option("--since", since, "How far back to look (e.g. 72h, 7d)");
  auto* recordings_cmd =
      cli.add_subcommand("recordings", "The recording jobs: list, show SID, retry SID");
  recordings_cmd->require_subcommand(1);
  std::string recording_sid;
  recordings_cmd->add_subcommand("list", "Every recording job, newest first");
  recordings_cmd->add_subcommand("show", "One job in full")
      ->add_option("SID", recording_sid)
      ->required();
  recordings_cmd->add_subcommand("retry", "Queue a job again now")
      ->add_option("SID", recording_sid)
      ->required();
  CLI11_PARSE(cli, argc, argv);

  config::Config config;
  try {
    config::Env env = config::process_env();
    if (!env_file.empty()) env = config::merge_env_file(env, env_file);
    config = config::load(env);
  } catch (const config::ConfigError& e) {
    std::fprintf(stderr, "partyline: configuration error: %s\n", e.what());
    return kExitConfig;
  }
  if (simulate_cmd->parsed()) return tools::simulate(config);
  if (check_cmd->parsed()) return tools::check(config);
  if (reconcile_cmd->parsed()) return reconcile_command(config, since);
  if (recordings_cmd->parsed()) {
    return recordings_command(config, recordings_cmd->get_subcommands().front()->get_name(),
                              recording_sid);
  }
  return serve(config);
}
