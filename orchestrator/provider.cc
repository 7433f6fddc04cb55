#include "orchestrator/provider.h"

#include "config/yaml_emit.h"

namespace bottle::orchestrator {

using config::plain;

namespace {

YAML::Node auth_route(const std::string& host, const std::string& token_ref) {
  YAML::Node r(YAML::NodeType::Map);
  r["host"] = host;
  r["port"] = plain("443");
  if (!token_ref.empty()) {
    YAML::Node auth(YAML::NodeType::Map);
    auth["scheme"] = "Bearer";
    auth["token_ref"] = token_ref;
    r["auth"] = auth;
  }
  return r;
}

}  // namespace

Result<ProviderPlan> provider_plan(const AgentSpec& agent, const AgentLayout& layout,
                                   bool supervise) {
  ProviderPlan p;
  p.skills_dir = layout.files_dir + "/skills";
  const std::string mcp_url =
      "http://" + layout.supervise_host + ":" + std::to_string(kSupervisePort) + "/mcp";
  if (agent.provider == "claude") {
    // Without auth_token the route still exists so `claude login` works inside the bottle.
    p.routes.push_back(auth_route("api.anthropic.com", agent.auth_token));
    if (!agent.auth_token.empty()) {
      // Claude Code sends this as a Bearer token; egress replaces it on the wire.
      // ANTHROPIC_API_KEY stays unset: Claude Code prefers it over the OAuth token and
      // would send it as x-api-key, a header the Bearer route does not replace.
      p.env.push_back({"CLAUDE_CODE_OAUTH_TOKEN", kPlaceholder, true});
    }
    p.env.push_back({"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1", false});
    p.env.push_back({"DISABLE_AUTOUPDATER", "1", false});
    p.argv = {"claude"};
    p.skills_dir = layout.home + "/.claude/skills";
    if (supervise) {
      p.mcp_registration = {"claude", "mcp", "add", "--transport", "http", "supervise", mcp_url};
    }
  } else if (agent.provider == "codex") {
    for (const char* host : {"api.openai.com", "chatgpt.com"}) {
      p.routes.push_back(auth_route(host, agent.auth_token));
    }
    if (!agent.auth_token.empty()) p.env.push_back({"OPENAI_API_KEY", kPlaceholder, true});
    p.argv = {"codex"};
    p.skills_dir = layout.home + "/.codex/skills";
    if (supervise) p.mcp_registration = {"codex", "mcp", "add", "supervise", "--url", mcp_url};
  } else if (agent.provider == "command") {
    p.argv = agent.command;
  } else {
    return Error{agent.path + ": unknown provider '" + agent.provider + "'"};
  }
  return p;
}

}  // namespace bottle::orchestrator
