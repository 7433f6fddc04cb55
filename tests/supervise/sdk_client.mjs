// The official MCP TypeScript SDK client against bottle-supervise over Streamable HTTP:
// connect, list the tools, call each one. The C++ test (sdk_test.cc) plays the operator
// and answers the proposals this client causes. Prints one JSON line of findings and
// exits non-zero on the first surprise.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { McpError } from "@modelcontextprotocol/sdk/types.js";

const url = new URL(process.argv[2]);
const findings = {};
function check(cond, what) {
  if (!cond) {
    console.log(JSON.stringify({ failed: what, findings }));
    process.exit(1);
  }
}
const text = (r) => (r.content && r.content[0] && r.content[0].text) || "";

const client = new Client({ name: "bottle-sdk-test", version: "1.0.0" });
const transport = new StreamableHTTPClientTransport(url);
await client.connect(transport);
findings.server = client.getServerVersion();
findings.protocol = transport.protocolVersion;
findings.session = typeof transport.sessionId === "string" && transport.sessionId.length === 32;
check(findings.server.name === "bottle-supervise", "server name");
check(findings.session, "session id");
check(client.getServerCapabilities().tools !== undefined, "tools capability");

const { tools } = await client.listTools();
findings.tools = tools.map((t) => t.name);
check(findings.tools.join(",") === "list-egress-routes,request-egress-route,capability-block,report-stuck", "tool names");

const routes = await client.callTool({ name: "list-egress-routes", arguments: {} });
findings.routes = text(routes).split("\n")[0];
check(!routes.isError && text(routes).includes("api.github.com"), "list-egress-routes");

// The operator rejects this one (after the first progress notification arrived).
const progress = [];
const route = await client.callTool(
  { name: "request-egress-route", arguments: { host: "pypi.org", reason: "pip install from the SDK test" } },
  undefined,
  { onprogress: (p) => progress.push(p), resetTimeoutOnProgress: true, timeout: 30000 },
);
findings.route = text(route);
findings.progress = progress.length;
check(route.isError === true && text(route).startsWith("Rejected by sdk-operator: "), "rejected route");
check(progress.length >= 1 && progress[0].total > 0, "progress notifications");

// The operator answers this one in free text.
const cap = await client.callTool({ name: "capability-block", arguments: { what: "psql", reason: "db tests" } });
findings.capability = text(cap);
check(!cap.isError && text(cap) === "Answer from sdk-operator: use sqlite", "capability answer");

const stuck = await client.callTool({ name: "report-stuck", arguments: { reason: "looping on a flaky test" } });
findings.stuck = text(stuck);
check(!stuck.isError && text(stuck).startsWith("The operator has been notified"), "report-stuck");

const invalid = await client.callTool({ name: "request-egress-route", arguments: { host: "x.org" } });
check(invalid.isError === true, "invalid arguments are a tool error");

try {
  await client.callTool({ name: "no-such-tool", arguments: {} });
  check(false, "unknown tool must fail");
} catch (e) {
  findings.unknownTool = e instanceof McpError ? e.code : String(e);
  check(e instanceof McpError && e.code === -32602, "unknown tool is -32602");
}

await client.ping();
await transport.terminateSession();
await client.close();
console.log(JSON.stringify({ ok: true, findings }));
