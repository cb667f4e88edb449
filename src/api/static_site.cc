#include "api/static_site.h"

#include <cstdio>
#include <functional>
#include <utility>

#include "common/status_macros.h"
#include "common/strings.h"

namespace gpufleet::api {
namespace {

constexpr std::string_view kNotBuiltPage = R"(<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>gpufleet - dashboard not built</title></head>
<body>
<h1>gpufleet: the dashboard was not built</h1>
<p>REASON</p>
<p>The controller and its API work without it: <code>gpufleet --help</code> lists the CLI's
commands, and <code>/api/v1/...</code> answers as usual.</p>
<p>To build the dashboard, install Node.js and npm (<code>scripts/install-deps</code> does) and run
<code>make demo</code>, or <code>cmake --build --preset release --target web</code>; then start
gpufleetd with <code>--web-dir build/release/web/dist</code> (the default for that build).</p>
</body>
</html>
)";

std::string EscapeHtml(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// A file name the site serves: no dot files, no separators (one path segment).
bool IsServableName(std::string_view name) {
  return !name.empty() && name.front() != '.' && name.find('/') == std::string_view::npos &&
         name.find('\\') == std::string_view::npos;
}

}  // namespace

std::string_view ContentTypeForName(std::string_view name) {
  static constexpr std::pair<std::string_view, std::string_view> kTypes[] = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".map", "application/json"},
      {".webmanifest", "application/manifest+json"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
      {".woff2", "font/woff2"},
      {".txt", "text/plain; charset=utf-8"},
  };
  for (const auto& [ext, type] : kTypes) {
    if (EndsWith(name, ext)) return type;
  }
  return "application/octet-stream";
}

StaticSite::File StaticSite::MakeFile(std::string_view name, std::string body, bool immutable) {
  File f;
  f.content_type = std::string(ContentTypeForName(name));
  char tag[32];
  std::snprintf(tag, sizeof tag, "\"s%zx-%zx\"", std::hash<std::string_view>{}(body), body.size());
  f.etag = tag;
  f.body = std::move(body);
  f.immutable = immutable;
  return f;
}

absl::StatusOr<StaticSite> StaticSite::Load(const os::FileSystem& fs, std::string_view dir) {
  std::string root(dir);
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  const std::string index = StrCat(root, "/index.html");
  if (!fs.Exists(index)) {
    return absl::NotFoundError(StrCat("web dir ", QuoteForMessage(root), " has no index.html"));
  }
  auto files = std::make_shared<Files>();
  std::size_t total = 0;
  auto add = [&](const std::string& path, std::string name, bool immutable) -> absl::Status {
    if (static_cast<int>(files->size()) >= kMaxStaticFiles) {
      return absl::FailedPreconditionError(
          StrCat("web dir ", QuoteForMessage(root), ": more than ", kMaxStaticFiles, " files"));
    }
    absl::StatusOr<std::string> body = fs.ReadFile(path, kMaxStaticFileBytes);
    if (!body.ok()) return body.status();
    total += body->size();
    if (total > kMaxStaticSiteBytes) {
      return absl::FailedPreconditionError(StrCat("web dir ", QuoteForMessage(root), ": more than ",
                                                  kMaxStaticSiteBytes >> 20, " MiB of files"));
    }
    files->emplace(name, MakeFile(name, *std::move(body), immutable));
    return absl::OkStatus();
  };
  auto add_dir = [&](const std::string& path, const std::string& prefix,
                     bool immutable) -> absl::Status {
    absl::StatusOr<std::vector<std::string>> names = fs.ListDirectory(path);
    if (!names.ok()) return names.status();
    for (const std::string& name : *names) {
      const std::string full = StrCat(path, "/", name);
      if (!IsServableName(name) || fs.IsDirectory(full)) continue;
      if (absl::Status s = add(full, StrCat(prefix, name), immutable); !s.ok()) return s;
    }
    return absl::OkStatus();
  };
  if (absl::Status s = add_dir(root, "", false); !s.ok()) return s;
  if (fs.IsDirectory(StrCat(root, "/assets"))) {
    if (absl::Status s = add_dir(StrCat(root, "/assets"), "assets/", true); !s.ok()) return s;
  }
  StaticSite site;
  site.built_ = true;
  site.files_ = std::move(files);
  return site;
}

StaticSite StaticSite::NotBuilt(std::string_view reason) {
  std::string page(kNotBuiltPage);
  page.replace(page.find("REASON"), 6, EscapeHtml(reason));
  auto files = std::make_shared<Files>();
  files->emplace("index.html", MakeFile("index.html", std::move(page), false));
  StaticSite site;
  site.files_ = std::move(files);
  return site;
}

Response StaticSite::Serve(const Files& files, std::string_view name, const Request& request) {
  auto it = files.find(name);
  if (it == files.end()) {
    return Response::Error(404, "not_found", StrCat("no file ", QuoteForMessage(name)));
  }
  const File& f = it->second;
  Response r;
  if (std::optional<std::string_view> match = request.Header("If-None-Match");
      match.has_value() && *match == f.etag) {
    r.status = 304;
  } else {
    r.body = f.body;
    r.SetHeader("Content-Type", f.content_type);
  }
  r.SetHeader("ETag", f.etag);
  r.SetHeader("Cache-Control", f.immutable ? "public, max-age=31536000, immutable" : "no-cache");
  r.SetHeader("Content-Security-Policy", std::string(kDashboardCsp));
  r.SetHeader("X-Content-Type-Options", "nosniff");
  r.SetHeader("Referrer-Policy", "no-referrer");
  r.SetHeader("X-Frame-Options", "DENY");
  return r;
}

absl::Status StaticSite::AddRoutes(Router& router) const {
  std::shared_ptr<const Files> files = files_;
  auto serve = [files](std::string prefix, std::string param) {
    return [files, prefix = std::move(prefix), param = std::move(param)](const Request& r) {
      std::string_view name = param.empty() ? std::string_view("index.html") : r.PathParam(param);
      if (!param.empty() && !IsServableName(name)) {
        return Response::Error(404, "not_found", StrCat("no file ", QuoteForMessage(name)));
      }
      return Serve(*files, StrCat(prefix, name), r);
    };
  };
  GPUFLEET_RETURN_IF_ERROR(router.Add("GET", "/", Access::Public(), serve("", "")));
  GPUFLEET_RETURN_IF_ERROR(router.Add("GET", "/{file}", Access::Public(), serve("", "file")));
  return router.Add("GET", "/assets/{file}", Access::Public(), serve("assets/", "file"));
}

}  // namespace gpufleet::api
