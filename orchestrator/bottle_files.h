// What every backend writes into state/<slug>/ before the bundle starts (SPEC §9.3 step 2):
// the bottle CA (ca/ca.pem, ca/ca-key.pem 0600), the agent's files (agent/: bottle-ca.pem,
// ca-bundle.pem, gitconfig, prompt.md 0600, skills/) and routes/routes.yaml. Who owns them
// is the backend's business (the local agent uid, the images' users).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/result.h"
#include "orchestrator/plan.h"
#include "orchestrator/skills.h"

namespace bottle::orchestrator {

// `dir` has ca/, agent/ and routes/ already; `skills` were read (and checked) from the plan.
Status write_bottle_files(const Plan& plan, const std::string& dir, const std::string& slug,
                          const std::vector<SkillContent>& skills);

// lchown of `path` and everything below it (symlinks are not followed).
Status chown_tree(const std::string& path, uid_t uid, gid_t gid);

// Adds read (and, on directories, search) for everyone to `path` and everything below it:
// for a container user that is not the files' owner and cannot be made it (an operator
// who is not root). The enclosing state directory (0700, the operator's) keeps other
// users of the host out.
Status share_tree_read_only(const std::string& path);

}  // namespace bottle::orchestrator
