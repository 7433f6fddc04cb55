// The `k8s` backend (SPEC §9.4): the rendering is the product; `bottle start --backend k8s`
// writes it into state/<slug>/ and, when kubectl has a current context, applies it:
//   1. the bundle (k8s-bundle.yaml: server-side apply, field manager `bottle`);
//   2. its Secrets and filled ConfigMaps from stdin (field manager `bottle-secrets`, so
//      re-applying the rendering never empties them; values never on argv or in a file);
//   3. the agent Pod once the bundle Service has its ClusterIP (k8s.yaml).
// Without kubectl or a context it prints the commands instead. The bottle lives in the
// cluster: status `applied` until `bottle stop` deletes every object by its slug label.
// How a team runs many of them: docs/kubernetes.md.
#pragma once

#include <functional>
#include <iosfwd>
#include <string>

#include "common/proposal_queue.h"
#include "common/result.h"
#include "orchestrator/local_backend.h"  // LaunchOptions
#include "orchestrator/plan.h"
#include "orchestrator/state.h"

namespace bottle::orchestrator {

// What the operator runs next (attach, or the apply commands) goes to `out`.
Status start_k8s(const Plan& plan, const LaunchOptions& options, std::ostream& out);

// kubectl delete all,configmap,secret,networkpolicy -l bot-bottle.dev/slug=<slug>.
Status stop_k8s(const std::string& slug, const std::function<void(const std::string&)>& progress);

// The label selector every object of the bottle carries.
std::string k8s_selector(const std::string& slug);

// `bottle routes apply` for a k8s bottle: validated like the local one, then the routes
// ConfigMap is applied; once the bundle's mounted copy shows the new text (kubelet
// refreshes ConfigMap volumes within about a minute), `bottle-init ctl reload` runs in the
// bundle through kubectl exec. Bounded by BOTTLE_K8S_ROUTES_TIMEOUT seconds (default 180).
Status routes_apply_k8s(const std::string& slug, const std::string& text,
                        const std::string& source,
                        const std::function<void(const std::string&)>& progress);

// `bottle proposals` for a k8s bottle: its queue lives in the bundle pod (an emptyDir),
// read and answered there by `bottle-supervise queue scan|answer` through kubectl exec
// (bounded by BOTTLE_CLI_TIMEOUT), so the pod's own queue code decides who answered first.
Result<ProposalQueue::Scan> k8s_queue_scan(const BottleMetadata& md, bool include_archived);
Result<ProposalQueue::AnswerResult> k8s_queue_answer(const BottleMetadata& md, const Response& r);

}  // namespace bottle::orchestrator
