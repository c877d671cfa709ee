// Who is signed in and what they may do, so that pages hide or disable what the member may
// not use and say why.
//
// The API answers `GET /workspace` with the workspace; when it also names the member and its
// roles (`member: {id, name, roles}`), those are used as they are. Otherwise the roles are
// inferred from what the token may do, with requests that the API refuses before changing
// anything: a role check comes first (403), input checks after it (422 for an empty name),
// and a refused request changes nothing.

import { ApiError, api } from "./api.js";

export const ROLE_LABELS = {
  WORKSPACE_OWNER: "Workspace owner",
  FUNCTIONS_ADMIN: "Functions admin",
  FUNCTIONS_READ_ONLY: "Functions read-only",
  SOURCE_ADMIN: "Source admin",
};

/** True unless the API refuses the request for lack of a role. */
async function allowed(method, path, body) {
  try {
    await api[method](path, body);
    return true;
  } catch (error) {
    if (error instanceof ApiError && error.status === 403) return false;
    if (error instanceof ApiError && error.status === 401) throw error;
    return true;
  }
}

function covers(roles, role, resourceId) {
  return roles.some(
    (grant) =>
      grant.role === "WORKSPACE_OWNER" ||
      (grant.role === role &&
        (!grant.resourceIds || !grant.resourceIds.length ||
          (resourceId && grant.resourceIds.includes(resourceId)))),
  );
}

/** The signed-in session: the workspace, the member's roles and workspace-wide abilities. */
export async function loadSession() {
  const workspace = await api.get("/workspace");
  if (workspace.member && Array.isArray(workspace.member.roles)) {
    const roles = workspace.member.roles;
    return {
      workspace,
      member: workspace.member,
      roles,
      inferred: false,
      owner: covers(roles, "WORKSPACE_OWNER"),
      functionsAdmin: covers(roles, "FUNCTIONS_ADMIN"),
      sourceAdmin: covers(roles, "SOURCE_ADMIN"),
    };
  }
  const owner = await allowed("get", "/members");
  if (owner) {
    return {
      workspace, member: null, roles: [{ role: "WORKSPACE_OWNER", resourceIds: [] }],
      inferred: true, owner: true, functionsAdmin: true, sourceAdmin: true,
    };
  }
  const [functionsAdmin, sourceAdmin, functions] = await Promise.all([
    allowed("post", "/functions", { displayName: "", resourceType: "DESTINATION", code: "" }),
    allowed("post", "/sources", { name: "", kind: "TRACKING" }),
    api.get("/functions"),
  ]);
  const roles = [];
  if (functionsAdmin) roles.push({ role: "FUNCTIONS_ADMIN", resourceIds: [] });
  else if (functions.length) roles.push({ role: "FUNCTIONS_READ_ONLY", resourceIds: [], partial: true });
  if (sourceAdmin) roles.push({ role: "SOURCE_ADMIN", resourceIds: [] });
  return { workspace, member: null, roles, inferred: true, owner: false, functionsAdmin, sourceAdmin };
}

/** Whether the member may change (save, run, restore, deploy) the function `functionId`. */
export async function canEditFunction(session, functionId) {
  if (session.owner || session.functionsAdmin) return true;
  if (!session.inferred) return covers(session.roles, "FUNCTIONS_ADMIN", functionId);
  return allowed("patch", `/functions/${functionId}`, { displayName: "" });
}

/** Whether the member may change the source or destination `{id, functionId}` of `collection`. */
export async function canChangeInstance(session, collection, instance) {
  if (session.owner) return true;
  if (!session.inferred) {
    return (
      covers(session.roles, "SOURCE_ADMIN", instance.id) &&
      (!instance.functionId || covers(session.roles, "FUNCTIONS_ADMIN", instance.functionId))
    );
  }
  return allowed("patch", `/${collection}/${instance.id}`, { name: "" });
}

export const REASONS = {
  createFunction: "Creating a function needs the FUNCTIONS_ADMIN role for the whole workspace.",
  editFunction: "Changing this function needs the FUNCTIONS_ADMIN role for it; you can view it.",
  createSource: "Creating sources and destinations needs the SOURCE_ADMIN role.",
  changeInstance:
    "Changing this needs the SOURCE_ADMIN role for it (and FUNCTIONS_ADMIN for the function it runs).",
  connect:
    "Connecting a function needs FUNCTIONS_ADMIN for the function and SOURCE_ADMIN for the instance.",
  owner: "Only workspace owners can read the audit trail.",
};
