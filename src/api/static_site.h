#ifndef GPUFLEET_API_STATIC_SITE_H_
#define GPUFLEET_API_STATIC_SITE_H_

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "api/router.h"
#include "os/file_system.h"

namespace gpufleet::api {

// The Content-Security-Policy of every page the site serves: scripts, styles, images, fonts and
// connections from the controller itself only; no inline script or style, no eval, no framing.
inline constexpr std::string_view kDashboardCsp =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'";

// Limits on what a site directory may hold (it is read whole into memory at start).
inline constexpr std::size_t kMaxStaticFileBytes = 8u << 20;
inline constexpr std::size_t kMaxStaticSiteBytes = 64u << 20;
inline constexpr int kMaxStaticFiles = 2000;

// The dashboard's files (the web/ build output), read once at start and served from memory:
//   GET /                index.html
//   GET /{file}          the other top-level files (favicon.svg, ...)
//   GET /assets/{file}   files under assets/ (Vite names them by content hash: cached a year)
// Every answer carries kDashboardCsp, nosniff, no-referrer and an ETag (If-None-Match -> 304).
// Paths never reach the file system at request time, so no request can escape the directory.
// Public routes: the page is no secret; every API call it makes needs a token.
// Thread-safe after construction.
class StaticSite {
 public:
  // Reads `dir`: index.html (required) and the regular files beside it and under assets/ (one
  // level, no dot files). NotFound when there is no index.html; FailedPrecondition over a limit.
  static absl::StatusOr<StaticSite> Load(const os::FileSystem& fs, std::string_view dir);
  // A site whose "/" explains that the dashboard was not built and why (`reason`), and how to
  // build it; the API works as usual.
  static StaticSite NotBuilt(std::string_view reason);

  [[nodiscard]] bool built() const { return built_; }
  [[nodiscard]] std::size_t file_count() const { return files_->size(); }

  absl::Status AddRoutes(Router& router) const;

 private:
  struct File {
    std::string content_type;
    std::string body;
    std::string etag;
    bool immutable = false;  // content-hashed name: cache for a year
  };
  using Files = std::map<std::string, File, std::less<>>;  // "index.html", "assets/x.js", ...

  static File MakeFile(std::string_view name, std::string body, bool immutable);
  static Response Serve(const Files& files, std::string_view name, const Request& request);

  bool built_ = false;
  std::shared_ptr<const Files> files_;
};

// The Content-Type for a file name, by extension ("application/octet-stream" when unknown).
[[nodiscard]] std::string_view ContentTypeForName(std::string_view name);

}  // namespace gpufleet::api

#endif  // GPUFLEET_API_STATIC_SITE_H_
