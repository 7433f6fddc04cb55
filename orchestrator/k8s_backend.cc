#include "orchestrator/k8s_backend.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <ostream>
#include <sstream>
#include <thread>

#include "config/route_table.h"
#include "orchestrator/bottle_files.h"
#include "orchestrator/container_cli.h"
#include "orchestrator/container_render.h"
#include "orchestrator/gitgate_files.h"
#include "orchestrator/process.h"
#include "orchestrator/routes_cmd.h"
#include "orchestrator/skills.h"
#include "orchestrator/state.h"

namespace bottle::orchestrator {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {


// kubectl when it is installed and has a current context; "" otherwise.
std::string usable_kubectl() {
  const std::string kubectl = find_helper_binary("kubectl");
  if (kubectl.empty()) return "";
  auto ctx = run_cli({kubectl, "config", "current-context"}, CliWait::quick);
  return ctx && ctx->exit_code == 0 && !first_line(ctx->out).empty() ? kubectl : "";
}

std::vector<std::string> kubectl_argv(const std::string& kubectl, const std::string& ns,
                                      const std::vector<std::string>& args) {
  std::vector<std::string> argv = {kubectl};
  if (!ns.empty()) argv.insert(argv.end(), {"--namespace", ns});
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

Result<std::string> kubectl_run(const std::string& kubectl, const std::string& ns,
                                const std::vector<std::string>& args, const std::string& what,
                                const std::string& stdin_data = "") {
  auto r = run_cli(kubectl_argv(kubectl, ns, args), CliWait::quick, stdin_data);
  if (!r) return Error{what + ": " + r.error()};
  if (r->exit_code != 0) return Error{what + ": " + failure_line(*r)};
  return r->out;
}

std::string shell_line(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv) {
    const bool plain = a.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                           "0123456789-_./=,:@") == std::string::npos;
    out += (out.empty() ? "" : " ") + (plain ? a : "'" + a + "'");
  }
  return out;
}

nlohmann::json labelled(const std::string& kind, const std::string& name, const std::string& slug,
                        const std::string& ns) {
  nlohmann::json o = {{"apiVersion", "v1"},
                      {"kind", kind},
                      {"metadata",
                       {{"name", name},
                        {"labels",
                         {{"app.kubernetes.io/part-of", "bot-bottle"},
                          {"bot-bottle.dev/slug", slug}}}}}};
  if (!ns.empty()) o["metadata"]["namespace"] = ns;
  return o;
}

std::string namespace_from_env() {
  const char* ns = std::getenv("BOTTLE_K8S_NAMESPACE");
  return ns ? ns : "";
}

// The values render_k8s leaves out, as one List for `kubectl apply -f -`: token slots,
// the CA, the gate's keys, the agent's CA certificate and its env from the host.
Result<std::string> filled_objects(const Plan& plan, const std::string& slug,
                                   const std::string& dir, const std::string& ns,
                                   const std::vector<std::string>& tokens,
                                   const std::vector<std::string>& agent_env) {
  std::map<std::string, nlohmann::json> secrets;
  auto put = [&](const std::string& secret, const std::string& key, const std::string& value) {
    auto& s = secrets[secret];
    if (s.is_null()) {
      s = labelled("Secret", secret, slug, ns);
      s["type"] = "Opaque";
    }
    s["stringData"][key] = value;
  };
  for (const auto& kv : tokens) {
    const size_t eq = kv.find('=');
    put(k8s_name(slug, "tokens"), kv.substr(0, eq), kv.substr(eq + 1));
  }
  for (const auto& k : k8s_secret_fill(plan, slug)) {
    if (k.secret == k8s_name(slug, "tokens")) continue;
    const std::string path =
        k.secret == k8s_name(slug, "ca") ? dir + "/ca/" + k.key : expand_home(k.from);
    auto text = read_text_file(path);
    if (!text) return Error{k.secret + "/" + k.key + ": " + text.error()};
    put(k.secret, k.key, *text);
  }
  nlohmann::json items = nlohmann::json::array();
  for (auto& [name, s] : secrets) items.push_back(s);
  auto ca = read_text_file(dir + "/agent/bottle-ca.pem");
  if (!ca) return Error{ca.error()};
  auto ca_cert = labelled("ConfigMap", k8s_name(slug, "ca-cert"), slug, ns);
  ca_cert["data"]["bottle-ca.pem"] = *ca;
  items.push_back(ca_cert);
  bool env_from_start = false;
  for (const auto& e : plan.env) env_from_start |= e.value.kind != EnvValue::Kind::literal;
  if (env_from_start) {
    auto env = labelled("ConfigMap", k8s_name(slug, "agent-env"), slug, ns);
    for (const auto& kv : agent_env) {
      const size_t eq = kv.find('=');
      env["data"][kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    items.push_back(env);
  }
  return nlohmann::json{{"apiVersion", "v1"}, {"kind", "List"}, {"items", items}}.dump();
}

// kubectl exec into the bundle's sidecars container: `kubectl exec [-i] deployment/<name>
// -c sidecars -- command...`.
std::vector<std::string> bundle_exec(const std::string& slug, bool with_stdin,
                                     const std::vector<std::string>& command) {
  std::vector<std::string> args = {"exec"};
  if (with_stdin) args.push_back("-i");
  args.insert(args.end(), {"deployment/" + k8s_name(slug), "-c", "sidecars", "--"});
  args.insert(args.end(), command.begin(), command.end());
  return args;
}

// `bottle-supervise queue VERB --dir <the pod's queue>` in the bundle; its stdout as JSON.
Result<nlohmann::json> pod_queue(const BottleMetadata& md, const std::vector<std::string>& verb,
                                 const std::string& stdin_data = "") {
  if (md.status != "applied") return Error{"bottle '" + md.slug + "' is not applied to a cluster"};
  const std::string kubectl = usable_kubectl();
  if (kubectl.empty()) return Error{"no kubectl with a current context here"};
  std::vector<std::string> command = {"bottle-supervise", "queue"};
  command.insert(command.end(), verb.begin(), verb.end());
  command.insert(command.end(), {"--dir", container_init_layout(md.slug, true).supervise_queue});
  auto out = kubectl_run(kubectl, md.k8s_namespace, bundle_exec(md.slug, !stdin_data.empty(), command),
                         "kubectl exec (" + verb.front() + " the pod's proposal queue)", stdin_data);
  if (!out) return Error{out.error()};
  auto j = nlohmann::json::parse(*out, nullptr, false);
  if (j.is_discarded()) return Error{"the pod's proposal queue: not JSON: " + first_line(*out)};
  return j;
}

}  // namespace

Result<ProposalQueue::Scan> k8s_queue_scan(const BottleMetadata& md, bool include_archived) {
  std::vector<std::string> verb = {"scan"};
  if (include_archived) verb.push_back("--all");
  auto j = pod_queue(md, verb);
  if (!j) return Error{j.error()};
  return ProposalQueue::scan_from_json(*j, "the pod's proposal queue");
}

Result<ProposalQueue::AnswerResult> k8s_queue_answer(const BottleMetadata& md, const Response& r) {
  auto j = pod_queue(md, {"answer"}, to_json(r).dump());
  if (!j) return Error{j.error()};
  const std::string result = j->is_object() ? j->value("result", "") : "";
  if (result == "recorded") return ProposalQueue::AnswerResult::recorded;
  if (result == "already_answered") return ProposalQueue::AnswerResult::already_answered;
  return Error{"the pod's proposal queue: unexpected answer " + j->dump()};
}

std::string k8s_selector(const std::string& slug) {
  return "bot-bottle.dev/slug=" + slug;
}

Status start_k8s(const Plan& plan, const LaunchOptions& opt, std::ostream& out) {
  auto say = [&](const std::string& l) {
    if (opt.progress) opt.progress(l);
  };
  auto agent_env = resolve_env(plan.env, opt.env_sources);
  if (!agent_env) return Error{agent_env.error()};
  const std::string kubectl = usable_kubectl();
  std::vector<std::string> tokens;
  if (!kubectl.empty()) {
    auto t = resolve_token_slots(plan, opt.env_sources);
    if (!t) return Error{t.error()};
    tokens = std::move(*t);
  }
  auto skills = read_skills(plan);
  if (!skills) return Error{skills.error()};
  auto slug = choose_slug(plan.agent, opt.label);
  if (!slug) return Error{slug.error()};
  const std::string dir = state_dir(*slug);
  std::error_code ec;
  fs::remove_all(dir, ec);
  for (const auto& [sub, mode] : std::vector<std::pair<std::string, mode_t>>{
           {"", 0700}, {"/ca", 0700}, {"/routes", 0700}, {"/logs", 0700}, {"/agent", 0700}}) {
    if (auto st = make_dir(dir + sub, mode); !st) return st;
  }
  BottleMetadata md;
  md.slug = *slug;
  md.label = opt.label.empty() ? *slug : opt.label;
  md.agent = plan.agent;
  md.bottle = plan.bottle;
  md.backend = "k8s";
  md.k8s_namespace = namespace_from_env();
  md.created = now_iso8601();
  md.status = "rendered";
  md.workspace = opt.workspace;
  if (auto st = write_metadata(dir, md); !st) return st;
  if (auto st = write_bottle_files(plan, dir, *slug, *skills); !st) return st;
  ContainerTarget target;
  target.slug = *slug;
  target.namespace_ = md.k8s_namespace;
  const std::string bundle_file = dir + "/k8s-bundle.yaml";
  if (auto st = write_file_atomic(bundle_file, render_k8s(plan, target), 0600); !st) return st;
  const std::vector<std::string> apply = {"apply", "--server-side", "--field-manager=bottle", "-f"};
  if (kubectl.empty()) {
    std::vector<std::string> argv = kubectl_argv("kubectl", md.k8s_namespace, apply);
    argv.push_back(bundle_file);
    out << "# no kubectl with a current context here: apply it from a machine that has one\n"
        << shell_line(argv) << "\n"
        << "# then fill its Secrets and render the agent Pod as docker/README.md shows\n";
    return OkStatus();
  }
  const std::string& ns = md.k8s_namespace;
  say("kubectl apply " + bundle_file);
  auto with_file = [&](const std::string& f) {
    auto a = apply;
    a.push_back(f);
    return a;
  };
  if (auto r = kubectl_run(kubectl, ns, with_file(bundle_file), "kubectl apply"); !r)
    return Error{r.error()};
  md.status = "applied";  // from here on objects exist: `bottle stop` must find it
  if (auto st = write_metadata(dir, md); !st) return st;
  auto filled = filled_objects(plan, *slug, dir, ns, tokens, *agent_env);
  if (!filled) return Error{filled.error()};
  say("filling its secrets (from stdin)");
  if (auto r = kubectl_run(kubectl, ns,
                           {"apply", "--server-side", "--field-manager=bottle-secrets", "-f", "-"},
                           "kubectl apply (secrets)", *filled);
      !r)
    return Error{r.error()};
  auto ip = kubectl_run(kubectl, ns,
                        {"get", "service", k8s_name(*slug), "-o", "jsonpath={.spec.clusterIP}"},
                        "kubectl get service");
  if (!ip) return Error{ip.error()};
  target.bundle_ip = first_line(*ip);
  if (target.bundle_ip.empty() || target.bundle_ip == "None")
    return Error{"service " + k8s_name(*slug) + " has no ClusterIP"};
  const std::string full_file = dir + "/k8s.yaml";
  if (auto st = write_file_atomic(full_file, render_k8s(plan, target), 0600); !st) return st;
  say("kubectl apply " + full_file + " (the agent Pod, bundle at " + target.bundle_ip + ")");
  if (auto r = kubectl_run(kubectl, ns, with_file(full_file), "kubectl apply"); !r)
    return Error{r.error()};
  // The CA key now lives in the cluster's Secret only.
  fs::remove(dir + "/ca/ca-key.pem", ec);
  out << "attach: " << shell_line(kubectl_argv("kubectl", ns, {"attach", "-it", k8s_name(*slug, "agent")}))
      << "\nstop:   bottle stop " << *slug << "\n";
  return OkStatus();
}

Status stop_k8s(const std::string& slug,
                const std::function<void(const std::string&)>& progress) {
  auto md = read_metadata(state_dir(slug));
  if (!md) return Error{"no bottle '" + slug + "' (" + md.error() + ")"};
  const std::vector<std::string> args = {"delete", "all,configmap,secret,networkpolicy", "-l",
                                         k8s_selector(slug), "--ignore-not-found"};
  const std::string kubectl = usable_kubectl();
  if (kubectl.empty()) {
    return Error{"no kubectl with a current context here; run: " +
                 shell_line(kubectl_argv("kubectl", md->k8s_namespace, args))};
  }
  progress("kubectl delete -l " + k8s_selector(slug));
  auto r = kubectl_run(kubectl, md->k8s_namespace, args, "kubectl delete");
  if (!r) return Error{r.error()};
  std::error_code ec;
  fs::remove(state_dir(slug) + "/ca/ca-key.pem", ec);
  md->status = "exited";
  if (auto st = write_metadata(state_dir(slug), *md); !st) return st;
  progress("stopped " + slug);
  return OkStatus();
}

Status routes_apply_k8s(const std::string& slug, const std::string& text,
                        const std::string& source,
                        const std::function<void(const std::string&)>& progress) {
  auto md = read_metadata(state_dir(slug));
  if (!md) return Error{"no bottle '" + slug + "'"};
  if (md->status != "applied") return Error{"bottle '" + slug + "' is not applied to a cluster"};
  if (auto st = check_routes_change(slug, text, source); !st) return st;
  const std::string kubectl = usable_kubectl();
  if (kubectl.empty()) return Error{"no kubectl with a current context here"};
  const std::string& ns = md->k8s_namespace;
  auto cm = labelled("ConfigMap", k8s_name(slug, "routes"), slug, ns);
  cm["data"]["routes.yaml"] = text;
  // The same field manager as the rendering: this replaces what it set.
  if (auto r = kubectl_run(kubectl, ns,
                           {"apply", "--server-side", "--field-manager=bottle", "-f", "-"},
                           "kubectl apply (routes)", cm.dump());
      !r)
    return Error{r.error()};
  if (auto st = write_file_atomic(routes_path(slug), text, 0600); !st) return st;
  progress("routes ConfigMap applied; waiting for the bundle to see it");
  const char* env = std::getenv("BOTTLE_K8S_ROUTES_TIMEOUT");
  const double seconds = env && *env && std::atof(env) > 0 ? std::atof(env) : 180;
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(static_cast<long long>(seconds * 1000));
  auto delay = 200ms;
  std::string last = "no answer";
  for (;;) {
    auto seen = run_cli(
        kubectl_argv(kubectl, ns,
                     bundle_exec(slug, false,
                                 {"cat", std::string(kBundleConfigDir) + "/routes/routes.yaml"})),
        CliWait::quick);
    if (!seen) return Error{"kubectl exec: " + seen.error()};
    if (seen->exit_code == 0 && seen->out == text) break;
    last = seen->exit_code == 0 ? "the mounted routes.yaml is still the old one" : failure_line(*seen);
    if (std::chrono::steady_clock::now() + delay > deadline) {
      char shown[32];
      std::snprintf(shown, sizeof shown, "%.3g", seconds);
      return Error{std::string("the bundle did not see the new routes within ") + shown + " s: " + last +
                   " (the ConfigMap is applied: run `bottle routes apply` again to reload)"};
    }
    std::this_thread::sleep_for(delay);
    delay = std::min(delay * 2, 5000ms);
  }
  if (auto r = kubectl_run(kubectl, ns, bundle_exec(slug, false, {"bottle-init", "ctl", "reload"}),
                           "bottle-init ctl reload");
      !r)
    return Error{r.error()};
  return OkStatus();
}

}  // namespace bottle::orchestrator
