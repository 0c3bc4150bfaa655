// libcurl, loaded on first use. Partyline does not link libcurl: its dependency tree (28 more
// libraries: gnutls, krb5, ldap, ssh2, rtmp, …) was about 4 MiB of an idle service's RSS and the
// larger part of its start time (bench/RESULTS.md), while webhooks never touch it. ELF has no
// delay-loading, so the libcurl functions Partyline calls are defined here and forward to
// libcurl.so.4, opened with dlopen() the first time a transfer is set up. If it cannot be
// opened, every call fails with CURLE_FAILED_INIT and curl_easy_strerror() says why.
#include "net/curl.hpp"

#include <curl/curl.h>
#include <dlfcn.h>

#include <cstdarg>
#include <mutex>
#include <string>

namespace {

struct Api {
  CURLcode (*global_init)(long) = nullptr;
  void (*global_cleanup)() = nullptr;
  CURL* (*easy_init)() = nullptr;
  CURLcode (*easy_setopt)(CURL*, CURLoption, ...) = nullptr;
  CURLcode (*easy_getinfo)(CURL*, CURLINFO, ...) = nullptr;
  CURLcode (*easy_perform)(CURL*) = nullptr;
  void (*easy_cleanup)(CURL*) = nullptr;
  void (*easy_reset)(CURL*) = nullptr;
  const char* (*easy_strerror)(CURLcode) = nullptr;
  curl_slist* (*slist_append)(curl_slist*, const char*) = nullptr;
  void (*slist_free_all)(curl_slist*) = nullptr;
  // Multipart forms (transcribe/client: an audio file streamed from disk).
  curl_mime* (*mime_init)(CURL*) = nullptr;
  void (*mime_free)(curl_mime*) = nullptr;
  curl_mimepart* (*mime_addpart)(curl_mime*) = nullptr;
  CURLcode (*mime_name)(curl_mimepart*, const char*) = nullptr;
  CURLcode (*mime_type)(curl_mimepart*, const char*) = nullptr;
  CURLcode (*mime_data)(curl_mimepart*, const char*, size_t) = nullptr;
  CURLcode (*mime_filedata)(curl_mimepart*, const char*) = nullptr;
  bool ok = false;
  std::string error;  // why it is not ok
};

template <typename F>
bool bind(void* lib, const char* name, F& out, std::string& error) {
  out = reinterpret_cast<F>(dlsym(lib, name));
  if (out == nullptr && error.empty()) error = std::string("libcurl.so.4 lacks ") + name;
  return out != nullptr;
}

std::mutex init_mutex;
bool initialised = false;  // curl_global_init of the loaded library, under init_mutex

Api load() {
  Api api;
  void* lib = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) {
    const char* why = dlerror();
    api.error = std::string("cannot load libcurl.so.4 (install libcurl4): ") + (why ? why : "");
    return api;
  }
  bool ok = bind(lib, "curl_global_init", api.global_init, api.error);
  ok &= bind(lib, "curl_global_cleanup", api.global_cleanup, api.error);
  ok &= bind(lib, "curl_easy_init", api.easy_init, api.error);
  ok &= bind(lib, "curl_easy_setopt", api.easy_setopt, api.error);
  ok &= bind(lib, "curl_easy_getinfo", api.easy_getinfo, api.error);
  ok &= bind(lib, "curl_easy_perform", api.easy_perform, api.error);
  ok &= bind(lib, "curl_easy_cleanup", api.easy_cleanup, api.error);
  ok &= bind(lib, "curl_easy_reset", api.easy_reset, api.error);
  ok &= bind(lib, "curl_easy_strerror", api.easy_strerror, api.error);
  ok &= bind(lib, "curl_slist_append", api.slist_append, api.error);
  ok &= bind(lib, "curl_slist_free_all", api.slist_free_all, api.error);
  ok &= bind(lib, "curl_mime_init", api.mime_init, api.error);
  ok &= bind(lib, "curl_mime_free", api.mime_free, api.error);
  ok &= bind(lib, "curl_mime_addpart", api.mime_addpart, api.error);
  ok &= bind(lib, "curl_mime_name", api.mime_name, api.error);
  ok &= bind(lib, "curl_mime_type", api.mime_type, api.error);
  ok &= bind(lib, "curl_mime_data", api.mime_data, api.error);
  ok &= bind(lib, "curl_mime_filedata", api.mime_filedata, api.error);
  api.ok = ok;
  return api;  // the library stays loaded for the life of the process
}

const Api& loaded_api() {
  static const Api loaded = load();
  return loaded;
}

// The loaded library, globally initialised (libcurl 7.84+ makes curl_global_init thread-safe;
// the mutex keeps ours so on any version).
const Api& api() {
  const Api& loaded = loaded_api();
  if (loaded.ok) {
    std::lock_guard lock(init_mutex);
    if (!initialised) initialised = loaded.global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
  }
  return loaded;
}

}  // namespace

extern "C" {

// Deferred: the library is initialised when it is loaded, by the first transfer.
CURLcode curl_global_init(long) {
  return CURLE_OK;
}

void curl_global_cleanup(void) {
  std::lock_guard lock(init_mutex);
  if (!initialised) return;
  loaded_api().global_cleanup();  // initialised: api() loaded it
  initialised = false;
}

CURL* curl_easy_init(void) {
  const Api& a = api();
  return a.ok ? a.easy_init() : nullptr;
}

// curl.h fixes these signatures (an enum before the `...`, as libcurl's own definitions have);
// clang warns about va_start after any enum parameter, but these enums are int-sized and are
// passed as an int on every ABI libcurl supports.
#if defined(__clang__)
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wvarargs"
#endif

// The argument's type follows from the option's number range (curl.h: CURLOPTTYPE_*).
CURLcode curl_easy_setopt(CURL* curl, CURLoption option, ...) {
  const Api& a = api();
  if (!a.ok) return CURLE_FAILED_INIT;
  va_list args;
  va_start(args, option);
  CURLcode rc;
  if (option < CURLOPTTYPE_OBJECTPOINT) {
    rc = a.easy_setopt(curl, option, va_arg(args, long));
  } else if (option < CURLOPTTYPE_FUNCTIONPOINT) {
    rc = a.easy_setopt(curl, option, va_arg(args, void*));
  } else if (option < CURLOPTTYPE_OFF_T) {
    rc = a.easy_setopt(curl, option, va_arg(args, void (*)()));
  } else if (option < CURLOPTTYPE_BLOB) {
    rc = a.easy_setopt(curl, option, va_arg(args, curl_off_t));
  } else {
    rc = a.easy_setopt(curl, option, va_arg(args, void*));
  }
  va_end(args);
  return rc;
}

// Every CURLINFO_* takes a pointer to where the answer goes.
CURLcode curl_easy_getinfo(CURL* curl, CURLINFO info, ...) {
  const Api& a = api();
  if (!a.ok) return CURLE_FAILED_INIT;
  va_list args;
  va_start(args, info);
  void* out = va_arg(args, void*);
  va_end(args);
  return a.easy_getinfo(curl, info, out);
}

#if defined(__clang__)
#pragma clang diagnostic pop
#endif

CURLcode curl_easy_perform(CURL* curl) {
  const Api& a = api();
  return a.ok ? a.easy_perform(curl) : CURLE_FAILED_INIT;
}

void curl_easy_cleanup(CURL* curl) {
  if (curl != nullptr) api().easy_cleanup(curl);  // a handle exists only if the library loaded
}

void curl_easy_reset(CURL* curl) {
  if (curl != nullptr) api().easy_reset(curl);
}

const char* curl_easy_strerror(CURLcode code) {
  const Api& a = api();
  return a.ok ? a.easy_strerror(code) : a.error.c_str();
}

curl_slist* curl_slist_append(curl_slist* list, const char* text) {
  const Api& a = api();
  return a.ok ? a.slist_append(list, text) : nullptr;
}

void curl_slist_free_all(curl_slist* list) {
  if (list != nullptr) api().slist_free_all(list);
}

curl_mime* curl_mime_init(CURL* curl) {
  const Api& a = api();
  return a.ok ? a.mime_init(curl) : nullptr;
}

void curl_mime_free(curl_mime* mime) {
  if (mime != nullptr) api().mime_free(mime);  // a form exists only if the library loaded
}

curl_mimepart* curl_mime_addpart(curl_mime* mime) {
  const Api& a = api();
  return a.ok ? a.mime_addpart(mime) : nullptr;
}

CURLcode curl_mime_name(curl_mimepart* part, const char* name) {
  const Api& a = api();
  return a.ok ? a.mime_name(part, name) : CURLE_FAILED_INIT;
}

CURLcode curl_mime_type(curl_mimepart* part, const char* mimetype) {
  const Api& a = api();
  return a.ok ? a.mime_type(part, mimetype) : CURLE_FAILED_INIT;
}

CURLcode curl_mime_data(curl_mimepart* part, const char* data, size_t datasize) {
  const Api& a = api();
  return a.ok ? a.mime_data(part, data, datasize) : CURLE_FAILED_INIT;
}

CURLcode curl_mime_filedata(curl_mimepart* part, const char* filename) {
  const Api& a = api();
  return a.ok ? a.mime_filedata(part, filename) : CURLE_FAILED_INIT;
}

}  // extern "C"

namespace partyline::net {

Easy make_easy() {
  return Easy(curl_easy_init());
}

std::string curl_init_error() {
  // The shim's curl_easy_strerror gives the load error while libcurl is not loaded.
  return std::string("curl_easy_init failed: ") + curl_easy_strerror(CURLE_FAILED_INIT);
}

bool transient_error(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_GOT_NOTHING:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_HTTP3:
    case CURLE_QUIC_CONNECT_ERROR:
      return true;
    default:
      return false;
  }
}

std::string transfer_error(CURLcode code, const char* error_buffer) {
  std::string text = curl_easy_strerror(code);
  if (error_buffer != nullptr && error_buffer[0] != '\0') text += std::string(": ") + error_buffer;
  return text;
}

bool append_header(Headers& headers, const std::string& line) {
  curl_slist* grown = curl_slist_append(headers.get(), line.c_str());
  if (grown == nullptr) return false;
  (void)
      headers.release();  // the list grew in place: `grown` is its head (the old one or a new one)
  headers.reset(grown);
  return true;
}

}  // namespace partyline::net
