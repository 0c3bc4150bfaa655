#include "app/service.hpp"

#include <pthread.h>
#include <sys/resource.h>

#include <atomic>
#include <csignal>

#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "app/app.hpp"
#include "app/backend.hpp"
#include "app/library.hpp"
#include "app/local_credentials.hpp"
#include "app/runtime.hpp"
#include "auth/password.hpp"
#include "db/session_index.hpp"
#include "http/server.hpp"
#include "log/logger.hpp"
#include "recordings/transcriber.hpp"
#include "rooms/rooms.hpp"
#include "storage/s3_store.hpp"
#include "util/crypto.hpp"

namespace partyline::app {
namespace {

constexpr int kExitConfig = 2;

const char* consent_name(config::ConsentMode m) {
  return m == config::ConsentMode::kPress1 ? "press1" : "notice";
}

// Every RECONCILE_INTERVAL, asks Twilio for the recordings of the last 72 h and queues any
// completed conference recording whose callback never arrived.
class ReconcileLoop {
 public:
  ReconcileLoop(const config::Config& config, Backend& backend, log::Logger& log)
      : backend_(backend), log_(log), interval_(config.reconcile_interval) {
    if (config.local_mode || interval_.count() == 0) return;
    thread_ = std::thread([this] { loop(); });
  }
  ~ReconcileLoop() { stop(); }
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
                 reconcile_fields(report));
      lock.lock();
    }
  }
  Backend& backend_;
  log::Logger& log_;
  std::chrono::milliseconds interval_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

// With ROOMS_FILE, SIGHUP reads the file again: a good file replaces the rooms for the calls that
// come next, a bad one is logged and the rooms in force stay. The signal is blocked in every thread
// (block_sighup runs before the first one starts) and taken here with sigwait, so the reload runs
// as ordinary code rather than in a signal handler.
class RoomsReloader {
 public:
  static void block_sighup() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
  }

  RoomsReloader(const config::Config& config, App& app, log::Logger& log)
      : config_(config), app_(app), log_(log), thread_([this] { loop(); }) {}
  ~RoomsReloader() { stop(); }
  void stop() {
    if (!thread_.joinable()) return;
    stopping_ = true;
    pthread_kill(thread_.native_handle(), SIGHUP);
    thread_.join();
  }

 private:
  void loop() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    for (int signal = 0; sigwait(&set, &signal) == 0 && !stopping_;) {
      try {
        rooms::Rooms next = rooms::load(config_);
        const std::size_t count = next.all().size();
        app_.replace_rooms(std::move(next));
        log_.info("rooms.reload", {{"file", config_.rooms_file.string()}, {"rooms", count}});
      } catch (const std::exception& e) {
        log_.error("rooms.reload_error", {{"file", config_.rooms_file.string()},
                                          {"reason", e.what()},
                                          {"message", "the rooms in force stay"}});
      }
    }
  }
  const config::Config& config_;
  App& app_;
  log::Logger& log_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

// Opens the listener; false (logged, and said on stderr naming `setting`) when it cannot.
bool listen(http::Server& server, const std::string& host, unsigned port, const char* setting,
            const char* evt, log::Logger& log, std::uint16_t& bound) {
  try {
    bound = server.listen();
    return true;
  } catch (const std::exception& e) {
    log.error(evt, {{"host", host}, {"port", port}, {"reason", e.what()}});
    std::fprintf(stderr, "partyline: %s: cannot listen on %s:%u: %s\n", setting, host.c_str(), port,
                 e.what());
    return false;
  }
}

// Local mode: the URL the service is reached at is only known once it listens.
std::string url_of_listener(const config::Config& config, std::uint16_t port) {
  const bool any = config.host == "0.0.0.0" || config.host == "::";
  const std::string host =
      any ? "127.0.0.1"
          : (config.host.find(':') != std::string::npos ? "[" + config.host + "]" : config.host);
  return "http://" + host + ":" + std::to_string(port);
}

void log_start(const config::Config& config, const Runtime& runtime, const rooms::Rooms& rooms,
               log::Logger& log) {
  log.info("service.start", {{"version", PARTYLINE_VERSION},
                             {"local_mode", config.local_mode},
                             {"public_base_url", runtime.public_base_url},
                             {"rooms", rooms.all().size()},
                             {"pin_gate", rooms.pin_gate()},
                             {"consent_mode", consent_name(config.consent_mode)},
                             {"token_endpoint", config.token_enabled()},
                             {"storage", config.s3_bucket.empty() ? "local" : "s3"},
                             {"data_dir", config.data_dir.string()},
                             {"threads", config.http_threads}});
  boost::json::array missing;
  for (const auto& gap : config.production_gaps)
    missing.emplace_back(gap);
  if (config.local_mode) {
    log.warn("config.local_mode",
             {{"message", "running on embedded defaults; webhooks are signed with the token in " +
                              (config.data_dir / kLocalCredentialsFile).string()},
              {"missing_for_production", std::move(missing)}});
  } else if (!config.production_gaps.empty()) {
    log.warn("config.incomplete", {{"missing_for_production", std::move(missing)}});
  }
  if (!config.validate_signature) {
    log.warn("config.signature_validation_disabled",
             {{"message",
               "TWILIO_VALIDATE_SIGNATURE=false: ANYONE who can reach this port can drive "
               "the webhooks. Never run like this in production."}});
  }
}

// Every connection is a descriptor: take what the hard limit allows, and say so when that is
// less than HTTP_MAX_CONNECTIONS needs (the listener would then fail to accept, not make room).
void raise_fd_limit(const config::Config& config, log::Logger& log) {
  rlimit fds{};
  if (::getrlimit(RLIMIT_NOFILE, &fds) != 0) return;
  if (fds.rlim_cur < fds.rlim_max) {
    fds.rlim_cur = fds.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &fds);
    ::getrlimit(RLIMIT_NOFILE, &fds);
  }
  if (fds.rlim_cur != RLIM_INFINITY && fds.rlim_cur < config.max_connections + 64) {
    log.warn("config.fd_limit", {{"message",
                                  "the open-file limit is below HTTP_MAX_CONNECTIONS + 64: lower "
                                  "HTTP_MAX_CONNECTIONS or raise the limit (LimitNOFILE in the "
                                  "unit)"},
                                 {"limit", static_cast<std::uint64_t>(fds.rlim_cur)},
                                 {"max_connections", config.max_connections}});
  }
}

// Local mode's first start makes the console user "admin" with a random password kept in the
// local credentials file; in production the console stays shut (404) until someone adds a user.
// Either way the log says how to get in, never a password.
// TRANSCRIBE_URL set: the thread that transcribes stored recordings (and summarises sessions).
std::unique_ptr<recordings::Transcriber> make_transcriber(const config::Config& config,
                                                          Backend& backend, log::Logger& log) {
  if (config.transcribe_url.empty()) return nullptr;
  recordings::TranscriberOptions o;
  o.transcription.url = config.transcribe_url;
  o.transcription.api_key = config.transcribe_api_key;
  o.transcription.model = config.transcribe_model;
  o.transcription.language = config.transcribe_language;
  o.transcription.allow_http = config.transcribe_url.starts_with("http://");
  o.transcription.timeout =
      std::chrono::duration_cast<std::chrono::seconds>(config.transcribe_timeout);
  if (!config.summary_url.empty()) {
    transcribe::ClientOptions summary;
    summary.url = config.summary_url;
    summary.api_key = config.summary_api_key;
    summary.model = config.summary_model;
    summary.allow_http = config.summary_url.starts_with("http://");
    summary.timeout = o.transcription.timeout;
    o.summary = std::move(summary);
  }
  o.summary_prompt = config.summary_prompt;
  o.chunks.max_bytes = config.transcribe_max_bytes;
  o.spool_dir = config.data_dir / "spool";
  o.retry_min = config.retry_min;
  o.retry_max = config.retry_max;
  o.max_age = config.recording_max_age;
  return std::make_unique<recordings::Transcriber>(std::move(o), *backend.jobs, *backend.calls,
                                                   *backend.transcripts, *backend.storage, log,
                                                   util::system_clock());
}

// The origin a browser fetches recordings from when they are not served here: S3's.
std::string media_origin(const storage::ObjectStore& store) {
  const auto* s3 = dynamic_cast<const storage::S3Store*>(&store);
  return s3 ? s3->scheme() + "://" + s3->host() : std::string();
}

void prepare_console(const config::Config& config, const Runtime& runtime,
                     auth::Authenticator& auth, log::Logger& log) {
  const std::string url = runtime.public_base_url + "/console";
  const auto file = (config.data_dir / kLocalCredentialsFile).string();
  if (auth.users().count() == 0) {
    if (!config.local_mode) {
      log.warn("console.no_user",
               {{"message",
                 "the console is off until a user exists: partyline users add NAME "
                 "--role admin (the password is read from standard input)"}});
      return;
    }
    LocalCredentials creds = read_local_credentials(config.data_dir);
    creds.console_password = util::hex_lower(util::random_bytes(12));
    auth.users().add("admin", auth::hash_password(creds.console_password), db::Role::kAdmin);
    save_local_credentials(config.data_dir, creds);
    log.info("console.user_created", {{"user", "admin"}, {"password_in", file}});
  }
  log.info("console.ready",
           {{"url", url},
            log::Field::unless_empty("password_in", config.local_mode ? file : std::string())});
}

}  // namespace

int serve(const config::Config& config) {
  // Before anything listens: a bad rooms file ends the start with the line naming the room and the
  // field.
  std::optional<rooms::Rooms> rooms;
  try {
    rooms = rooms::load(config);
  } catch (const config::ConfigError& e) {
    std::fprintf(stderr, "partyline: configuration error: %s\n", e.what());
    return kExitConfig;
  }
  const bool reload_rooms = !config.rooms_file.empty();
  if (reload_rooms) RoomsReloader::block_sighup();
  log::Logger log(1, config.log_level, util::system_clock(), log::Logger::Mode::kBuffered);

  std::error_code ec;
  std::filesystem::create_directories(config.data_dir, ec);
  if (ec || !std::filesystem::is_directory(config.data_dir)) {
    std::fprintf(stderr, "partyline: DATA_DIR: cannot create %s: %s\n", config.data_dir.c_str(),
                 ec.message().c_str());
    return kExitConfig;
  }
  Runtime runtime;
  try {
    runtime = load_runtime(config, LocalCredentialsUse::kCreate);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "partyline: DATA_DIR: %s\n", e.what());
    return kExitConfig;
  }

  // Requests refused before the application saw them are counted where it counts the rest.
  metrics::Metrics* request_metrics = nullptr;
  http::Server server({.host = config.host,
                       .port = config.port,
                       .threads = config.http_threads,
                       .max_connections = config.max_connections,
                       .max_connections_per_address = config.max_connections_per_ip,
                       .body_limit = App::kMaxWebhookBody,
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
  if (config.metrics_port) {
    metrics_server.emplace(http::ServerOptions{.host = config.metrics_host,
                                               .port = *config.metrics_port,
                                               .threads = 1,
                                               .max_connections = 16,
                                               .request_timeout = config.request_timeout},
                           log);
  }
  std::uint16_t port = 0;
  std::uint16_t metrics_port = 0;
  if (!listen(server, config.host, config.port, "PORT", "http.listen_error", log, port)) return 1;
  if (metrics_server && !listen(*metrics_server, config.metrics_host, *config.metrics_port,
                                "METRICS_LISTEN", "metrics.listen_error", log, metrics_port)) {
    return 1;
  }
  if (runtime.public_base_url.empty()) runtime.public_base_url = url_of_listener(config, port);
  try {
    publish_local_runtime(config, runtime);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "partyline: DATA_DIR: %s\n", e.what());
    return kExitConfig;
  }
  log_start(config, runtime, *rooms, log);
  raise_fd_limit(config, log);

  std::unique_ptr<Backend> backend;
  try {
    backend = std::make_unique<Backend>(config, runtime, log);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "partyline: DATA_DIR: %s\n", e.what());
    return kExitConfig;
  }
  request_metrics = &backend->metrics;
  try {
    prepare_console(config, runtime, *backend->auth, log);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "partyline: DATA_DIR: %s\n", e.what());
    return kExitConfig;
  }
  std::unique_ptr<db::SessionIndex> index;
  try {
    index = std::make_unique<db::SessionIndex>(config.data_dir / "library.db", *backend->calls,
                                               *backend->jobs);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "partyline: DATA_DIR: %s\n", e.what());
    return kExitConfig;
  }
  const App* app = nullptr;  // set below: the library asks it for the room set in force
  LibraryOptions library_options;
  library_options.retention_days = config.retention_days;
  library_options.only_room = [&app] { return app ? app->only_room() : std::string(); };
  Library library({*backend->jobs, *backend->calls, *index, *backend->storage, *backend->followups,
                   config.transcribe_url.empty() ? nullptr : backend->transcripts.get(),
                   [&backend] { backend->pipeline->wake(); }},
                  std::move(library_options), log, util::system_clock());
  ConsoleDeps console{*backend->auth, backend->control.get(), &library,
                      media_origin(*backend->storage)};
  App application(config, runtime, log, util::system_clock(), util::system_random(),
                  {*backend->pipeline, *backend->calls, *backend->locks, backend->metrics,
                   server.counters(), &console},
                  std::move(*rooms));
  backend->room_prefix = [&application](const std::string& room) {
    return application.room_prefix(room);
  };
  app = &application;
  backend->pipeline->start();
  library.start();
  std::unique_ptr<recordings::Transcriber> transcriber = make_transcriber(config, *backend, log);
  if (transcriber) transcriber->start();
  ReconcileLoop reconciler(config, *backend, log);
  std::optional<RoomsReloader> reloader;
  if (reload_rooms) reloader.emplace(config, application, log);
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
  if (reloader) reloader->stop();
  library.stop();
  if (transcriber) transcriber->stop();
  reconciler.stop();
  backend->pipeline->stop();
  log.info("service.stop");
  return 0;
}

}  // namespace partyline::app
