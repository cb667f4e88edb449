#include "api/router.h"

#include <algorithm>
#include <set>

#include "common/strings.h"

namespace gpufleet::api {
namespace {

bool IsParamNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

bool IsMethod(std::string_view m) {
  if (m.empty() || m.size() > 16) return false;
  return std::all_of(m.begin(), m.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}

// Splits "/a/b" into {"a", "b"}; "/" into {""}; nullopt unless it starts with '/'.
std::optional<std::vector<std::string_view>> SplitPath(std::string_view path) {
  if (path.empty() || path.front() != '/') return std::nullopt;
  return StrSplit(path.substr(1), '/');
}

}  // namespace

absl::Status Router::Add(std::string_view method, std::string_view path_template, Access access,
                         Handler handler) {
  std::string where = StrCat("route ", method, " ", QuoteForMessage(path_template));
  if (!IsMethod(method)) return absl::InvalidArgumentError(StrCat(where, ": bad method"));
  if (!handler) return absl::InvalidArgumentError(StrCat(where, ": no handler"));
  std::optional<std::vector<std::string_view>> parts = SplitPath(path_template);
  if (!parts.has_value()) {
    return absl::InvalidArgumentError(StrCat(where, ": a template starts with '/'"));
  }
  Compiled compiled;
  std::set<std::string, std::less<>> names;
  for (std::string_view part : *parts) {
    if (part.empty() && parts->size() > 1) {
      return absl::InvalidArgumentError(StrCat(where, ": empty segment"));
    }
    Segment seg;
    if (!part.empty() && part.front() == '{') {
      std::string_view name = part.substr(1, part.size() - 1);
      if (part.back() != '}' || part.size() < 3) {
        return absl::InvalidArgumentError(StrCat(where, ": a parameter is a whole \"{name}\""));
      }
      name.remove_suffix(1);
      if (!std::all_of(name.begin(), name.end(), IsParamNameChar)) {
        return absl::InvalidArgumentError(
            StrCat(where, ": parameter names use a-z, 0-9 and '_', got ", QuoteForMessage(name)));
      }
      if (!names.emplace(name).second) {
        return absl::InvalidArgumentError(StrCat(where, ": parameter ", name, " appears twice"));
      }
      seg.is_param = true;
      seg.text = std::string(name);
    } else {
      if (part.find_first_of("{}%?#") != std::string_view::npos) {
        return absl::InvalidArgumentError(
            StrCat(where, ": literal segment ", QuoteForMessage(part), " has a reserved char"));
      }
      seg.text = std::string(part);
    }
    compiled.segments.push_back(std::move(seg));
  }
  if (access.agent_host_param.has_value() && !names.contains(*access.agent_host_param)) {
    return absl::InvalidArgumentError(StrCat(where, ": access names the parameter ",
                                             *access.agent_host_param, " it does not have"));
  }
  for (std::size_t i = 0; i < routes_.size(); ++i) {
    if (routes_[i].method != method) continue;
    const std::vector<Segment>& other = compiled_[i].segments;
    bool same = other.size() == compiled.segments.size();
    for (std::size_t s = 0; same && s < other.size(); ++s) {
      same = other[s].is_param == compiled.segments[s].is_param &&
             (other[s].is_param || other[s].text == compiled.segments[s].text);
    }
    if (same) {
      return absl::AlreadyExistsError(
          StrCat(where, ": same shape as ", QuoteForMessage(routes_[i].path_template)));
    }
  }
  routes_.push_back(Route{.method = std::string(method),
                          .path_template = std::string(path_template),
                          .access = std::move(access),
                          .handler = std::move(handler)});
  compiled_.push_back(std::move(compiled));
  return absl::OkStatus();
}

bool Router::MatchOne(const Compiled& compiled, const std::vector<std::string>& path,
                      PathParams* params, std::vector<bool>* score) {
  if (compiled.segments.size() != path.size()) return false;
  params->clear();
  score->clear();
  for (std::size_t i = 0; i < path.size(); ++i) {
    const Segment& seg = compiled.segments[i];
    if (seg.is_param) {
      if (path[i].empty()) return false;
      (*params)[seg.text] = path[i];
      score->push_back(false);
    } else {
      if (seg.text != path[i]) return false;
      score->push_back(true);
    }
  }
  return true;
}

RouteMatch Router::Match(std::string_view method, std::string_view raw_path) const {
  RouteMatch result;
  std::optional<std::vector<std::string_view>> parts = SplitPath(raw_path);
  if (!parts.has_value()) return result;
  std::vector<std::string> path;
  path.reserve(parts->size());
  for (std::string_view part : *parts) {
    std::optional<std::string> decoded = PercentDecode(part, false);
    if (!decoded.has_value()) return result;
    path.push_back(*std::move(decoded));
  }
  std::vector<bool> best_score;
  std::set<std::string> allowed;
  PathParams params;
  std::vector<bool> score;
  for (std::size_t i = 0; i < routes_.size(); ++i) {
    if (!MatchOne(compiled_[i], path, &params, &score)) continue;
    if (routes_[i].method != method) {
      allowed.insert(routes_[i].method);
      continue;
    }
    if (result.route == nullptr || score > best_score) {
      result.route = &routes_[i];
      result.params = params;
      best_score = score;
    }
  }
  if (result.route == nullptr) result.allowed_methods.assign(allowed.begin(), allowed.end());
  return result;
}

}  // namespace gpufleet::api
