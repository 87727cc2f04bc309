// The dashboard's static files, compiled into the binary (web/assets and
// Debian's Chart.js), served with their types. Nothing is fetched from
// elsewhere: the Content-Security-Policy allows only this origin.

#include <span>

#include "dmarcwatch/model/embedded_file.h"
#include "http.h"

namespace dmarcwatch::web {
namespace assets {
std::span<const dmarcwatch::EmbeddedFile> Files();
}

namespace internal {
namespace {

std::string TypeOf(std::string_view path) {
  auto ends = [&](std::string_view suffix) {
    return path.size() >= suffix.size() && path.substr(path.size() - suffix.size()) == suffix;
  };
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".js")) return "text/javascript; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".svg")) return "image/svg+xml";
  return "application/octet-stream";
}

std::string_view Find(std::string_view name) {
  for (const EmbeddedFile& f : assets::Files()) {
    const std::string_view p = f.path;
    // Embedded with their directory; the name is the last component.
    const std::size_t slash = p.rfind('/');
    if ((slash == std::string_view::npos ? p : p.substr(slash + 1)) == name) return f.bytes;
  }
  return {};
}

Reply Asset(std::string_view name) {
  const std::string_view bytes = Find(name);
  if (bytes.data() == nullptr) return Reply::Error(404, "not_found", "no such file");
  Reply r = Reply::Text(200, std::string(bytes), TypeOf(name));
  r.headers.emplace_back("Cache-Control", "no-cache");
  return r;
}

}  // namespace

std::vector<Route> AssetRoutes() {
  std::vector<Route> routes;
  routes.push_back({"GET", "/", "page", false, false,
                    [](Shared&, Request&) { return Asset("index.html"); }});
  routes.push_back({"GET", "/favicon.ico", "favicon", false, false,
                    [](Shared&, Request&) { return Reply::Text(204, ""); }});
  routes.push_back({"GET", "/assets/{name}", "asset", false, false,
                    [](Shared&, Request& req) { return Asset(req.params["name"]); }});
  return routes;
}

}  // namespace internal
}  // namespace dmarcwatch::web
