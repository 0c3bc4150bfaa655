// partyline: command line and wiring. Everything it calls is a component under src/.
#include <curl/curl.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "app/app.hpp"
#include "app/local_credentials.hpp"
#include "config/config.hpp"
#include "config/env_file.hpp"
#include "http/server.hpp"
#include "log/logger.hpp"
#include "recordings/pipeline.hpp"
#include "storage/local_store.hpp"
#include "storage/s3_store.hpp"
#include "store/jobs.hpp"
#include "tools/simulate.hpp"

namespace {

using namespace partyline;

constexpr int kExitConfig = 2;

const char* consent_name(config::ConsentMode m) {
  return m == config::ConsentMode::kPress1 ? "press1" : "notice";
}

int serve(const config::Config& config) {
  log::Logger log(1, config.log_level, util::system_clock());

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

  http::Server server({.host = config.host,
                       .port = config.port,
                       .threads = config.http_threads,
                       .max_connections = config.max_connections,
                       .body_limit = app::App::kMaxWebhookBody,
                       .request_timeout = config.request_timeout},
                      log);
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
  if (!config.validate_signature) {
    log.warn("config.signature_validation_disabled",
             {{"message",
               "TWILIO_VALIDATE_SIGNATURE=false: ANYONE who can reach this port can drive "
               "the webhooks. Never run like this in production."}});
  }

  std::unique_ptr<store::JobStore> jobs;
  try {
    jobs = std::make_unique<store::JobStore>(config.data_dir / "partyline.db");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "partyline: DATA_DIR: %s\n", e.what());
    return kExitConfig;
  }
  std::unique_ptr<storage::ObjectStore> storage;
  if (config.s3_bucket.empty()) {
    storage = std::make_unique<storage::LocalStore>(config.data_dir / "recordings");
  } else {
    storage = std::make_unique<storage::S3Store>(
        storage::S3Options{
            .bucket = config.s3_bucket,
            .region = config.aws_region,
            .endpoint = config.s3_endpoint,
            .path_style = config.s3_force_path_style,
            .credentials = {config.aws_access_key_id, config.aws_secret_access_key.reveal(),
                            config.aws_session_token.reveal()},
            .multipart_threshold = config.s3_multipart_threshold,
            .part_size = config.s3_part_size,
            .sse = config.s3_sse,
            .sse_kms_key_id = config.s3_sse_kms_key_id},
        log);
  }
  recordings::Pipeline pipeline({.spool_dir = config.data_dir / "spool",
                                 .account_sid = runtime.account_sid,
                                 .auth_token = runtime.auth_token,
                                 .prefix = config.s3_prefix,
                                 .format = config.recording_format,
                                 .workers = config.recording_workers,
                                 .retry_min = config.retry_min,
                                 .retry_max = config.retry_max,
                                 .max_age = config.recording_max_age,
                                 .allow_http_media = config.media_from_loopback ||
                                                     config.twilio_api_base.starts_with("http://")},
                                *jobs, *storage, log, util::system_clock());
  pipeline.start();

  app::App application(config, runtime, log, util::system_clock(), util::system_random(),
                       &pipeline);
  log.info("http.listen", {{"host", config.host}, {"port", port}});
  server.run([&application](const http::Request& r, http::Respond respond) {
    application.handle(r, std::move(respond));
  });
  pipeline.stop();
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
  CLI11_PARSE(cli, argc, argv);
  curl_global_init(CURL_GLOBAL_DEFAULT);

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
  return serve(config);
}
