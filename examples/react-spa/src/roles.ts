import type { Role } from "./api/client";

// What the app offers to each role. The server decides what a role may do
// (a reader gets 403 on /posts, a non-admin on /admin/…); these only keep a
// person from being shown pages their role cannot use.

/** Authors and admins write posts. */
export const writesPosts = (role: Role) => role === "author" || role === "admin";

/** Admins manage users (and see every author's posts). */
export const managesUsers = (role: Role) => role === "admin";

/** Authors see their own posts' insights (readers, paywall hits, conversions), admins every post's. */
export const readsPostInsights = (role: Role) => writesPosts(role);

/** Only admins see the whole site's figures: members, conversions, revenue. */
export const readsSiteInsights = (role: Role) => role === "admin";
