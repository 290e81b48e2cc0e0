/**
 * The JSON objects the stand-in answers with, shaped like GitHub's (every property the OpenAPI
 * description requires; contract.test.ts checks them against it).
 */

export interface Site {
  /** API root, e.g. http://127.0.0.1:PORT */
  readonly api: string;
  /** Web root for html_url values. */
  readonly web: string;
  readonly owner: string;
  readonly repo: string;
}

const EPOCH = '2024-01-01T00:00:00Z';

export function nodeId(kind: string, id: string | number): string {
  return Buffer.from(`${kind}:${id}`).toString('base64');
}

export function user(site: Site, login: string, id: number, type = 'User'): Record<string, unknown> {
  const u = `${site.api}/users/${login}`;
  return {
    login,
    id,
    node_id: nodeId('User', id),
    avatar_url: `${site.web}/avatars/${login}`,
    gravatar_id: '',
    url: u,
    html_url: `${site.web}/${login}`,
    followers_url: `${u}/followers`,
    following_url: `${u}/following{/other_user}`,
    gists_url: `${u}/gists{/gist_id}`,
    starred_url: `${u}/starred{/owner}{/repo}`,
    subscriptions_url: `${u}/subscriptions`,
    organizations_url: `${u}/orgs`,
    repos_url: `${u}/repos`,
    events_url: `${u}/events{/privacy}`,
    received_events_url: `${u}/received_events`,
    type,
    site_admin: false,
  };
}

export function repository(site: Site, defaultBranch: string): Record<string, unknown> {
  const r = `${site.api}/repos/${site.owner}/${site.repo}`;
  const html = `${site.web}/${site.owner}/${site.repo}`;
  return {
    id: 4242,
    node_id: nodeId('Repository', 4242),
    name: site.repo,
    full_name: `${site.owner}/${site.repo}`,
    private: true,
    owner: user(site, site.owner, 1, 'Organization'),
    html_url: html,
    description: null,
    fork: false,
    url: r,
    archive_url: `${r}/{archive_format}{/ref}`,
    assignees_url: `${r}/assignees{/user}`,
    blobs_url: `${r}/git/blobs{/sha}`,
    branches_url: `${r}/branches{/branch}`,
    collaborators_url: `${r}/collaborators{/collaborator}`,
    comments_url: `${r}/comments{/number}`,
    commits_url: `${r}/commits{/sha}`,
    compare_url: `${r}/compare/{base}...{head}`,
    contents_url: `${r}/contents/{+path}`,
    contributors_url: `${r}/contributors`,
    deployments_url: `${r}/deployments`,
    downloads_url: `${r}/downloads`,
    events_url: `${r}/events`,
    forks_url: `${r}/forks`,
    git_commits_url: `${r}/git/commits{/sha}`,
    git_refs_url: `${r}/git/refs{/sha}`,
    git_tags_url: `${r}/git/tags{/sha}`,
    git_url: `git://${new URL(site.web).host}/${site.owner}/${site.repo}.git`,
    hooks_url: `${r}/hooks`,
    issue_comment_url: `${r}/issues/comments{/number}`,
    issue_events_url: `${r}/issues/events{/number}`,
    issues_url: `${r}/issues{/number}`,
    keys_url: `${r}/keys{/key_id}`,
    labels_url: `${r}/labels{/name}`,
    languages_url: `${r}/languages`,
    merges_url: `${r}/merges`,
    milestones_url: `${r}/milestones{/number}`,
    notifications_url: `${r}/notifications{?since,all,participating}`,
    pulls_url: `${r}/pulls{/number}`,
    releases_url: `${r}/releases{/id}`,
    ssh_url: `git@${new URL(site.web).host}:${site.owner}/${site.repo}.git`,
    stargazers_url: `${r}/stargazers`,
    statuses_url: `${r}/statuses/{sha}`,
    subscribers_url: `${r}/subscribers`,
    subscription_url: `${r}/subscription`,
    tags_url: `${r}/tags`,
    teams_url: `${r}/teams`,
    trees_url: `${r}/git/trees{/sha}`,
    clone_url: `${html}.git`,
    mirror_url: null,
    svn_url: html,
    homepage: null,
    language: null,
    forks: 0,
    forks_count: 0,
    stargazers_count: 0,
    watchers_count: 0,
    watchers: 0,
    size: 1,
    default_branch: defaultBranch,
    open_issues: 0,
    open_issues_count: 0,
    is_template: false,
    topics: [],
    has_issues: true,
    has_projects: false,
    has_wiki: false,
    has_pages: false,
    has_discussions: false,
    has_downloads: false,
    archived: false,
    disabled: false,
    visibility: 'private',
    pushed_at: EPOCH,
    created_at: EPOCH,
    updated_at: EPOCH,
    permissions: { admin: false, maintain: false, push: true, triage: true, pull: true },
    license: null,
    network_count: 0,
    subscribers_count: 0,
  };
}

export interface CommitInfo {
  readonly sha: string;
  readonly tree: string;
  readonly parents: readonly string[];
  readonly authorName: string;
  readonly authorEmail: string;
  readonly authorDate: string;
  readonly committerName: string;
  readonly committerEmail: string;
  readonly committerDate: string;
  readonly message: string;
}

export function commit(site: Site, c: CommitInfo): Record<string, unknown> {
  const r = `${site.api}/repos/${site.owner}/${site.repo}`;
  const html = `${site.web}/${site.owner}/${site.repo}`;
  return {
    url: `${r}/commits/${c.sha}`,
    sha: c.sha,
    node_id: nodeId('Commit', c.sha),
    html_url: `${html}/commit/${c.sha}`,
    comments_url: `${r}/commits/${c.sha}/comments`,
    commit: {
      url: `${r}/git/commits/${c.sha}`,
      author: { name: c.authorName, email: c.authorEmail, date: utc(c.authorDate) },
      committer: { name: c.committerName, email: c.committerEmail, date: utc(c.committerDate) },
      message: c.message,
      comment_count: 0,
      tree: { sha: c.tree, url: `${r}/git/trees/${c.tree}` },
      verification: { verified: false, reason: 'unsigned', signature: null, payload: null, verified_at: null },
    },
    // No GitHub accounts behind the test's git identities.
    author: null,
    committer: null,
    parents: c.parents.map((p) => ({ sha: p, url: `${r}/commits/${p}`, html_url: `${html}/commit/${p}` })),
  };
}

export interface StatusRecord {
  readonly id: number;
  readonly sha: string;
  readonly state: 'error' | 'failure' | 'pending' | 'success';
  readonly description: string | null;
  readonly target_url: string | null;
  readonly context: string;
  readonly created_at: string;
  /** Whose credentials posted it: `token` or `installation:<id>`. */
  readonly by: string;
}

export function status(site: Site, s: StatusRecord): Record<string, unknown> {
  return {
    url: `${site.api}/repos/${site.owner}/${site.repo}/statuses/${s.sha}`,
    avatar_url: null,
    id: s.id,
    node_id: nodeId('StatusContext', s.id),
    state: s.state,
    description: s.description,
    target_url: s.target_url,
    context: s.context,
    created_at: s.created_at,
    updated_at: s.created_at,
    creator: user(site, 'pushsync[bot]', 99, 'Bot'),
  };
}

export interface AnnotationRecord {
  readonly path: string;
  readonly start_line: number;
  readonly end_line: number;
  readonly start_column?: number;
  readonly end_column?: number;
  readonly annotation_level: string;
  readonly message: string;
  readonly title?: string;
}

export interface CheckRunRecord {
  readonly id: number;
  name: string;
  readonly head_sha: string;
  status: string;
  conclusion: string | null;
  started_at: string | null;
  completed_at: string | null;
  details_url: string | null;
  external_id: string | null;
  output: { title: string | null; summary: string | null; text: string | null };
  readonly annotations: AnnotationRecord[];
  /** POST + PATCH requests that touched this run. */
  requests: number;
}

export function checkRun(site: Site, c: CheckRunRecord, appId: number): Record<string, unknown> {
  const r = `${site.api}/repos/${site.owner}/${site.repo}`;
  return {
    id: c.id,
    head_sha: c.head_sha,
    node_id: nodeId('CheckRun', c.id),
    external_id: c.external_id,
    url: `${r}/check-runs/${c.id}`,
    html_url: `${site.web}/${site.owner}/${site.repo}/runs/${c.id}`,
    details_url: c.details_url,
    status: c.status,
    conclusion: c.conclusion,
    started_at: c.started_at,
    completed_at: c.completed_at,
    output: { ...c.output, annotations_count: c.annotations.length, annotations_url: `${r}/check-runs/${c.id}/annotations` },
    name: c.name,
    check_suite: { id: 1 },
    app: app(site, appId),
    pull_requests: [],
  };
}

/** The GitHub App pushsync runs as (a check run's `app`, a deployment's `performed_via_github_app`). */
export function app(site: Site, appId: number): Record<string, unknown> {
  return {
    id: appId,
    slug: 'pushsync',
    node_id: nodeId('App', appId),
    owner: user(site, site.owner, 1, 'Organization'),
    name: 'pushsync',
    description: 'GitOps for Kubernetes',
    external_url: site.web,
    html_url: `${site.web}/apps/pushsync`,
    created_at: EPOCH,
    updated_at: EPOCH,
    permissions: { checks: 'write', statuses: 'write', contents: 'read', deployments: 'write' },
    events: ['push'],
  };
}

export type DeploymentStatusState = 'error' | 'failure' | 'inactive' | 'in_progress' | 'queued' | 'pending' | 'success';

export interface DeploymentStatusRecord {
  readonly id: number;
  readonly state: DeploymentStatusState;
  readonly description: string;
  readonly environment: string;
  /** GitHub sets target_url from log_url; both "" when neither was given. */
  readonly target_url: string;
  readonly log_url: string;
  readonly environment_url: string;
  readonly created_at: string;
  /** True for the `inactive` statuses GitHub adds itself (auto_inactive), not a client's request. */
  readonly auto: boolean;
}

export interface DeploymentRecord {
  readonly id: number;
  /** As requested (a branch, a tag or a SHA). */
  readonly ref: string;
  /** What `ref` resolved to when the deployment was created. */
  readonly sha: string;
  readonly task: string;
  readonly environment: string;
  readonly original_environment: string;
  readonly description: string | null;
  readonly payload: Record<string, unknown> | string;
  readonly transient_environment: boolean;
  readonly production_environment: boolean;
  readonly created_at: string;
  /** The App id when an installation created it. */
  readonly appId: number | undefined;
  /** Oldest first. */
  readonly statuses: DeploymentStatusRecord[];
}

export function deployment(site: Site, d: DeploymentRecord): Record<string, unknown> {
  const r = `${site.api}/repos/${site.owner}/${site.repo}`;
  return {
    url: `${r}/deployments/${d.id}`,
    id: d.id,
    node_id: nodeId('Deployment', d.id),
    sha: d.sha,
    ref: d.ref,
    task: d.task,
    payload: d.payload,
    original_environment: d.original_environment,
    environment: d.environment,
    description: d.description,
    creator: user(site, 'pushsync[bot]', 99, 'Bot'),
    created_at: d.created_at,
    updated_at: d.statuses[d.statuses.length - 1]?.created_at ?? d.created_at,
    statuses_url: `${r}/deployments/${d.id}/statuses`,
    repository_url: r,
    transient_environment: d.transient_environment,
    production_environment: d.production_environment,
    performed_via_github_app: d.appId === undefined ? null : app(site, d.appId),
  };
}

export function deploymentStatus(site: Site, d: DeploymentRecord, s: DeploymentStatusRecord): Record<string, unknown> {
  const r = `${site.api}/repos/${site.owner}/${site.repo}`;
  return {
    url: `${r}/deployments/${d.id}/statuses/${s.id}`,
    id: s.id,
    node_id: nodeId('DeploymentStatus', s.id),
    state: s.state,
    creator: user(site, 'pushsync[bot]', 99, 'Bot'),
    description: s.description,
    environment: s.environment,
    target_url: s.target_url,
    log_url: s.log_url,
    environment_url: s.environment_url,
    created_at: s.created_at,
    updated_at: s.created_at,
    deployment_url: `${r}/deployments/${d.id}`,
    repository_url: r,
    performed_via_github_app: d.appId === undefined ? null : app(site, d.appId),
  };
}

/** git's strict ISO dates (`2024-01-01T00:00:00+00:00`) as GitHub writes them (`…Z`). */
function utc(iso: string): string {
  return new Date(iso).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
