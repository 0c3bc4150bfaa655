#pragma once
// An in-test stand-in for Twilio's REST API (reference twilio.md §6), served by the shared fake
// HTTP server: Basic auth, Recordings.json paged through next_page_uri, recording delete, account
// fetch. Shared by the RestClient and reconciler tests; the server records what was sent.
#include <algorithm>
#include <boost/json.hpp>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "../support/fake_http_server.hpp"
#include "util/crypto.hpp"

namespace partyline::fake {

class FakeTwilioRest {
 public:
  FakeTwilioRest(std::string account_sid, std::string auth_token)
      : account_sid_(std::move(account_sid)), auth_token_(std::move(auth_token)) {
    server_.set_handler([this](const Request& request) { return handle(request); });
  }
  FakeTwilioRest(const FakeTwilioRest&) = delete;
  FakeTwilioRest& operator=(const FakeTwilioRest&) = delete;

  std::string base() const { return server_.base(); }

  // --- Script --------------------------------------------------------------------------------
  // Entries are raw JSON so tests can also serve malformed ones.
  void add_recording(boost::json::object recording) {
    std::lock_guard lock(mutex_);
    recordings_.push_back(std::move(recording));
  }
  void set_page_size(std::size_t n) {
    std::lock_guard lock(mutex_);
    page_size_ = n;
  }
  // Every request whose target contains `target_part` gets this status and a Twilio error body.
  void fail(std::string target_part, int status, std::string message) {
    std::lock_guard lock(mutex_);
    failures_[std::move(target_part)] = {status, std::move(message)};
  }
  // Serve this next_page_uri on every page instead of the real one (a hostile or broken server).
  void override_next_page_uri(boost::json::value next) {
    std::lock_guard lock(mutex_);
    next_override_ = std::move(next);
  }

  // --- Observations --------------------------------------------------------------------------
  std::vector<Request> requests() const { return server_.requests(); }
  std::set<std::string> deleted() const {
    std::lock_guard lock(mutex_);
    return deleted_;
  }

  static boost::json::object recording(
      std::string_view sid, std::string_view account_sid, std::string_view conference_sid,
      std::string_view status = "completed",
      std::string_view date_created = "Sat, 25 Oct 2025 19:17:43 +0000") {
    boost::json::object r;
    r["sid"] = sid;
    r["account_sid"] = account_sid;
    r["call_sid"] = "CA" + std::string(32, 'c');
    if (conference_sid.empty()) {
      r["conference_sid"] = nullptr;
    } else {
      r["conference_sid"] = conference_sid;
    }
    r["status"] = status;
    r["channels"] = 1;
    r["source"] = "StartConferenceRecordingAPI";
    r["duration"] = "42";
    r["start_time"] = date_created;
    r["date_created"] = date_created;
    r["error_code"] = nullptr;
    r["uri"] = "/2010-04-01/Accounts/" + std::string(account_sid) + "/Recordings/" +
               std::string(sid) + ".json";
    return r;
  }

 private:
  static Response json_response(int status, const boost::json::value& body) {
    return Response::text(status, boost::json::serialize(body), "application/json");
  }
  static Response twilio_error(int status, int code, std::string_view message) {
    return json_response(
        status, {{"code", code},
                 {"message", message},
                 {"more_info", "https://www.twilio.com/docs/errors/" + std::to_string(code)},
                 {"status", status}});
  }

  // The value of `name` in the query string (no percent-decoding needed for what we send).
  static std::optional<std::string> query_param(std::string_view query, std::string_view name) {
    while (!query.empty()) {
      const auto amp = query.find('&');
      const std::string_view pair = query.substr(0, amp);
      if (pair.starts_with(name) && pair.size() > name.size() && pair[name.size()] == '=') {
        return std::string(pair.substr(name.size() + 1));
      }
      if (amp == std::string_view::npos) break;
      query.remove_prefix(amp + 1);
    }
    return std::nullopt;
  }

  Response handle(const Request& r) {
    std::lock_guard lock(mutex_);
    if (r.header("authorization") != "Basic " + util::base64(account_sid_ + ":" + auth_token_)) {
      return twilio_error(401, 20003, "Authenticate");
    }
    const std::string_view target = r.target;
    const std::string_view path = target.substr(0, target.find('?'));
    const std::string_view query =
        path.size() < target.size() ? target.substr(path.size() + 1) : std::string_view();
    for (const auto& [part, failure] : failures_) {
      if (target.find(part) != std::string_view::npos)
        return twilio_error(failure.first, 20500, failure.second);
    }
    const std::string account = "/2010-04-01/Accounts/" + account_sid_;
    if (r.method == "GET" && path == account + ".json") {
      return json_response(200, {{"sid", account_sid_},
                                 {"friendly_name", "Partyline test account"},
                                 {"status", "active"}});
    }
    if (r.method == "GET" && path == account + "/Recordings.json") {
      return list_page(account, query);
    }
    const std::string prefix = account + "/Recordings/";
    if (r.method == "DELETE" && path.starts_with(prefix) && path.ends_with(".json")) {
      const std::string sid(path.substr(prefix.size(), path.size() - prefix.size() - 5));
      const bool known = std::any_of(recordings_.begin(), recordings_.end(), [&](const auto& rec) {
        const auto* s = rec.if_contains("sid");
        return s && s->is_string() && s->get_string() == sid;
      });
      if (!known || deleted_.contains(sid)) {
        return twilio_error(404, 20404, "The requested resource was not found");
      }
      deleted_.insert(sid);
      return Response{.status = 204};
    }
    return twilio_error(404, 20404, "The requested resource was not found");
  }

  Response list_page(const std::string& account, std::string_view query) {
    const std::size_t page = std::stoul(query_param(query, "Page").value_or("0"));
    if (page > 0 && query_param(query, "PageToken") != "PA" + std::to_string(page)) {
      return twilio_error(400, 20001, "Invalid PageToken");
    }
    const std::size_t first = page * page_size_;
    boost::json::array items;
    for (std::size_t i = first; i < recordings_.size() && i < first + page_size_; ++i) {
      items.push_back(recordings_[i]);
    }
    const std::string base =
        account + "/Recordings.json?PageSize=" + query_param(query, "PageSize").value_or("50") +
        "&DateCreated%3E=" + query_param(query, "DateCreated%3E").value_or("");
    boost::json::value next = nullptr;
    if (first + page_size_ < recordings_.size()) {
      next =
          base + "&Page=" + std::to_string(page + 1) + "&PageToken=PA" + std::to_string(page + 1);
    }
    if (next_override_) next = *next_override_;
    return json_response(200, {{"recordings", std::move(items)},
                               {"page", page},
                               {"page_size", page_size_},
                               {"first_page_uri", base + "&Page=0"},
                               {"next_page_uri", std::move(next)},
                               {"previous_page_uri", nullptr},
                               {"uri", account + "/Recordings.json?" + std::string(query)}});
  }

  std::string account_sid_, auth_token_;
  mutable std::mutex mutex_;
  std::vector<boost::json::object> recordings_;
  std::size_t page_size_ = 50;
  std::map<std::string, std::pair<int, std::string>> failures_;
  std::optional<boost::json::value> next_override_;
  std::set<std::string> deleted_;
  // Last: stops (and so stops calling handle()) before the script above goes away.
  HttpServer server_;
};

}  // namespace partyline::fake
