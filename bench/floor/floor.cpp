// The idle-RSS floor of Partyline's library set, for bench/run: link the same libraries the same
// way as build/partyline (shared: OpenSSL's libcrypto, SQLite, libc; linked in: libstdc++,
// Boost.JSON, Boost.URL, pugixml; libcurl is loaded only on first use), do the least
// initialisation the service does before it idles (an HMAC fetched from OpenSSL's default provider
// and its RNG seeded, two SQLite files in WAL mode with a table each, SQLite's page cache
// configured as the service does, a JSON value, a URL, an XML document, three waiting threads),
// then print VmRSS in KiB. Whatever Partyline idles at above this is its own code and data; below
// it no server with these libraries can go.
//
//   g++ -O2 -std=c++20 -ffunction-sections -fdata-sections -o floor floor.cpp -lcrypto -lsqlite3
//   -Wl,-Bstatic -lboost_json -lboost_url -lboost_container -lpugixml -Wl,-Bdynamic
//   -static-libstdc++ -static-libgcc -Wl,--gc-sections -pthread      (as bench/run builds it)
//   ./floor DIR        (DIR: an empty scratch directory for the two databases)
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sqlite3.h>

#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <pugixml.hpp>
#include <string>
#include <thread>
#include <vector>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: floor DIR\n");
    return 2;
  }
  const std::string dir = argv[1];
  EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  unsigned char seed[16];
  if (mac == nullptr || RAND_bytes(seed, sizeof seed) != 1) return 1;
  EVP_MAC_free(mac);
  sqlite3_config(SQLITE_CONFIG_PAGECACHE, nullptr, 0, 0);  // as src/db/sqlite.cpp
  std::vector<sqlite3*> dbs;
  for (const char* name : {"/a.db", "/b.db"}) {
    sqlite3* db = nullptr;
    if (sqlite3_open((dir + name).c_str(), &db) != SQLITE_OK ||
        sqlite3_exec(db,
                     "PRAGMA journal_mode=WAL; CREATE TABLE IF NOT EXISTS t "
                     "(k TEXT PRIMARY KEY, v INTEGER) WITHOUT ROWID;",
                     nullptr, nullptr, nullptr) != SQLITE_OK) {
      return 1;
    }
    dbs.push_back(db);
  }
  const auto json = boost::json::parse(R"({"evt":"service.start"})");
  const auto url = boost::urls::parse_uri("https://api.twilio.com/2010-04-01/Accounts");
  pugi::xml_document doc;
  doc.append_child("Response").append_child("Say").text().set("idle");
  if (!json.is_object() || !url) return 1;

  std::mutex mutex;
  std::condition_variable cv;
  bool stop = false;
  std::vector<std::thread> threads;
  for (int i = 0; i < 3; ++i) {
    threads.emplace_back([&] {
      std::unique_lock lock(mutex);
      cv.wait(lock, [&] { return stop; });
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  std::ifstream status("/proc/self/status");
  long rss_kib = -1;
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) rss_kib = std::stol(line.substr(6));
  }
  {
    std::lock_guard lock(mutex);
    stop = true;
  }
  cv.notify_all();
  for (auto& t : threads)
    t.join();
  for (auto* db : dbs)
    sqlite3_close(db);
  std::printf("%ld\n", rss_kib);
  return rss_kib > 0 ? 0 : 1;
}
