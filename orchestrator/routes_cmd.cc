#include "orchestrator/routes_cmd.h"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>

#include "common/http/config_reload.h"
#include "config/route_table.h"
#include "init/ctl.h"
#include "orchestrator/process.h"
#include "orchestrator/state.h"

namespace bottle::orchestrator {

namespace {

std::set<std::string> token_slots_in(const config::RouteTable& t) {
  std::set<std::string> s;
  for (const auto& r : t.routes) {
    if (r.auth) s.insert(r.auth->token_env);
  }
  return s;
}

}  // namespace

std::string routes_path(const std::string& slug) {
  return state_dir(slug) + "/routes/routes.yaml";
}

Status check_token_slots(const config::RouteTable& current, const config::RouteTable& next,
                         const std::string& source) {
  auto known = token_slots_in(current);
  for (const auto& r : next.routes) {
    if (r.auth && !known.count(r.auth->token_env)) {
      std::string available;
      for (const auto& k : known) available += (available.empty() ? "" : ", ") + k;
      return Error{source + ":" + std::to_string(r.line) + ": token_env " + r.auth->token_env +
                   " has no value in this bottle (available: " +
                   (available.empty() ? std::string("none") : available) + ")"};
    }
  }
  return OkStatus();
}

Result<std::string> routes_show(const std::string& slug) {
  auto md = read_metadata(state_dir(slug));
  if (!md) return Error{"no bottle '" + slug + "'"};
  return read_text_file(routes_path(slug));
}

Status check_routes_change(const std::string& slug, const std::string& text,
                           const std::string& source) {
  auto next = config::parse_routes(text, source);
  if (!next) return Error{next.error()};
  // Token values were handed to egress at start; a new slot would have no value.
  if (auto current_text = read_text_file(routes_path(slug))) {
    if (auto current = config::parse_routes(*current_text, "routes.yaml"))
      return check_token_slots(**current, **next, source);
  }
  return OkStatus();
}

Result<AppliedChange> routes_apply(const std::string& slug, const std::string& text,
                                   const std::string& source) {
  auto md = read_metadata(state_dir(slug));
  if (!md) return Error{"no bottle '" + slug + "'"};
  if (!bottle_alive(*md)) return Error{"bottle '" + slug + "' is not running"};
  if (auto st = check_routes_change(slug, text, source); !st) return Error{st.error()};
  auto current_text = read_text_file(routes_path(slug));
  if (!current_text) return Error{current_text.error()};
  ConfigChange change;
  change.file = routes_path(slug);
  change.before = std::move(*current_text);
  change.after = text;
  change.what = "routes";
  change.reload = [ctl = init_ctl_path(slug)] { return init::reload_egress(ctl); };
  if (md->admin_port > 0 && md->admin_port <= 65535) {
    auto admin = parse_listen_spec("127.0.0.1:" + std::to_string(md->admin_port));
    if (!admin) return Error{admin.error()};
    change.admin = *admin;
  }
  return apply_config_change(change);
}

std::string describe_applied_routes(const std::string& slug, const AppliedChange& a) {
  if (!a.confirmed) {
    return "routes written to " + slug +
           " and egress asked to reload (not confirmed on its admin port)";
  }
  return "routes applied to " + slug + ": egress runs them (reload " + std::to_string(a.reloads) +
         ", sha256 " + a.sha256.substr(0, 12) + ")";
}

Result<std::optional<AppliedChange>> routes_edit(const std::string& slug,
                                                 const RoutesApplyFn& apply) {
  auto current = routes_show(slug);
  if (!current) return Error{current.error()};
  char tmpl[] = "/tmp/bottle-routes-XXXXXX.yaml";
  int fd = ::mkstemps(tmpl, 5);
  if (fd < 0) return Error{std::string("temp file: ") + std::strerror(errno)};
  UniqueFd owned(fd);
  (void)!::write(fd, current->data(), current->size());
  const char* editor = std::getenv("VISUAL");
  if (!editor || !*editor) editor = std::getenv("EDITOR");
  std::string ed = editor && *editor ? editor : "vi";
  for (;;) {
    SpawnOptions so;
    so.argv = {"sh", "-c", ed + " \"$1\"", "sh", tmpl};
    auto child = spawn(so);
    if (!child) return Error{child.error()};
    if (child->wait() != 0) {
      ::unlink(tmpl);
      return Error{"editor exited with an error; nothing applied"};
    }
    auto text = read_text_file(tmpl);
    if (!text) return Error{text.error()};
    if (*text == *current) {
      ::unlink(tmpl);
      return std::optional<AppliedChange>();
    }
    auto st = apply(slug, *text, "routes.yaml");
    if (st || !::isatty(STDIN_FILENO)) {
      ::unlink(tmpl);
      if (!st) return Error{st.error()};
      return std::optional<AppliedChange>(*st);
    }
    std::fprintf(stderr, "bottle: %s\nbottle: press Enter to edit again, Ctrl-C to give up\n",
                 st.error().c_str());
    std::string line;
    if (!std::getline(std::cin, line)) {
      ::unlink(tmpl);
      return Error{st.error()};
    }
  }
}

}  // namespace bottle::orchestrator
