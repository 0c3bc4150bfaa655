#pragma once
// libcurl is opened on the first transfer (curl_lazy.cpp); this says why a transfer could not
// start.
#include <string>

namespace partyline::util {

// For a failed curl_easy_init(): "curl_easy_init failed: " and, when libcurl could not be loaded,
// why and what to install ("cannot load libcurl.so.4 (install libcurl4): …").
std::string curl_init_error();

}  // namespace partyline::util
