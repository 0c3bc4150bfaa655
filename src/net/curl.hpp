#pragma once
// libcurl for the components that speak HTTP as a client (net/http_client, s3/, and
// transcribe/client for its multipart uploads). Every curl_* function called here resolves to
// net/curl_lazy.cpp, which opens libcurl.so.4 on the first transfer (why: there); nothing outside
// those three includes <curl/curl.h>.
#include <curl/curl.h>

#include <memory>
#include <string>

namespace partyline::net {

struct EasyDeleter {
  void operator()(CURL* handle) const { curl_easy_cleanup(handle); }
};
struct HeadersDeleter {
  void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};
struct MimeDeleter {
  void operator()(curl_mime* mime) const { curl_mime_free(mime); }
};
using Easy = std::unique_ptr<CURL, EasyDeleter>;
using Headers = std::unique_ptr<curl_slist, HeadersDeleter>;
using Mime = std::unique_ptr<curl_mime, MimeDeleter>;  // a multipart form (CURLOPT_MIMEPOST)

// A new easy handle (loads libcurl on first use), or nullptr: curl_init_error() says why.
Easy make_easy();
// "curl_easy_init failed: " and, when libcurl could not be loaded, why and what to install.
std::string curl_init_error();
// Transfer errors another attempt may well not meet: the network or the server, not this request
// or this machine (name lookup, connect, timeout, a dropped or cut-short answer, TLS setup).
bool transient_error(CURLcode code);
// The one text of a failed transfer: curl's message for `code`, then the error buffer's detail.
std::string transfer_error(CURLcode code, const char* error_buffer);
// Appends one "Name: value" line; false when curl could not (out of memory).
bool append_header(Headers& headers, const std::string& line);

}  // namespace partyline::net
