/**
 * Public surface of the GitHub edge (design.md "lib/github"; style.md "The GitHub edge").
 *
 *   createOctokit({auth, baseUrl, deliveryId, counter})  → Octokit with retry + throttling, App or token auth
 *   getDefaultBranch / getBranchHead / compareCommits / isAncestor  → repository questions
 *   reportVet / reportPending / reportCluster             → statuses (+ check runs for an App)
 *   reportRolloutProgress / reportRollout                  → a rollout's progress and verdict (status + check run)
 *   createDeployment / setDeploymentState                 → a GitHub Deployment per cluster and commit
 *   postStatus / startCheckRun / completeCheckRun          → the lower-level writes
 *   statusContext / describeVet / describeClusterRun / …  → the text, pure
 */
export {
  createOctokit,
  currentDeadline,
  runWithDeadline,
  ApiCallCounter,
  CLIENT_DEFAULTS,
  DEFAULT_BASE_URL,
  DELIVERY_HEADER,
  GITHUB_API_VERSION,
  PUSHSYNC_VERSION,
  USER_AGENT,
} from './client.ts';
export type { ApiCallRecord, CreateOctokitOptions, GitHubAuth, GitHubLog } from './client.ts';
export { GitHubError, isGitHubError, toGitHubError } from './errors.ts';
export type { GitHubErrorCode, GitHubErrorDetails } from './errors.ts';
export { compareCommits, getBranchHead, getDefaultBranch, isAncestor } from './commits.ts';
export type { CommitRelation, Comparison, RepoRef } from './commits.ts';
export {
  ANNOTATIONS_PER_REQUEST,
  DEFAULT_MAX_ANNOTATIONS,
  completeCheckRun,
  concludeContext,
  postStatus,
  reportCluster,
  reportPending,
  reportRollout,
  reportRolloutProgress,
  reportVet,
  rolloutOutcome,
  startCheckRun,
} from './report.ts';
export type {
  CheckConclusion,
  CheckRunCompletion,
  CheckRunStart,
  CheckRunWritten,
  CommitRef,
  ContextConclusion,
  ReportOptions,
  StatusInput,
  StatusState,
} from './report.ts';
export {
  CONTEXT_PREFIX,
  MAX_CHECK_TEXT,
  MAX_CONTEXT,
  MAX_DESCRIPTION,
  annotationPath,
  clusterSucceeded,
  describeApplied,
  describeClusterRun,
  describeHealthLine,
  describeRollout,
  describeRolloutProgress,
  describeVet,
  fitDescription,
  keepEnd,
  renderClusterOutput,
  renderRolloutOutput,
  renderVetOutput,
  statusContext,
  vetAnnotations,
} from './summary.ts';
export type {
  CheckAnnotation,
  CheckOutput,
  ClusterReport,
  ReportAction,
  ReportObject,
  ReportedError,
  ReportedHealth,
  RolloutReport,
  RolloutVerdict,
  VetOutcome,
} from './summary.ts';
export { createDeployment, findDeployment, DEPLOYMENTS_PERMISSION, setDeploymentState } from './deployments.ts';
export type { DeploymentRequest, DeploymentState, DeploymentStateOptions } from './deployments.ts';
export { createWebhookHandler, WebhookConfigError, WebhookCodes, WEBHOOK_DEFAULTS, MAX_PUSH_CHANGED_PATHS, MAX_PUSH_CHANGED_PATH_BYTES, MAX_BRANCH_BYTES } from './webhook.ts';
export type { PushJob, PushChanges, PushPayload, PingPayload, WebhookHandlerOptions, WebhookSecretSource } from './webhook.ts';
export { createWebhookEndpoint } from './webhook-endpoint.ts';
export type { WebhookEndpointDeps } from './webhook-endpoint.ts';
