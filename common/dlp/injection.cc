#include "common/dlp/injection.h"

#include <re2/re2.h>

#include <algorithm>
#include <array>
#include <cctype>

#include "common/ascii.h"
#include "common/dlp/checksums.h"
#include "common/dlp/decode.h"
#include "common/dlp/redact.h"

namespace bottle::dlp::internal {
namespace {

std::string lower(std::string_view s) { return ascii_lower(s); }

// ---- the URL judge (exfil_url) ----------------------------------------------------------

// A value someone is meant to fill in: "{CONVERSATION}", "[DATA]", "$AWS_SECRET", "<paste here>",
// "{{system_prompt}}", "INSERT_SECRETS_HERE".
bool templated(std::string_view v) {
  if (v.find_first_of("{}[]<>$") != std::string_view::npos) return true;
  static constexpr std::array<std::string_view, 12> kWords = {"INSERT", "PASTE",   "_HERE",   "SECRET",
                                                              "CONVERSATION", "HISTORY", "SUMMARY", "PROMPT",
                                                              "API_KEY", "PASSWORD", "TOKEN", "CREDENTIAL"};
  size_t upper = 0;
  for (char c : v) upper += c >= 'A' && c <= 'Z';
  if (upper * 2 < v.size()) return false;  // placeholders are written in capitals
  return std::any_of(kWords.begin(), kWords.end(), [&](std::string_view w) { return v.find(w) != std::string_view::npos; });
}

bool sensitive_name(std::string_view name) {
  static constexpr std::array<std::string_view, 24> kNames = {
      "data",    "secret",  "secrets", "token",       "key",     "apikey", "api_key", "password",
      "passwd",  "pwd",     "prompt",  "system_prompt", "history", "conversation", "chat", "context",
      "memory",  "env",     "exfil",   "leak",        "payload", "creds",  "credentials", "dump"};
  const std::string n = lower(name);
  return std::find(kNames.begin(), kNames.end(), n) != kNames.end();
}

// Signed-URL and cache-busting parameters carry random-looking values by design.
bool signature_name(std::string_view name) {
  const std::string n = lower(name);
  return n.rfind("x-amz-", 0) == 0 || n.rfind("x-goog-", 0) == 0 || n == "signature" || n == "sig" ||
         n == "expires" || n == "key-pair-id" || n == "policy" || n == "hash" || n == "h" || n == "v" ||
         n == "ver" || n == "version" || n == "_" || n == "cb" || n == "ts" || n == "t" || n == "se" ||
         n == "sp" || n == "sv" || n == "sr" || n == "st" || n == "etag" || n == "id" || n == "ref" ||
         n == "commit" || n == "sha" || n == "rev" || n == "revision";
}

bool data_like(std::string_view v) {
  if (v.size() < 24) return false;
  const bool charset = std::all_of(v.begin(), v.end(), [](unsigned char c) {
    return std::isalnum(c) != 0 || c == '+' || c == '/' || c == '=' || c == '-' || c == '_' || c == '.';
  });
  return charset && shannon_entropy(v) >= 3.5;
}

// The weight of a URL by what it carries: 10 for a placeholder to fill in, 5 for a long
// random value or a value under a name like "data" or "secret", 0 otherwise.
int judge_link(std::string_view url) {
  std::string decoded;
  const size_t q = url.find('?');
  const std::string_view path = url.substr(0, q);
  if (percent_decode(path, decoded) ? templated(decoded) : templated(path)) return 10;
  if (q == std::string_view::npos) return 0;
  int best = 0;
  std::string_view query = url.substr(q + 1);
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const size_t eq = pair.find('=');
    if (eq == std::string_view::npos) continue;
    const std::string_view name = pair.substr(0, eq), raw = pair.substr(eq + 1);
    const std::string_view value = percent_decode(raw, decoded) ? std::string_view(decoded) : raw;
    if (templated(value)) return 10;
    if (signature_name(name)) continue;
    if (data_like(value) || (sensitive_name(name) && value.size() >= 16)) best = 5;
  }
  return best;
}

// A Markdown image or link: "[alt](https://...".
int judge_url(std::string_view match) {
  const size_t http = lower(match).find("http");
  if (http == std::string::npos) return 0;
  std::string_view url = match.substr(http);
  while (!url.empty() && (url.back() == '"' || url.back() == '\'' || url.back() == ')' || url.back() == '>')) {
    url.remove_suffix(1);
  }
  return judge_link(url);
}

const RE2& hiding_style();

// An HTML element that fetches a URL: the URL's weight, plus the hidden bonus when the
// element itself is invisible (a zero-size or display:none iframe, a 1x1 image).
int judge_tag(std::string_view match) {
  const std::string l = lower(match);
  const size_t http = l.find("http");
  if (http == std::string::npos) return 0;
  size_t end = http;
  while (end < match.size() && match[end] != '"' && match[end] != '\'' && match[end] != ' ' && match[end] != '>') ++end;
  const int weight = judge_link(match.substr(http, end - http));
  if (weight == 0) return 0;
  const bool tiny = l.find("width=\"0") != std::string::npos || l.find("height=\"0") != std::string::npos ||
                    l.find("width=\"1\"") != std::string::npos || l.find("width=0") != std::string::npos;
  const bool hidden = tiny || RE2::PartialMatch(re2::StringPiece(match.data(), match.size()), hiding_style());
  return weight + (hidden ? kHiddenBonus : 0);
}

// An instruction to the reader, not a description of one: the word before the verb is
// not a subject, a relative pronoun, "to" or a modal that makes it a statement about
// something else ("implementations that do not follow the above rules", "models tend to
// ignore previous instructions").
int judge_imperative(std::string_view match) {
  static constexpr std::array<std::string_view, 24> kNotImperative = {
      "that", "which", "who",   "they",  "we",  "it",    "he",      "she",    "i",       "to",     "can",  "could",
      "may",  "might", "would", "does",  "did", "often", "sometimes", "models", "model", "agents", "llms", "attackers"};
  const size_t space = match.find_first_of(" \t\r\n");
  const std::string first = lower(match.substr(0, space));
  const bool verb_first = first == "ignore" || first == "disregard" || first == "forget" || first == "bypass" ||
                          first == "skip" || first == "discard" || first == "neglect" || first == "abandon" ||
                          first == "do" || first == "don't" || first == "stop" || first == "no";
  if (verb_first) return 10;
  return std::find(kNotImperative.begin(), kNotImperative.end(), first) == kNotImperative.end() ? 10 : 0;
}

// Raw strings keep the patterns readable; each must compile in RE2. Verbs and nouns are
// lists, not single examples: these are classes of phrasing. Anchors are case-insensitive
// unless the pattern is.
constexpr std::string_view kOverrideAnchors = R"(instruction
prompt
guideline
directive
programming
disregard
ignore all
ignore any
ignore your
ignore previous
ignore prior
ignore earlier
ignore the above
ignore the previous
ignore above
forget your
forget all
forget previous
forget prior
do not follow
don't follow
stop following
no longer follow
previous rules
previous context
previous messages
previous commands
previous orders
previous constraints
previous policies
previous policy
previous restrictions
previous tasks
previous task
previous requests
previous request
previous directions
previous guidance
prior rules
prior context
prior messages
prior commands
prior orders
prior constraints
prior policies
prior policy
prior restrictions
prior tasks
prior task
prior requests
prior request
prior directions
prior guidance
above rules
above context
above messages
above commands
above orders
above constraints
above policies
above policy
above restrictions
above tasks
above task
above requests
above request
above directions
above guidance
earlier rules
earlier context
earlier messages
earlier commands
earlier orders
earlier constraints
earlier policies
earlier policy
earlier restrictions
earlier tasks
earlier task
earlier requests
earlier request
earlier directions
earlier guidance
preceding rules
preceding context
preceding messages
preceding commands
preceding orders
preceding constraints
preceding policies
preceding policy
preceding restrictions
preceding tasks
preceding task
preceding requests
preceding request
preceding directions
preceding guidance
former rules
former context
former messages
former commands
former orders
former constraints
former policies
former policy
former restrictions
former tasks
former task
former requests
former request
former directions
former guidance
original rules
original context
original messages
original commands
original orders
original constraints
original policies
original policy
original restrictions
original tasks
original task
original requests
original request
original directions
original guidance
initial rules
initial context
initial messages
initial commands
initial orders
initial constraints
initial policies
initial policy
initial restrictions
initial tasks
initial task
initial requests
initial request
initial directions
initial guidance
system rules
system context
system messages
system commands
system orders
system constraints
system policies
system policy
system restrictions
system tasks
system task
system requests
system request
system directions
system guidance
existing rules
existing context
existing messages
existing commands
existing orders
existing constraints
existing policies
existing policy
existing restrictions
existing tasks
existing task
existing requests
existing request
existing directions
existing guidance
current rules
current context
current messages
current commands
current orders
current constraints
current policies
current policy
current restrictions
current tasks
current task
current requests
current request
current directions
current guidance)";

constexpr SignalPattern kSignals[] = {
    // --- override: the reader's instructions are to be thrown away ---
    {SignalKind::override, kOverrideAnchors,
     R"((?:\b[a-z']+\s+)?\b(?:ignore|disregard|forget|bypass|skip|discard|neglect|abandon|do\s+not\s+follow|don't\s+follow|stop\s+following|no\s+longer\s+follow)\s+(?:(?:all|any|the|your|my|every|these|those|of|each)\s+){0,4}(?:previous|prior|above|earlier|preceding|former|original|initial|old|system|existing|current|foregoing)\s+(?:instructions?|prompts?|rules|directions|directives|guidelines|guidance|context|constraints|programming|policies|restrictions))",
     10, 220, true, judge_imperative},
    {SignalKind::override, R"(ignore all
ignore everything
ignore anything
forget all
forget everything
forget anything
disregard
been told
were told)",
     R"(\b(?:ignore|disregard|forget)\s+(?:all\s+|everything\s+|anything\s+)(?:above|before\s+this|previously\s+said|you\s+(?:were|have\s+been)\s+told))",
     10, 80},
    {SignalKind::override, kOverrideAnchors,
     R"((?:\b[a-z']+\s+)?\b(?:ignore|disregard|forget|bypass|discard|neglect|do\s+not\s+follow|don't\s+follow|stop\s+following)\s+(?:(?:all|any|the|your|my|every|these|those|of)\s+){0,3}(?:instructions?|rules|prompts?|guidelines|directions|directives|guidance)\s+(?:above|before\s+this|that\s+came\s+before|given\s+(?:earlier|before|above|previously|to\s+you)|you\s+(?:were|have\s+been)\s+given|in\s+your\s+system\s+prompt))",
     10, 180, true, judge_imperative},
    {SignalKind::override, kOverrideAnchors,
     R"(\b(?:your|all|the)\s+(?:previous|prior|earlier|original|old|initial)\s+(?:instructions|rules|guidelines)\s+(?:are|were|have\s+been)\s+(?:cancel+ed|void|revoked|obsolete|replaced|overridden|superseded|suspended|no\s+longer\s+valid))",
     10, 140},
    {SignalKind::override, "override", R"(\boverride\s+(?:your|the)\s+(?:system\s+prompt|instructions|guidelines|rules|safety))", 10,
     60},
    {SignalKind::override, "stop following",
     R"(\bstop\s+following\s+(?:the\s+)?(?:user|human|operator)(?:'s)?\s+(?:request|instructions?|task))", 10, 70},
    {SignalKind::override, "you are now",
     R"(\byou\s+are\s+now\s+(?:in\s+)?(?:DAN|developer\s+mode|jailbroken|unrestricted|unfiltered|an?\s+unfiltered|an?\s+unrestricted|free\s+(?:of|from)\s+(?:all\s+)?(?:restrictions|rules)))",
     10, 80},
    {SignalKind::override, R"(developer mode
god mode
jailbreak
dan mode
do anything now
unrestricted mode)",
     R"(\b(?:(?:enable|enter|activate|switch\s+to)\s+(?:developer|god|jailbreak|DAN|unrestricted)\s+mode|(?:DAN|jailbreak|god)\s+mode\s+(?:enabled|activated|on)|do\s+anything\s+now))",
     10, 60},
    {SignalKind::override, R"(obey
only this message
only these instructions
only the following)",
     R"(\b(?:from\s+now\s+on,?\s+)?you\s+(?:will|must|shall|should)\s+(?:now\s+)?(?:only\s+)?(?:obey|follow|listen\s+to)\s+(?:only\s+)?(?:this|these|my|the\s+following)\s+(?:message|instructions?|orders|commands|text))",
     10, 110},
    // --- role change: a new identity or task for the reader ---
    {SignalKind::role_change, R"(from now on
from this point
henceforth)",
     R"(\b(?:from\s+now\s+on|from\s+this\s+point\s+(?:on|forward)|henceforth),?\s+you\s+(?:will|must|shall|are|should|may\s+only))",
     5, 60},
    {SignalKind::role_change, R"(your new
your real
your actual
your true
your updated)",
     R"(\byour\s+(?:new|real|actual|true|updated)\s+(?:task|instructions?|role|goal|objective|mission|purpose|job|directive)\s+(?:is|are)\b)",
     5, 60},
    {SignalKind::role_change, R"(new instruction
new system instruction
new directive
new rules)",
     R"(\bnew\s+(?:system\s+)?(?:instructions?|directives?|rules)\s*:)", 5, 40},
    {SignalKind::role_change, R"(unrestricted
unfiltered
jailbroken
no restrictions
no rules
no filters)",
     R"(\b(?:act|behave|respond)\s+as\s+(?:if\s+you\s+(?:are|were|have)\s+)?(?:an?\s+)?(?:no\s+(?:restrictions|rules|filters)|unrestricted|unfiltered|evil|malicious|jailbroken|DAN))",
     5, 80},
    {SignalKind::role_change, "pretend",
     R"(\bpretend\s+(?:that\s+)?(?:you\s+)?(?:are\s+not\s+bound|have\s+no\s+(?:restrictions|rules|guidelines|filters)|are\s+free))", 5,
     80},
    {SignalKind::role_change, R"(must now
will now
no longer)",
     R"(\byou\s+(?:must|will)\s+now\s+(?:act|behave|respond|obey|follow|comply)|\byou\s+are\s+no\s+longer\s+(?:an?\s+)?(?:assistant|bound|restricted|limited))",
     5, 60},
    // --- precondition: work to do before the user's task ---
    {SignalKind::precondition, R"(before answer
before respond
before repl
before continu
before proceed
before doing
before complet
before solv
before summar
before finish
before you)",
     R"(\bbefore\s+(?:you\s+(?:can\s+)?)?(?:answer(?:ing)?|respond(?:ing)?|repl(?:y|ying)|continu(?:e|ing)|proceed(?:ing)?|do(?:ing)?\s+anything(?:\s+else)?|complet(?:e|ing)|solv(?:e|ing)|summari[sz](?:e|ing)|finish(?:ing)?)\b)",
     5, 60},
    {SignalKind::precondition, R"(following first
after you do that
after you have done that
important message
urgent message
important instruction
urgent instruction
important notice)",
     R"(\b(?:please\s+do\s+the\s+following\s+first|after\s+you\s+(?:do|have\s+done)\s+that,?\s+you\s+can|this\s+is\s+an?\s+(?:important|urgent)\s+(?:message|instruction)\s+(?:from|for)|(?:important|urgent)\s+(?:instructions?|message|notice)\s+(?:for|to)\s+(?:the\s+)?(?:ai|assistant|agent|model|llm))\b)",
     5, 90},
    // --- secrecy: keep the user out of it ---
    {SignalKind::secrecy, R"(tell the
inform the
alert the
notify the
warn the
ask the
tell user
mention this
mention it
reveal this
reveal it
show this
show it
without telling
without informing
without asking
without alerting
without notifying
from the user
from the human
from the operator)",
     R"(\b(?:(?:do\s+not|don't|never)\s+(?:tell|inform|alert|notify|warn|ask|mention\s+(?:this|it|these\s+instructions)\s+to|reveal\s+(?:this|it)\s+to|show\s+(?:this|it)\s+to)\s+(?:the\s+)?(?:user|human|operator|developer|owner)|without\s+(?:telling|informing|asking|alerting|notifying)\s+(?:the\s+)?(?:user|human|operator)|(?:keep|hide)\s+(?:this|it)\s+(?:secret\s+|hidden\s+)?from\s+(?:the\s+)?(?:user|human|operator)|do\s+not\s+mention\s+(?:this|these)\s+(?:instructions?|message)|(?:do\s+not|don't)\s+mention\s+this\s+to\s+the\s+user))",
     3, 80},
    // --- authority: claims that the user or operator allowed it ---
    {SignalKind::authority, R"(approved by
authorized by
authorised by
permitted by
sanctioned by
requested by
granted you
given you
granted permission
given permission
authorized to
authorised to
permitted to
cleared to
has granted
has given
has authorized
has approved)",
     R"(\b(?:(?:this|it)\s+(?:was|is|has\s+been)\s+(?:approved|authori[sz]ed|permitted|sanctioned|requested)\s+by\s+(?:the\s+)?(?:operator|user|admin(?:istrator)?|developer|owner|security\s+team|system)|the\s+(?:user|operator|admin(?:istrator)?|owner)\s+(?:has\s+)?(?:granted|given|authori[sz]ed|approved)\s+(?:you\s+)?(?:permission|access|this)|you\s+(?:are|have\s+been)\s+(?:now\s+)?(?:authori[sz]ed|permitted|allowed|cleared)\s+to))",
     4, 100},
    // --- role and system markers: text pretending to be the conversation's structure ---
    {SignalKind::role_marker, R"([system
[ system
[SYSTEM
[ SYSTEM
[System
<|im_
<|system
<|user
<|assistant
<|endoftext
<|eot_id
<|start_header
<|end_header
<<sys
<< sys
<<SYS
<< SYS
[inst]
[/inst]
[INST]
[/INST]
<system>
</system>
tool_result>
tool_output>
tool_response>
function_result
function_call
assistant_response>
[END OF
BEGIN SYSTEM
END SYSTEM
BEGIN ADMIN
END ADMIN)",
     R"((?:\[\s*(?:system|SYSTEM|System)(?:\s+(?:message|prompt|note|override|instruction))?\s*\]|<\|(?:im_start|im_end|system|user|assistant|endoftext|eot_id|start_header_id|end_header_id)\|>|<<\s*SYS\s*>>|\[/?INST\]|\[/?inst\]|</?(?:system|tool_result|tool_output|tool_response|function_results?|function_calls?|assistant_response)>|\[END\s+OF\s+(?:TOOL\s+OUTPUT|DOCUMENT|CONTEXT|INPUT|DATA|USER\s+INPUT)\]|(?:BEGIN|END)\s+(?:SYSTEM\s+PROMPT|SYSTEM\s+INSTRUCTIONS|ADMIN\s+INSTRUCTIONS)))",
     5, 40, false},
    {SignalKind::role_marker, R"(#system
# system
#instruction
# instruction
#new instruction
# new instruction
#admin
# admin)",
     R"((?:^|[\n>])[ \t]{0,3}#{1,4}[ \t]*(?:system(?:\s+(?:prompt|message|override))?|instructions?|new\s+instructions|admin\s+override)[ \t]*:?[ \t]*(?:\r?\n|$))",
     5, 60},
    {SignalKind::role_marker, R"(SYSTEM:
SYSTEM :
SYSTEM PROMPT:
ADMIN:)",
     R"((?:^|[\n>])[ \t]*(?:SYSTEM|SYSTEM\s+PROMPT|ADMIN)\s*:\s)", 5, 30, false},
    {SignalKind::turn_marker, R"(Human:
User:
USER:
Assistant:
ASSISTANT:)",
     R"((?:^|[\n>])[ \t]*(?:Human|User|USER|Assistant|ASSISTANT)\s*:\s)", 2, 30, false},
    // --- reveal: prompts, tools, keys, environment ---
    {SignalKind::reveal, R"(system prompt
system message
initial prompt
hidden prompt
your prompt
your instructions
your system
your tools
your tool
your functions
your configuration
your secrets
your credentials
your api
your environment
your env
your rules
your guidelines
your hidden
your initial
your original
your full
your entire
your complete
your ssh
your private
your password
your access
the secret
the password
the token
the access
the ssh
the private
the hidden
the initial
the original
the instructions
the tools
me the
me your
me all
us the
us your
the environment
environment variable
env var
api key
credentials
access token
ssh key
private key)",
     R"(\b(?:reveal|show|print|output|repeat|display|tell|give|leak|dump|share|list|send|return|include|echo|expose|write\s+out|recite|disclose|provide|paste|read\s+out)\s+(?:me\s+|us\s+)?(?:all\s+|every\s+)?(?:of\s+)?(?:(?:the\s+)?(?:contents?|text|entirety|rest|full\s+text|values?)\s+of\s+)?(?:your|the|its|this\s+assistant's|the\s+user's|the\s+agent's)\s+(?:(?:full|entire|complete|original|hidden|initial|secret|exact|verbatim|current|internal|private)\s+)*(?:system\s+prompt|system\s+message|instructions|initial\s+prompt|prompt|api\s+keys?|secrets?|credentials|passwords?|access\s+tokens?|tokens|environment(?:\s+variables)?|env\s+vars|tools|tool\s+list|functions|configuration|hidden\s+prompt|ssh\s+keys?|private\s+keys?)\b)",
     5, 220},
    {SignalKind::reveal, R"(what is your
what are your)",
     R"(\bwhat\s+(?:is|are)\s+your\s+(?:system\s+prompt|instructions|initial\s+prompt|api\s+keys?|secrets|credentials|tools|rules)\b)",
     5, 80},
    {SignalKind::reveal, R"(environment variable
environment var
env variable
env var)",
     R"(\b(?:print|list|dump|echo|output|show|display|reveal)\s+(?:all\s+|every\s+)?(?:the\s+)?(?:environment|env)\s+(?:variables|vars)\b)", 5,
     80},
    {SignalKind::reveal, R"(text above
words above
everything above
content above
instructions above
text before
you are
tools you
tool you
tools available
every tool)",
     R"(\b(?:repeat\s+(?:the\s+|all\s+)?(?:text|words|everything|content|instructions)\s+(?:above|before)|starting\s+with\s+['"]you\s+are|list\s+(?:all\s+|every\s+)?(?:the\s+)?tools?\s+(?:you\s+(?:have|can)|available)|every\s+tool\s+you\s+(?:have|can))\b)",
     5, 80},
    // --- where secrets live ---
    {SignalKind::sensitive_path, R"(~/.ssh
id_rsa
id_dsa
id_ecdsa
id_ed25519
.aws/credentials
~/.aws
.netrc
.git-credentials
/etc/shadow
.docker/config.json
.kube/config
$github
${github
$gh_
${gh_
$aws_
${aws_
$openai
${openai
$anthropic
${anthropic
$npm_
${npm_
$pypi
${pypi
$slack
${slack
$stripe
${stripe
$api_
${api_
$secret
${secret)",
     R"((?:~/\.ssh\b|\bid_(?:rsa|dsa|ecdsa|ed25519)\b|\.aws/credentials|~/\.aws\b|\.netrc\b|\.git-credentials|/etc/shadow|\.docker/config\.json|\.kube/config|\$\{?(?:GITHUB|GH|AWS|OPENAI|ANTHROPIC|NPM|PYPI|SLACK|STRIPE|API|SECRET)_?[A-Z_]*(?:TOKEN|KEY|SECRET|PASSWORD)\b))",
     3, 50},
    // --- actions: tools, commands, URLs to open ---
    {SignalKind::tool_call, R"( tool
 function
 plugin)",
     R"(\b(?:call|invoke|use|run|execute|trigger)\s+(?:the\s+|your\s+)?[`'"]?[a-z][a-z0-9_.-]{2,40}[`'"]?\s+(?:tool|function|command|action|plugin)\b)",
     4, 90},
    {SignalKind::tool_call, R"(following command
this command
following script
this script
following code
shell command
run `
run: `
execute `
execute: `)",
     R"(\b(?:(?:run|execute)\s+(?:the\s+following|this)\s+(?:command|script|code|shell\s+command)|(?:run|execute)\s*:?\s*`[^`\n]{3,200}`))",
     4, 220},
    // A script fetched and run in one go: remote code, whoever wrote it.
    {SignalKind::tool_call, R"(| sh
| bash
|bash
| zsh
| sudo
| dash)",
     R"(\b(?:curl|wget)\s[^\n|]{0,160}\|\s*(?:sudo\s+)?(?:ba|z|da)?sh\b)", 6, 200},
    {SignalKind::tool_call, R"(open http
visit http
fetch http
load http
download http
access http
go to http
navigate to
browse to
this url
this link
following url
following link
following page
following address)",
     R"(\b(?:open|visit|navigate\s+to|browse\s+to|go\s+to|fetch|load|download|access)\s+(?:this\s+|the\s+following\s+)?(?:url|link|page|address|site)?\s*:?\s*<?https?://)",
     4, 60},
    // --- data leaving: the object is data, the destination a URL or an address ---
    {SignalKind::send_data, R"(to http
at http
exfiltrat)",
     R"(\b(?:send|post|upload|exfiltrate|forward|transmit|email|leak|submit|append|attach|copy)\s+(?:[\w'$.~/-]+\s+){0,5}?(?:contents?|data|output|results?|conversation|chat|history|files?|keys?|secrets?|credentials|tokens?|passwords?|environment|variables|prompt|logs?|id_rsa|~/[\w./-]+|\$[A-Z_]+)\b[^\n]{0,80}?\b(?:to|at)\s+(?:https?://|[\w.+-]+@[\w-]+\.))",
     5, 240},
    {SignalKind::send_data, R"(@gmail.
@outlook.
@proton
@yahoo.
@hotmail.
@mail.)",
     R"(\b(?:send|post|upload|exfiltrate|forward|transmit|email|leak|submit|copy)\s+(?:[\w'$.~/-]+\s+){0,5}?(?:contents?|data|output|results?|conversation|chat|history|files?|keys?|secrets?|credentials|tokens?|passwords?|codes?|environment|variables|prompt|logs?)\b[^\n]{0,80}?\bto\s+['"]?[\w.+-]+@[\w-]+\.)",
     5, 240},
    {SignalKind::send_data, R"($(cat
$( cat
$(env
$(printenv
$(base64
$(history
| curl
|curl 
| wget
|wget 
| nc 
| ncat
| netcat
--post-file
--post-data
--data-binary @
--data @
 -d @
 -F @
--upload-file)",
     R"((?:\$\(\s*(?:cat|env|printenv|base64|history)\b|\|\s*(?:curl|wget|nc|ncat|netcat)\s|\bcurl\s[^\n]{0,200}(?:-d|--data(?:-binary|-raw|-urlencode)?|-F|--form|-T|--upload-file)\s+["']?[@$]|\bwget\s+--post-(?:file|data)))",
     5, 240},
    // --- URLs that carry data out when rendered or fetched: a query, or a placeholder ---
    {SignalKind::exfil_url, "](http", R"(\[[^\]\n]{0,300}\]\(\s*<?https?://[^\s)>]{0,300}?[?{\[$<%][^\s)]{0,500})", 5, 1110,
     true, judge_url},
    {SignalKind::exfil_url, R"(src="http
src='http
src=http
href="http
href='http
href=http
data="http
srcset="http
poster="http)",
     R"(<(?:img|iframe|frame|script|source|embed|object|image|video|audio|link)\b[^>]{0,300}?\b(?:src|href|data|srcset|poster)\s*=\s*["']?https?://[^"'\s>]{0,300}?[?{\[$<%][^>]{0,600}>)",
     5, 1230, true, judge_tag},
    // --- words addressed to an AI reader ---
    {SignalKind::addressee, R"(dear 
attention
note to
message to
message for
instructions for
instruction for
instructions to
hey ai
hey claude
hey chatgpt
hey assistant
hey agent
hello ai
hello assistant
hello claude
hi ai
hi claude
hi assistant)",
     R"(\b(?:dear|attention|hey|hello|hi|note\s+to|message\s+(?:to|for)|instructions?\s+(?:to|for))\s+(?:the\s+|all\s+|any\s+)?(?:ai|a\.i\.|llms?|assistants?|agents?|models?|language\s+models?|chatbots?|claude|chatgpt|gpt|copilot|gemini|cursor)\b)",
     3, 60},
    {SignalKind::addressee, R"(are an ai
are a language
are an llm
are a large
are an assistant
are an agent
are a bot
are an automated
reading this
processing this
parsing this
summarizing this
summarising this
visiting this
browsing this
reads this
automated agent
autonomous agent
coding agent
ai agent
ai assistant)",
     R"(\b(?:(?:if|when)\s+you\s+are\s+an?\s+(?:ai|llm|large\s+language\s+model|language\s+model|assistant|agent|bot|automated)|(?:ai|llm)\s+(?:agents?|assistants?|models?|systems?|crawlers?|bots?)\s+(?:reading|processing|parsing|summari[sz]ing|visiting|browsing|that\s+reads?)\s+this|to\s+(?:any|all)\s+(?:automated|ai|autonomous|coding)\s+(?:agents?|assistants?|systems?))\b)",
     3, 90},
    {SignalKind::addressee, R"(assistant,
assistant:
claude,
claude:
chatgpt,
chatgpt:
copilot,
copilot:
ai agent:
ai agent,
important:
important,)",
     R"((?:^|\n|[.!?]\s|["'>])[ \t]*(?:assistant|claude|chatgpt|gpt-?4o?|copilot|ai\s+agent|llm\s+agent|llm|ai|attention\s+ai|important)\s*[,:]\s)", 3, 40},
};

constexpr std::array<std::string_view, kSignalKinds> kNames = {
    "override", "role_change", "precondition", "secrecy",   "authority", "role_marker", "turn_marker",
    "reveal",   "sensitive_path", "tool_call", "send_data", "exfil_url", "addressee"};

// ---- context -------------------------------------------------------------------------------

// Case-insensitive rfind of an ASCII needle.
size_t rfind_ci(std::string_view hay, std::string_view needle, size_t from = std::string_view::npos) {
  if (needle.size() > hay.size()) return std::string_view::npos;
  size_t i = std::min(from, hay.size() - needle.size());
  for (;; --i) {
    bool eq = true;
    for (size_t k = 0; k < needle.size() && eq; ++k) {
      eq = ascii_lower(hay[i + k]) == ascii_lower(needle[k]);
    }
    if (eq) return i;
    if (i == 0) return std::string_view::npos;
  }
}

// The last `open` not followed by its `close` before the end of `text`.
bool inside(std::string_view text, std::string_view open, std::string_view close) {
  const size_t o = rfind_ci(text, open);
  if (o == std::string_view::npos) return false;
  return rfind_ci(text, close) == std::string_view::npos || rfind_ci(text, close) < o;
}

const RE2& hiding_style() {
  static const RE2 re(
      R"((?i)<([a-z][a-z0-9]*)\b[^>]*?(?:style\s*=\s*["'][^"'>]*(?:display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*0(?:px|pt|em|rem|%)?\s*(?:[;"'!]|$)|opacity\s*:\s*0(?:\.0+)?\s*(?:[;"'!]|$)|(?:max-)?(?:width|height)\s*:\s*0(?:px)?\s*(?:[;"'!]|$)|color\s*:\s*(?:#fff\b|#ffffff|white\b|transparent|rgba?\(\s*255\s*,\s*255\s*,\s*255)|left\s*:\s*-\d{3,}|text-indent\s*:\s*-\d{3,}|clip\s*:\s*rect\(\s*0)|\shidden(?:\s|>|=|/))[^>]*>)");
  return re;
}

const RE2& framing() {
  static const RE2 re(
      R"((?i)(?:^|[\s("'])(?:examples?|for\s+instance|such\s+as|e\.g\.|phrases?\s+like|patterns?\s+like|strings?\s+like|messages?\s+like|text\s+like|attackers?|attacks?|malicious|payloads?|prompt\s+injections?|injection\s+attacks?|jailbreak(?:s|ing)?|red[- ]team\w*|researchers?|detect\w*|filter\w*|classifier|mitigat\w+|vulnerab\w+|exploit\w*|adversarial|known\s+as|so-called|sample)\b)");
  return re;
}

// Inside an element a style or the `hidden` attribute hides, which has not closed yet.
bool in_hidden_element(std::string_view before) {
  re2::StringPiece input(before.data(), before.size());
  re2::StringPiece m[2];
  size_t pos = 0, last = std::string_view::npos;
  std::string tag;
  while (pos < before.size() && hiding_style().Match(input, pos, before.size(), RE2::UNANCHORED, m, 2)) {
    last = static_cast<size_t>(m[0].data() - before.data()) + m[0].size();
    tag = lower(std::string_view(m[1].data(), m[1].size()));
    pos = last;
  }
  if (last == std::string_view::npos) return false;
  // Void elements hold no text; otherwise the element is open until its closing tag.
  if (tag == "img" || tag == "input" || tag == "br" || tag == "hr" || tag == "meta" || tag == "link") return false;
  return rfind_ci(before.substr(last), "</" + tag) == std::string_view::npos;
}

// Inside an open HTML tag, i.e. in an attribute value (alt, title, srcdoc, content...).
bool in_tag(std::string_view before) {
  const size_t lt = before.rfind('<');
  if (lt == std::string_view::npos || lt + 1 >= before.size() || before.size() - lt > 4096) return false;
  if (!std::isalpha(static_cast<unsigned char>(before[lt + 1]))) return false;
  return before.find('>', lt) == std::string_view::npos;
}

// Inside the alt text of a Markdown image: "![" with no "](" after it on this line.
bool in_markdown_alt(std::string_view line) {
  const size_t open = line.rfind("![");
  return open != std::string_view::npos && line.find("](", open) == std::string_view::npos &&
         line.find(']', open) == std::string_view::npos;
}

bool in_fence(std::string_view before) {
  size_t fences = 0;
  for (size_t at = 0; (at = before.find("```", at)) != std::string_view::npos; at += 3) {
    if (at == 0 || before[at - 1] == '\n') ++fences;
  }
  for (size_t at = 0; (at = before.find("~~~", at)) != std::string_view::npos; at += 3) {
    if (at == 0 || before[at - 1] == '\n') ++fences;
  }
  return fences % 2 == 1;
}

// Reported speech: an unclosed quotation on this line, opened like prose ("he said
// "...") rather than like data (a JSON value after ':', an attribute after '=').
bool in_quotes(std::string_view line) {
  if (line.rfind("\xE2\x80\x9C") != std::string_view::npos &&
      (line.rfind("\xE2\x80\x9D") == std::string_view::npos || line.rfind("\xE2\x80\x9D") < line.rfind("\xE2\x80\x9C"))) {
    return true;
  }
  size_t open = std::string_view::npos;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (c == '\\') {
      ++i;
      continue;
    }
    if (c == '"') {
      open = open == std::string_view::npos ? i : std::string_view::npos;
    } else if (c == '\'' && open == std::string_view::npos && (i == 0 || !std::isalnum(static_cast<unsigned char>(line[i - 1])))) {
      // An opening single quote (not an apostrophe); find whether it closes before the end.
      const size_t close = line.find('\'', i + 1);
      if (close == std::string_view::npos) open = i;
    }
  }
  if (open == std::string_view::npos) return false;
  size_t k = open;
  while (k > 0 && (line[k - 1] == ' ' || line[k - 1] == '\t')) --k;
  if (k == 0) return true;
  const char prev = line[k - 1];
  return prev != ':' && prev != '=' && prev != '[' && prev != ',' && prev != '{' && prev != '(';
}

}  // namespace

std::string_view signal_name(SignalKind kind) { return kNames[static_cast<size_t>(kind)]; }

std::span<const SignalPattern> injection_signals() { return kSignals; }

SignalContext signal_context(std::string_view before) {
  SignalContext ctx;
  const size_t nl = before.rfind('\n');
  const std::string_view line = before.substr(nl == std::string_view::npos ? 0 : nl + 1);
  // Hidden from a human reader.
  if (before.rfind('\x0E') != std::string_view::npos &&
      (before.rfind('\x0F') == std::string_view::npos || before.rfind('\x0F') < before.rfind('\x0E'))) {
    ctx.hidden = "tags";
  } else if (inside(before, "<!--", "-->")) {
    ctx.hidden = "comment";
  } else if (in_tag(before)) {
    ctx.hidden = "attribute";
  } else if (in_markdown_alt(line)) {
    ctx.hidden = "alt";
  } else if (in_hidden_element(before)) {
    ctx.hidden = "css";
  }
  // Lowering context.
  size_t ticks = 0;
  for (char c : line) ticks += c == '`';
  ctx.code = ticks % 2 == 1 || in_fence(before) || inside(before, "<pre", "</pre") ||
             inside(before, "<code", "</code") || inside(before, "<blockquote", "</blockquote") ||
             inside(before, "<samp", "</samp");
  ctx.quoted = in_quotes(line) || inside(before, "<q>", "</q>");
  const std::string_view near = before.substr(before.size() > 400 ? before.size() - 400 : 0);
  ctx.framed = RE2::PartialMatch(re2::StringPiece(near.data(), near.size()), framing());
  return ctx;
}

// ---- the verdict -------------------------------------------------------------------------

int InjectionJudge::Cluster::score() const {
  int s = 0;
  for (int w : best) s += w;
  if (hidden) s += kHiddenBonus;
  if (obfuscated) s += kHiddenBonus;
  return s;
}

void InjectionJudge::add(SignalKind kind, int weight, uint64_t begin, uint64_t end, const SignalContext& ctx,
                         bool obfuscated, std::string_view excerpt, std::vector<Finding>& out) {
  if (c_.open && begin > c_.last + kClusterGap) close(out);
  if (!c_.open) {
    c_ = Cluster{};
    c_.open = true;
    c_.first = begin;
    c_.excerpt = printable_excerpt(excerpt, 120);
  }
  c_.last = std::max(c_.last, end);
  // Hidden or obfuscated text is never an innocent quotation: no discount there.
  int w = weight;
  std::string note(signal_name(kind));
  if (!ctx.hidden.empty()) {
    c_.hidden = c_.hidden || kind != SignalKind::exfil_url || ctx.hidden != "attribute";
    note += "@hidden:" + std::string(ctx.hidden);
  } else if (obfuscated) {
    note += "@obfuscated";
  } else {
    // Markers of the conversation's structure are there to break out of a code block (a
    // tool's output is often shown in one): code does not excuse them.
    const bool marker = kind == SignalKind::role_marker || kind == SignalKind::turn_marker;
    int halvings = 0;
    for (auto [on, name] : {std::pair{ctx.code && !marker, "code"}, std::pair{ctx.quoted, "quoted"},
                            std::pair{ctx.framed, "framed"}}) {
      if (!on) continue;
      ++halvings;
      note += "@";
      note += name;
    }
    w >>= halvings;
  }
  c_.obfuscated = c_.obfuscated || obfuscated;
  auto& best = c_.best[static_cast<size_t>(kind)];
  best = std::max(best, w);
  if (c_.notes.size() < 16) c_.notes.push_back(std::move(note));
  if (!c_.emitted_block && c_.score() >= kInjectionBlockScore) {
    out.push_back(verdict(true));
    c_.emitted_block = true;
  }
}

void InjectionJudge::advance(uint64_t pos, std::vector<Finding>& out) {
  if (c_.open && pos > c_.last + kClusterGap) close(out);
}

void InjectionJudge::finish(std::vector<Finding>& out) { close(out); }

void InjectionJudge::close(std::vector<Finding>& out) {
  if (c_.open && !c_.emitted_block && c_.score() >= kInjectionWarnScore) out.push_back(verdict(false));
  c_.open = false;
}

Finding InjectionJudge::verdict(bool blocking) const {
  Finding f;
  f.detector = "injection.prompt";
  f.severity = blocking ? Severity::high : Severity::medium;
  f.offset = c_.first;
  f.blocking = blocking;
  f.score = c_.score();
  f.signals = c_.notes;
  if (c_.hidden) f.signals.push_back("hidden");
  if (c_.obfuscated) f.signals.push_back("obfuscated");
  f.snippet = c_.excerpt;
  return f;
}

}  // namespace bottle::dlp::internal
