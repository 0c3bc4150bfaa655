#include "web/assets.hpp"

#include <gtest/gtest.h>

#include <regex>
#include <set>
#include <string>
#include <string_view>

#include "util/digest.hpp"

namespace partyline::web {
namespace {

TEST(WebAssets, FindsEveryPageAndAssetWithItsContentType) {
  struct Case {
    std::string_view path, content_type, contains;
  };
  const Case cases[] = {
      {"/console", "text/html; charset=utf-8", "/console/assets/console.js"},
      {"/console/sign-in", "text/html; charset=utf-8", "/console/assets/sign-in.js"},
      {"/console/assets/console.js", "text/javascript", "EventSource"},
      {"/console/assets/sign-in.js", "text/javascript", "/api/session"},
      {"/console/assets/api.js", "text/javascript", "export"},
      {"/console/assets/console.css", "text/css", "@media"},
      {"/console/assets/icon.svg", "image/svg+xml", "<svg"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.path);
    const Asset* asset = find(c.path);
    ASSERT_NE(asset, nullptr);
    EXPECT_EQ(asset->path, c.path);
    EXPECT_EQ(asset->content_type, c.content_type);
    EXPECT_NE(asset->body.find(c.contains), std::string_view::npos);
  }
}

TEST(WebAssets, UnknownPathsAreNotFound) {
  for (const std::string_view path :
       {"", "/", "/console/", "/console/console.html", "/console/sign-in.html", "/console/assets",
        "/console/assets/", "/console/assets/missing.js", "/console?next=x", "/CONSOLE",
        "/console/assets/../console.html", "/web/console.html"}) {
    SCOPED_TRACE(path);
    EXPECT_EQ(find(path), nullptr);
  }
}

TEST(WebAssets, AllTogetherStayUnder200KiB) {
  std::size_t sum = 0;
  for (const Asset& asset : all())
    sum += asset.body.size();
  EXPECT_EQ(total_bytes(), sum);
  EXPECT_GT(total_bytes(), 0u);
  EXPECT_LT(total_bytes(), 200u * 1024);
}

TEST(WebAssets, EtagIsTheQuotedStartOfTheBodysSha256) {
  std::set<std::string_view> etags;
  for (const Asset& asset : all()) {
    SCOPED_TRACE(asset.path);
    util::Digest digest;
    digest.update(asset.body.data(), asset.body.size());
    EXPECT_EQ(asset.etag, "\"" + digest.sha256_hex().substr(0, 20) + "\"");
    etags.insert(asset.etag);
  }
  EXPECT_EQ(etags.size(), all().size());
}

// The pages are served with `Content-Security-Policy: default-src 'self'`: anything inline would
// be blocked in the browser, and markup built from strings could carry a caller's data as HTML.
TEST(WebAssets, NothingInlineThatTheContentSecurityPolicyWouldBlock) {
  const std::regex inline_script(R"(<script(?![^>]*\ssrc=)[^>]*>|<script[^>]*>[^<\s])",
                                 std::regex::icase);
  const std::regex style_attribute(R"(<[^>]*\sstyle\s*=)", std::regex::icase);
  const std::regex handler_attribute(R"(<[^>]*\son[a-z]+\s*=)", std::regex::icase);
  for (const Asset& asset : all()) {
    SCOPED_TRACE(asset.path);
    const std::string body(asset.body);
    if (asset.content_type.starts_with("text/html") || asset.content_type == "image/svg+xml") {
      EXPECT_FALSE(std::regex_search(body, inline_script));
      EXPECT_FALSE(std::regex_search(body, style_attribute));
      EXPECT_FALSE(std::regex_search(body, handler_attribute));
    }
    for (const std::string_view banned :
         {"<style", "innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(",
          "new Function", "javascript:", "setAttribute('style'", ".cssText", "url(", "@import"}) {
      EXPECT_EQ(body.find(banned), std::string::npos) << banned;
    }
  }
}

// Every file or page a page names is one of ours and embedded: nothing comes from another site,
// and a missing one would be answered 404.
TEST(WebAssets, EveryPageReferenceIsEmbedded) {
  const std::regex reference(R"re((?:src|href)="([^"]*)")re");
  for (const std::string_view page : {"/console", "/console/sign-in", "/console/sessions"}) {
    SCOPED_TRACE(page);
    const std::string body(find(page)->body);
    int references = 0;
    for (auto it = std::sregex_iterator(body.begin(), body.end(), reference);
         it != std::sregex_iterator(); ++it) {
      const std::string target = (*it)[1];
      SCOPED_TRACE(target);
      EXPECT_TRUE(target == "/console" || target.starts_with("/console/"));
      EXPECT_NE(find(target), nullptr);
      ++references;
    }
    EXPECT_GE(references, 3);  // icon, style sheet, script
  }
}

}  // namespace
}  // namespace partyline::web
