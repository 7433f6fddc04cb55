#include <yaml-cpp/yaml.h>

#include <algorithm>

#include "config/yaml_emit.h"
#include "orchestrator/container_render.h"
#include "orchestrator/preflight.h"

namespace bottle::orchestrator {

using config::plain;

namespace {

constexpr const char* kSlugKey = "bot-bottle.dev/slug";
constexpr const char* kComponentKey = "bot-bottle.dev/component";
constexpr int kBundleUid = 10001;  // docker/Dockerfile.sidecar
constexpr int kAgentUid = 1000;    // `node` in docker/Dockerfile.agent

YAML::Node map() {
  return YAML::Node(YAML::NodeType::Map);
}
YAML::Node seq() {
  return YAML::Node(YAML::NodeType::Sequence);
}
YAML::Node num(long v) {
  return plain(std::to_string(v));
}
YAML::Node flag(bool v) {
  return plain(v ? "true" : "false");
}
YAML::Node str(const std::string& s) {
  return YAML::Node(s);
}

YAML::Node strings(const std::vector<std::string>& v) {
  YAML::Node n = seq();
  for (const auto& s : v) n.push_back(str(s));
  return n;
}

struct Names {
  std::string slug;
  std::string ns;
  std::string bundle, agent, tokens, ca, ca_cert, git_keys, bundle_config, routes, agent_files,
      agent_env;
};

YAML::Node labels(const Names& n, const std::string& component) {
  YAML::Node l = map();
  l["app.kubernetes.io/part-of"] = str("bot-bottle");
  l[kSlugKey] = str(n.slug);
  if (!component.empty()) l[kComponentKey] = str(component);
  return l;
}

YAML::Node object(const std::string& api, const std::string& kind, const std::string& name,
                  const Names& n, const std::string& component) {
  YAML::Node o = map();
  o["apiVersion"] = str(api);
  o["kind"] = str(kind);
  YAML::Node meta = map();
  meta["name"] = str(name);
  if (!n.ns.empty()) meta["namespace"] = str(n.ns);
  meta["labels"] = labels(n, component);
  o["metadata"] = meta;
  return o;
}

YAML::Node config_map(const std::string& name, const Names& n,
                      const std::vector<std::pair<std::string, std::string>>& data) {
  YAML::Node o = object("v1", "ConfigMap", name, n, "");
  if (!data.empty()) {
    YAML::Node d = map();
    for (const auto& [k, v] : data) d[k] = str(v);
    o["data"] = d;
  }
  return o;
}

// A Secret with no data: `bottle start --backend k8s` fills it from stdin (server-side
// apply under its own field manager, so re-applying this file never empties it).
YAML::Node empty_secret(const std::string& name, const Names& n, const std::string& fill) {
  YAML::Node o = object("v1", "Secret", name, n, "bundle");
  o["metadata"]["annotations"]["bot-bottle.dev/filled-by"] = str(fill);
  o["type"] = str("Opaque");
  return o;
}

YAML::Node security_context(int uid, bool read_only_root) {
  YAML::Node s = map();
  s["runAsNonRoot"] = flag(true);
  s["runAsUser"] = num(uid);
  s["runAsGroup"] = num(uid);
  s["readOnlyRootFilesystem"] = flag(read_only_root);
  s["allowPrivilegeEscalation"] = flag(false);
  s["capabilities"]["drop"] = strings({"ALL"});
  s["seccompProfile"]["type"] = str("RuntimeDefault");
  return s;
}

YAML::Node pod_security(int uid) {
  YAML::Node s = map();
  s["runAsNonRoot"] = flag(true);
  s["fsGroup"] = num(uid);
  s["seccompProfile"]["type"] = str("RuntimeDefault");
  return s;
}

YAML::Node resources(const std::string& cpu_req, const std::string& mem_req,
                     const std::string& cpu_lim, const std::string& mem_lim) {
  YAML::Node r = map();
  r["requests"]["cpu"] = str(cpu_req);
  r["requests"]["memory"] = str(mem_req);
  r["limits"]["cpu"] = str(cpu_lim);
  r["limits"]["memory"] = str(mem_lim);
  return r;
}

YAML::Node mount(const std::string& name, const std::string& path, bool read_only,
                 const std::string& sub_path = "") {
  YAML::Node m = map();
  m["name"] = str(name);
  m["mountPath"] = str(path);
  if (!sub_path.empty()) m["subPath"] = str(sub_path);
  if (read_only) m["readOnly"] = flag(true);
  return m;
}

YAML::Node volume_from(const std::string& name, const std::string& kind,
                       const std::string& object_name, int mode = -1) {
  YAML::Node v = map();
  v["name"] = str(name);
  if (kind == "emptyDir") {
    v["emptyDir"] = map();
    return v;
  }
  YAML::Node src = map();
  src[kind == "secret" ? "secretName" : "name"] = str(object_name);
  if (mode >= 0) src["defaultMode"] = num(mode);
  v[kind] = src;
  return v;
}

// An env entry whose value is key `name` of a Secret or ConfigMap (`ref`: secretKeyRef or
// configMapKeyRef).
YAML::Node env_from(const std::string& name, const char* ref, const std::string& source) {
  YAML::Node e = map();
  e["name"] = str(name);
  e["valueFrom"][ref]["name"] = str(source);
  e["valueFrom"][ref]["key"] = str(name);
  return e;
}

std::vector<std::pair<std::string, int>> bundle_ports(const Plan& p) {
  std::vector<std::pair<std::string, int>> ports = {{"egress", kEgressPort}};
  if (!p.gitgate.binary.empty()) {
    ports.emplace_back("git", kGitgateGitPort);
    ports.emplace_back("git-http", kGitgateHttpPort);
  }
  if (!p.supervise_daemon.binary.empty()) ports.emplace_back("supervise", kSupervisePort);
  return ports;
}

YAML::Node health_probe(int period) {
  YAML::Node probe = map();
  probe["exec"]["command"] = strings({"/usr/local/bin/bottle-init", "ctl", "health"});
  probe["periodSeconds"] = num(period);
  probe["timeoutSeconds"] = num(3);
  return probe;
}

YAML::Node bundle_deployment(const Plan& p, const Names& n, const std::string& image) {
  YAML::Node d = object("apps/v1", "Deployment", n.bundle, n, "bundle");
  YAML::Node spec = map();
  spec["replicas"] = num(1);
  spec["strategy"]["type"] = str("Recreate");  // one CA, one queue: never two bundles
  spec["selector"]["matchLabels"] = labels(n, "bundle");
  YAML::Node pod = map();
  pod["metadata"]["labels"] = labels(n, "bundle");
  YAML::Node ps = map();
  ps["automountServiceAccountToken"] = flag(false);
  ps["enableServiceLinks"] = flag(false);
  ps["securityContext"] = pod_security(kBundleUid);
  YAML::Node c = map();
  c["name"] = str("sidecars");
  c["image"] = str(image);
  c["command"] = strings(
      {"/usr/local/bin/bottle-init", "--config", std::string(kBundleConfigDir) + "/init.yaml"});
  YAML::Node env = seq();
  YAML::Node daemons = map();
  daemons["name"] = str("BOTTLE_DAEMONS");
  daemons["value"] = str(daemons_csv(p));
  env.push_back(daemons);
  for (const auto& t : p.token_slots) env.push_back(env_from(t.slot, "secretKeyRef", n.tokens));
  c["env"] = env;
  YAML::Node ports = seq();
  for (const auto& [name, port] : bundle_ports(p)) {
    YAML::Node cp = map();
    cp["name"] = str(name);
    cp["containerPort"] = num(port);
    cp["protocol"] = str("TCP");
    ports.push_back(cp);
  }
  c["ports"] = ports;
  const std::string etc = kBundleConfigDir, var = kBundleStateDir;
  YAML::Node mounts = seq();
  mounts.push_back(mount("bundle-config", etc + "/init.yaml", true, "init.yaml"));
  // The routes ConfigMap as a directory: the kubelet swaps it atomically on change.
  mounts.push_back(mount("routes", etc + "/routes", true));
  mounts.push_back(mount("ca", etc + "/ca", true));
  mounts.push_back(mount("run", "/run/bottle", false));
  mounts.push_back(mount("tmp", "/tmp", false));
  YAML::Node volumes = seq();
  volumes.push_back(volume_from("bundle-config", "configMap", n.bundle_config));
  volumes.push_back(volume_from("routes", "configMap", n.routes));
  volumes.push_back(volume_from("ca", "secret", n.ca, 0440));
  volumes.push_back(volume_from("run", "emptyDir", ""));
  volumes.push_back(volume_from("tmp", "emptyDir", ""));
  if (!p.gitgate.binary.empty()) {
    mounts.push_back(mount("bundle-config", etc + "/gitgate.yaml", true, "gitgate.yaml"));
    mounts.push_back(mount("git-keys", etc + "/gitgate-keys", true));
    mounts.push_back(mount("gitgate-state", var + "/gitgate", false));
    volumes.push_back(volume_from("git-keys", "secret", n.git_keys, 0440));
    volumes.push_back(volume_from("gitgate-state", "emptyDir", ""));
  }
  if (!p.supervise_daemon.binary.empty()) {
    mounts.push_back(mount("proposals", var + "/proposals", false));
    volumes.push_back(volume_from("proposals", "emptyDir", ""));
  }
  c["volumeMounts"] = mounts;
  c["readinessProbe"] = health_probe(5);
  c["livenessProbe"] = health_probe(20);
  c["resources"] = resources("100m", "128Mi", "1", "512Mi");
  c["securityContext"] = security_context(kBundleUid, true);
  ps["containers"].push_back(c);
  ps["volumes"] = volumes;
  pod["spec"] = ps;
  spec["template"] = pod;
  d["spec"] = spec;
  return d;
}

YAML::Node bundle_service(const Plan& p, const Names& n) {
  YAML::Node s = object("v1", "Service", n.bundle, n, "bundle");
  s["spec"]["type"] = str("ClusterIP");
  s["spec"]["selector"] = labels(n, "bundle");
  YAML::Node ports = seq();
  for (const auto& [name, port] : bundle_ports(p)) {
    YAML::Node sp = map();
    sp["name"] = str(name);
    sp["port"] = num(port);
    sp["targetPort"] = num(port);
    sp["protocol"] = str("TCP");
    ports.push_back(sp);
  }
  s["spec"]["ports"] = ports;
  return s;
}

YAML::Node env_var(const std::string& name, const std::string& value) {
  YAML::Node e = map();
  e["name"] = str(name);
  e["value"] = str(value);
  return e;
}

YAML::Node agent_pod(const Plan& p, const Names& n, const std::string& image,
                     const std::string& bundle_ip) {
  YAML::Node pod = object("v1", "Pod", n.agent, n, "agent");
  YAML::Node ps = map();
  ps["restartPolicy"] = str("Never");
  ps["automountServiceAccountToken"] = flag(false);
  ps["enableServiceLinks"] = flag(false);
  // No DNS: the bundle's names are pinned to its Service address, every other lookup
  // goes to the pod's own loopback, where nothing answers (the NetworkPolicy denies
  // port 53 as well).
  YAML::Node alias = map();
  alias["ip"] = str(bundle_ip);
  std::vector<std::string> hosts = {p.layout.egress_host};
  for (const std::string& h : {p.layout.gate_host, p.layout.supervise_host})
    if (std::find(hosts.begin(), hosts.end(), h) == hosts.end()) hosts.push_back(h);
  alias["hostnames"] = strings(hosts);
  ps["hostAliases"].push_back(alias);
  ps["dnsPolicy"] = str("None");
  ps["dnsConfig"]["nameservers"] = strings({"127.0.0.1"});
  ps["securityContext"] = pod_security(kAgentUid);
  const std::string files = p.layout.files_dir;
  // The agent's files: the rendered ones and the CA certificate, plus a CA bundle of the
  // image's roots and the bottle CA, assembled before the agent starts.
  YAML::Node init = map();
  init["name"] = str("bottle-files");
  init["image"] = str(image);
  init["command"] = strings(
      {"sh", "-c",
       "cp /etc/bottle-agent/gitconfig /etc/bottle-agent/prompt.md /etc/bottle-ca/bottle-ca.pem " +
           files + "/ && cat /etc/ssl/certs/ca-certificates.crt /etc/bottle-ca/bottle-ca.pem > " +
           files + "/ca-bundle.pem"});
  YAML::Node init_mounts = seq();
  init_mounts.push_back(mount("agent-files", "/etc/bottle-agent", true));
  init_mounts.push_back(mount("ca-cert", "/etc/bottle-ca", true));
  init_mounts.push_back(mount("bottle-files", files, false));
  init["volumeMounts"] = init_mounts;
  init["resources"] = resources("10m", "16Mi", "100m", "64Mi");
  init["securityContext"] = security_context(kAgentUid, true);
  ps["initContainers"].push_back(init);

  YAML::Node c = map();
  c["name"] = str("agent");
  c["image"] = str(image);
  c["command"] = strings(p.launch_argv);
  c["workingDir"] = str("/workspace");
  YAML::Node env = seq();
  for (const auto& [name, value] : p.sandbox_env) env.push_back(env_var(name, value));
  env.push_back(env_var("BOTTLE_SLUG", n.slug));
  for (const auto& e : p.env) {
    if (e.value.kind == EnvValue::Kind::literal) {
      env.push_back(env_var(e.name, e.value.text));
      continue;
    }
    // Resolved by `bottle start` (host variable, or asked) into a ConfigMap.
    env.push_back(env_from(e.name, "configMapKeyRef", n.agent_env));
  }
  c["env"] = env;
  YAML::Node mounts = seq();
  mounts.push_back(mount("bottle-files", files, true));
  mounts.push_back(mount("workspace", "/workspace", false));
  mounts.push_back(mount("home", p.layout.home, false));
  mounts.push_back(mount("tmp", "/tmp", false));
  c["volumeMounts"] = mounts;
  c["stdin"] = flag(true);
  c["tty"] = flag(true);
  c["resources"] = resources("250m", "512Mi", "2", "2Gi");
  c["securityContext"] = security_context(kAgentUid, true);
  ps["containers"].push_back(c);
  YAML::Node volumes = seq();
  volumes.push_back(volume_from("agent-files", "configMap", n.agent_files));
  volumes.push_back(volume_from("ca-cert", "configMap", n.ca_cert));
  for (const char* v : {"bottle-files", "workspace", "home", "tmp"})
    volumes.push_back(volume_from(v, "emptyDir", ""));
  ps["volumes"] = volumes;
  pod["spec"] = ps;
  return pod;
}

YAML::Node selector(const Names& n, const std::string& component) {
  YAML::Node s = map();
  s["matchLabels"] = labels(n, component);
  return s;
}

YAML::Node tcp_ports(const Plan& p) {
  YAML::Node ports = seq();
  for (const auto& [name, port] : bundle_ports(p)) {
    YAML::Node np = map();
    np["protocol"] = str("TCP");
    np["port"] = num(port);
    ports.push_back(np);
  }
  return ports;
}

// A NetworkPolicy for `self`'s pods, Ingress and Egress, with one rule naming `peer`'s
// pods on the bundle's ports: `to` them (egress) or `from` them (ingress).
YAML::Node policy(const Plan& p, const Names& n, const std::string& name, const std::string& self,
                  const std::string& peer, bool egress) {
  YAML::Node np = object("networking.k8s.io/v1", "NetworkPolicy", name, n, self);
  np["spec"]["podSelector"] = selector(n, self);
  np["spec"]["policyTypes"] = strings({"Ingress", "Egress"});
  YAML::Node rule = map();
  YAML::Node peer_pods = map();
  peer_pods["podSelector"] = selector(n, peer);
  rule[egress ? "to" : "from"].push_back(peer_pods);
  rule["ports"] = tcp_ports(p);
  np["spec"][egress ? "egress" : "ingress"].push_back(rule);
  return np;
}

// The agent may open connections to the bundle's ports and nothing else (no DNS, no
// other pod, no address outside); nothing may connect to it.
YAML::Node agent_policy(const Plan& p, const Names& n) {
  YAML::Node np = policy(p, n, n.agent, "agent", "bundle", true);
  np["spec"]["ingress"] = seq();
  return np;
}

// The bundle accepts only its agent, on its ports, and may reach anywhere (egress's own
// checks refuse private addresses unless a route allows them).
YAML::Node bundle_policy(const Plan& p, const Names& n) {
  YAML::Node np = policy(p, n, n.bundle, "bundle", "agent", false);
  np["spec"]["egress"].push_back(map());
  return np;
}

Names names_for(const ContainerTarget& t) {
  Names n;
  n.slug = t.slug;
  n.ns = t.namespace_;
  n.bundle = k8s_name(t.slug);
  n.agent = k8s_name(t.slug, "agent");
  n.tokens = k8s_name(t.slug, "tokens");
  n.ca = k8s_name(t.slug, "ca");
  n.ca_cert = k8s_name(t.slug, "ca-cert");
  n.git_keys = k8s_name(t.slug, "git-keys");
  n.bundle_config = k8s_name(t.slug, "config");
  n.routes = k8s_name(t.slug, "routes");
  n.agent_files = k8s_name(t.slug, "agent-files");
  n.agent_env = k8s_name(t.slug, "agent-env");
  return n;
}

}  // namespace

std::string k8s_name(const std::string& slug, const std::string& suffix) {
  return "bottle-" + slug + (suffix.empty() ? "" : "-" + suffix);
}

std::vector<K8sSecretKey> k8s_secret_fill(const Plan& p, const std::string& slug) {
  std::vector<K8sSecretKey> out;
  for (const auto& t : p.token_slots)
    out.push_back({k8s_name(slug, "tokens"), t.slot, "$" + t.host_env});
  out.push_back({k8s_name(slug, "ca"), "ca.pem", "the bottle CA minted at start"});
  out.push_back({k8s_name(slug, "ca"), "ca-key.pem", "the bottle CA minted at start"});
  if (!p.gitgate.binary.empty()) {
    for (const auto& r : p.repos)
      out.push_back({k8s_name(slug, "git-keys"), r.name, r.fields["key"]["path"].Scalar()});
  }
  return out;
}

std::string render_k8s(const Plan& p, const ContainerTarget& t) {
  const Names n = names_for(t);
  const std::string sidecar = t.sidecar_image.empty() ? default_sidecar_image() : t.sidecar_image;
  const std::string agent = t.agent_image.empty() ? default_agent_image(p.provider) : t.agent_image;
  std::vector<YAML::Node> docs;
  InitLayout init = container_init_layout(t.slug, !p.supervise_daemon.binary.empty());
  init.supervise_applies_routes = false;  // the routes are a read-only ConfigMap here
  std::vector<std::pair<std::string, std::string>> bundle_files = {
      {"init.yaml", render_init_yaml(p, init)}};
  if (!p.gitgate.binary.empty()) {
    bundle_files.emplace_back(
        "gitgate.yaml", render_gitgate_yaml(p, container_gitgate_layout(
                                                   t.slug, !p.supervise_daemon.binary.empty())));
  }
  docs.push_back(config_map(n.bundle_config, n, bundle_files));
  docs.push_back(config_map(n.routes, n, {{"routes.yaml", render_routes_yaml(p)}}));
  docs.push_back(
      config_map(n.agent_files, n, {{"gitconfig", p.gitconfig}, {"prompt.md", p.prompt}}));
  const std::string fill = "bottle start --backend k8s (from stdin; never in this file)";
  if (!p.token_slots.empty()) docs.push_back(empty_secret(n.tokens, n, fill));
  docs.push_back(empty_secret(n.ca, n, fill));
  if (!p.gitgate.binary.empty()) docs.push_back(empty_secret(n.git_keys, n, fill));
  docs.push_back(bundle_deployment(p, n, sidecar));
  docs.push_back(bundle_service(p, n));
  docs.push_back(agent_policy(p, n));
  docs.push_back(bundle_policy(p, n));
  const bool agent_ready = !t.bundle_ip.empty();
  if (agent_ready) {
    docs.push_back(config_map(n.ca_cert, n, {}));
    bool env_from_start = false;
    for (const auto& e : p.env) env_from_start |= e.value.kind != EnvValue::Kind::literal;
    if (env_from_start) docs.push_back(config_map(n.agent_env, n, {}));
    docs.push_back(agent_pod(p, n, agent, t.bundle_ip));
  }

  std::string text = "# Rendered by bottle from " + printable(p.agent_path) + " for bottle " +
                     printable(t.slug) + ". No secret is in this file.\n" +
                     "# Secrets (filled by `bottle start --backend k8s`, never rendered):\n";
  for (const auto& k : k8s_secret_fill(p, t.slug))
    text += "#   " + k.secret + "/" + printable(k.key) + " <- " + printable(k.from) + "\n";
  if (!agent_ready) {
    text +=
        "# The agent Pod needs the bundle Service's address (it has no DNS): after applying\n"
        "# this, render again with --bundle-ip \"$(kubectl get service " +
        n.bundle + " -o jsonpath='{.spec.clusterIP}')\".\n";
  }
  for (const auto& d : docs) text += "---\n" + config::to_yaml_text(d);
  return text;
}

}  // namespace bottle::orchestrator
