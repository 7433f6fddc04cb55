// Agent files: ./.bot-bottle/agents/<name>.md or <home>/agents/<name>.md.
#include "common/strict_yaml.h"
#include "orchestrator/frontmatter.h"
#include "orchestrator/manifest.h"

namespace bottle::orchestrator {


Result<AgentSpec> parse_agent(std::string_view text, const std::string& path,
                              const std::string& name) {
  auto fm = load_manifest_document(text, path);
  if (!fm) return Error{fm.error()};
  AgentSpec a;
  a.name = name;
  a.path = path;
  a.prompt = fm->body;
  YAML::Node doc = fm->doc.IsNull() ? YAML::Node(YAML::NodeType::Map) : fm->doc;
  MapReader r(path, doc, "agent", fm->line_offset);
  r.reject("role", "is reserved and not accepted (remove it)");
  auto bottle = r.str("bottle");
  auto provider = r.one_of("provider", {"claude", "codex", "command"});
  auto command = r.str_list("command");
  auto auth = r.str("auth_token");
  auto skills = r.str_list("skills");
  YAML::Node git = r.node("git");
  r.str("description");  // free text for `bottle info`
  r.finish();
  if (!r.ok()) return Error{r.error()};

  if (!bottle) {
    return Error{path + ":" + std::to_string(fm->line_offset + 1) +
                 ": missing 'bottle' (the bottle this agent runs in, e.g. bottle: dev)"};
  }
  a.bottle = *bottle;
  a.bottle_at = r.where(r.node("bottle"));
  if (!valid_manifest_name(a.bottle)) {
    return Error{r.where(r.node("bottle")) + ": bottle name '" + a.bottle +
                 "' must match [a-z][a-z0-9-]*"};
  }
  if (provider) a.provider = *provider;
  if (command) a.command = *command;
  if (auth) {
    a.auth_token = *auth;
    a.auth_token_at = r.where(r.node("auth_token"));
  }
  if (skills) {
    for (const auto& s : *skills) {
      // Skills are copied from the operator's manifest tree; never from elsewhere.
      if (s.empty() || s[0] == '/' || s == ".." || s.rfind("../", 0) == 0 ||
          s.find("/../") != std::string::npos ||
          (s.size() >= 3 && s.compare(s.size() - 3, 3, "/..") == 0)) {
        return Error{
            r.where(r.node("skills")) + ": skill '" + s +
            "' must be a relative path inside the manifest directory (e.g. skills/review)"};
      }
    }
    a.skills = *skills;
  }
  if (a.provider == "command" && a.command.empty()) {
    // Allowed: `bottle run <agent> -- cmd...` supplies the argv.
  }
  if (a.provider != "command" && command && !command->empty()) {
    return Error{r.where(r.node("command")) + ": 'command' is only for provider: command"};
  }
  if (a.provider == "command" && auth) {
    return Error{r.where(r.node("auth_token")) +
                 ": 'auth_token' is only for provider: claude or codex"};
  }
  if (!a.auth_token.empty() &&
      a.auth_token.find_first_not_of(
          "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") != std::string::npos) {
    return Error{r.where(r.node("auth_token")) +
                 ": auth_token names a host environment variable, e.g. BOTTLE_CLAUDE_TOKEN"};
  }

  if (git && !git.IsNull()) {
    if (!git.IsMap()) return Error{r.where(git) + ": 'git' must be a mapping (git: {user: ...})"};
    MapReader g(path, git, "git", fm->line_offset);
    YAML::Node user = g.node("user");
    g.reject(
        "remotes",
        "is not allowed on agents: repos carry credentials; put them in the bottle's git-gate");
    g.finish();
    if (!g.ok()) return Error{g.error()};
    if (user && !user.IsNull()) {
      if (!user.IsMap()) return Error{g.where(user) + ": 'git.user' must be {name, email}"};
      MapReader u(path, user, "git.user", fm->line_offset);
      auto n = u.str("name");
      auto e = u.str("email");
      u.finish();
      if (!u.ok()) return Error{u.error()};
      for (const auto* v : {&n, &e}) {
        if (*v && (*v)->find_first_of("\n\r\"\\[]") != std::string::npos) {
          return Error{g.where(user) +
                       ": git.user values cannot contain newlines, quotes, "
                       "backslashes or brackets"};
        }
      }
      if (n) a.git_user.name = *n;
      if (e) a.git_user.email = *e;
      if (a.git_user.name.empty() && a.git_user.email.empty()) {
        return Error{g.where(user) + ": 'git.user' needs a name or an email"};
      }
    }
  }
  return a;
}

}  // namespace bottle::orchestrator
